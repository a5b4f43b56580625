"""Domain (msgspec state) -> protobuf, at the API edge only."""

from __future__ import annotations

import json

from google.protobuf.timestamp_pb2 import Timestamp

from jaco.v1 import entities_pb2 as pb
from jacod import state as st


def timestamp(ns: int | None) -> Timestamp:
    ts = Timestamp()
    if ns:
        ts.FromNanoseconds(ns)
    return ts


def enum_value(enum_prefix: str, short: str) -> int:
    return int(
        pb.DESCRIPTOR.enum_types_by_name[_enum_names[enum_prefix]]
        .values_by_name[f"{enum_prefix}_{short.upper()}"]
        .number
    )


_enum_names = {
    "AUDIT_EVENT_TYPE": "AuditEventType",
    "REPLICA_STATE": "ReplicaState",
    "ROLE": "Role",
    "RAFT_ROLE": "RaftRole",
}


def audit_type_to_pb(t: st.AuditType) -> int:
    return enum_value("AUDIT_EVENT_TYPE", t.value)


def audit_type_from_pb(number: int) -> st.AuditType:
    name = pb.AuditEventType.Name(number)
    return st.AuditType(name.removeprefix("AUDIT_EVENT_TYPE_").lower())


def audit_event(e: st.AuditEvent) -> pb.AuditEvent:
    return pb.AuditEvent(
        id=e.id,
        ts=timestamp(e.ts_ns),
        type=audit_type_to_pb(e.type),
        identity=e.identity,
        payload=json.dumps(e.payload, sort_keys=True),
        deployment=e.deployment,
        node=e.node,
        trace_id=e.trace_id,
    )


def pressure(p: st.Pressure | None) -> pb.NodePressure:
    if p is None:
        return pb.NodePressure(available=False)
    return pb.NodePressure(
        available=p.available,
        cpu_some_avg10=p.cpu_some_avg10,
        memory_some_avg10=p.memory_some_avg10,
        memory_full_avg10=p.memory_full_avg10,
        io_some_avg10=p.io_some_avg10,
        io_full_avg10=p.io_full_avg10,
        sampled_at=timestamp(p.sampled_at_ns),
    )


def node(
    n: st.Node,
    role: str = "",
    healthy: bool = False,
    term: int = 0,
    index: int = 0,
    last_contact_ns: int = 0,
    version: str = "",
) -> pb.Node:
    return pb.Node(
        name=n.name,
        address=n.address,
        raft_address=n.raft_address,
        role=enum_value("RAFT_ROLE", role) if role else 0,
        labels=n.labels,
        pressure=pressure(n.pressure),
        healthy=healthy,
        last_contact=timestamp(last_contact_ns),
        raft_term=term,
        raft_commit_index=index,
        version=version,
        joined_at=timestamp(n.joined_at_ns),
        runtime=n.runtime,
    )


def service(s: st.ServiceSpec) -> pb.ServiceSpec:
    out = pb.ServiceSpec(
        name=s.name,
        image=s.image,
        command=s.command,
        replicas=s.replicas,
        env=s.env,
        ports=s.ports,
        resources=pb.Resources(cpu=s.resources.cpu, memory_bytes=s.resources.memory_bytes),
        restart=s.restart,
        placement=s.placement,
        workdir=s.workdir,
    )
    if s.health is not None:
        h = s.health
        out.health.CopyFrom(
            pb.HealthCheck(
                kind=h.kind,
                target=h.path,
                port=h.port,
                command=h.command,
                interval_seconds=h.interval_s,
                timeout_seconds=h.timeout_s,
                retries=h.retries,
            )
        )
    if s.ingress is not None:
        out.ingress.CopyFrom(
            pb.Ingress(host=s.ingress.host, path=s.ingress.path, port=s.ingress.port)
        )
    return out


def deployment(d: st.Deployment, revision: st.Revision | None = None) -> pb.Deployment:
    rev = revision or d.current
    return pb.Deployment(
        name=d.name,
        revision=rev.number,
        services=[service(s) for s in rev.services],
        created_at=timestamp(rev.created_at_ns or d.created_at_ns),
        updated_at=timestamp(d.updated_at_ns),
        updated_by=rev.created_by or d.updated_by,
        source=rev.source,
        deleting=d.deleting,
        deleted_at=timestamp(d.deleted_at_ns),
        deleted_by=d.deleted_by,
    )


def replica(r: st.Replica) -> pb.Replica:
    return pb.Replica(
        id=r.id,
        deployment=r.deployment,
        service=r.service,
        revision=r.revision,
        node=r.node,
        state=enum_value("REPLICA_STATE", r.state.value),
        restarts=r.restarts,
        last_error=r.last_error,
        started_at=timestamp(r.started_at_ns),
        updated_at=timestamp(r.updated_at_ns),
        exit_code=r.exit_code,
        ports=dict(r.ports),
        removing=r.removing,
    )


def token(t: st.Token) -> pb.TokenInfo:
    return pb.TokenInfo(
        id=t.id,
        identity=t.identity,
        role=enum_value("ROLE", t.role.value),
        created_at=timestamp(t.created_at_ns),
        expires_at=timestamp(t.expires_at_ns),
        revoked=t.revoked,
        revoked_at=timestamp(t.revoked_at_ns),
        created_by=t.created_by,
    )
