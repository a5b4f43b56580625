"""The scripted cluster behind snapshots, pilot tests and the bench: three
nodes, ``shop`` (web x3, api x2 with one replica crash-looping) and ``hello``
(worker x2), their logs and a dozen audit events. Fixed clock, fixed ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

from jaco.logview import Line
from jaco.tui.fake import Script
from jaco.v1 import control_pb2
from jaco.v1 import entities_pb2 as pb

NOW = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC).timestamp()
CLUSTER_ID = "5f3c9a2e-7b1d-4e8f-a6c0-2d9b8e4f1a37"
_NS = 1_000_000_000


def ts(ago_s: float) -> dict[str, int]:
    ns = int(round((NOW - ago_s) * _NS))
    return {"seconds": ns // _NS, "nanos": ns % _NS}


def node(name: str, role: pb.RaftRole, cpu: float, mem: float, io: float) -> pb.Node:
    return pb.Node(
        name=name, address=f"10.0.0.{ord(name[-1]) - 96}:7400", role=role, healthy=True,
        version="0.1.0", runtime="process", joined_at=ts(3 * 86400),
        pressure=pb.NodePressure(available=True, cpu_some_avg10=cpu, memory_some_avg10=mem,
                                 io_some_avg10=io),
    )  # fmt: skip


def replica(
    rid: str, node: str, state: pb.ReplicaState, *, restarts: int = 0,
    started: float = 1500,
    error: str = "", revision: int = 3,
) -> pb.Replica:  # fmt: skip
    dep, svc, _ = rid.split("/")
    return pb.Replica(
        id=rid, deployment=dep, service=svc, revision=revision, node=node, state=state,
        restarts=restarts, last_error=error, started_at=ts(started), updated_at=ts(started),
    )  # fmt: skip


def deployment(name: str, revision: int, services: dict[str, int], by: str, ago: float):  # type: ignore[no-untyped-def]
    return pb.Deployment(
        name=name, revision=revision, updated_by=by, updated_at=ts(ago), created_at=ts(7200),
        services=[pb.ServiceSpec(name=s, replicas=n) for s, n in services.items()],
    )  # fmt: skip


R = pb.ReplicaState


def demo_status() -> control_pb2.GetStatusResponse:
    leader = node("node-a", pb.RAFT_ROLE_LEADER, 4, 12, 1)
    return control_pb2.GetStatusResponse(
        cluster=pb.ClusterInfo(cluster_id=CLUSTER_ID, leader="node-a", raft_term=7,
                               raft_commit_index=1042, node_count=3, has_quorum=True),
        node=leader, identity="alice", version="0.1.0",
        nodes=[leader, node("node-b", pb.RAFT_ROLE_FOLLOWER, 22, 35, 3),
               node("node-c", pb.RAFT_ROLE_FOLLOWER, 61, 48, 9)],
        deployments=[deployment("shop", 3, {"web": 3, "api": 2}, "alice", 1500),
                     deployment("hello", 1, {"worker": 2}, "bob", 7200)],
        replicas=[
            replica("shop/web/0", "node-a", R.REPLICA_STATE_RUNNING),
            replica("shop/web/1", "node-b", R.REPLICA_STATE_RUNNING),
            replica("shop/web/2", "node-c", R.REPLICA_STATE_UNHEALTHY, restarts=1, started=240,
                    error="health check failed: GET / returned 503"),
            replica("shop/api/0", "node-a", R.REPLICA_STATE_RUNNING),
            replica("shop/api/1", "node-b", R.REPLICA_STATE_FAILED, restarts=4, started=30,
                    error="exit 1: psycopg.OperationalError: connection to db:5432 refused"),
            replica("hello/worker/0", "node-a", R.REPLICA_STATE_RUNNING, started=7100, revision=1),
            replica("hello/worker/1", "node-c", R.REPLICA_STATE_RUNNING, started=7100, revision=1),
        ],
    )  # fmt: skip


def line(ago: float, rid: str, text: str, stream: str = "stdout", node: str = "") -> Line:
    return Line(int(round((NOW - ago) * _NS)), rid, node, stream, text)


_PATHS = ("/", "/cart", "/products/42", "/checkout", "/static/app.js", "/api/orders")


def demo_logs() -> dict[tuple[str, str], list[Line]]:
    web = []
    for i in range(60):
        ago = 60 - i + 0.001 * i
        r = i % 3
        path = _PATHS[(i * 7) % len(_PATHS)]
        if r == 2 and i % 4 == 2:
            web.append(
                line(ago, "shop/web/2", f"upstream api timed out after 5000ms ({path})", "stderr")
            )
            web.append(line(ago - 0.0005, "shop/web/2", f"GET {path} 503 5002ms", node="node-c"))
        else:
            ms = 3 + (i * 13) % 40
            web.append(line(ago, f"shop/web/{r}", f"GET {path} 200 {ms}ms"))
    api = []
    for i in range(20):
        ago = 40 - 2 * i
        api.append(line(ago, "shop/api/0", f"handled order {1000 + i} in {8 + i % 5}ms"))
        if i % 5 == 0:
            api += [
                line(ago - 0.5, "shop/api/1", "starting api on :9000"),
                line(
                    ago - 0.4,
                    "shop/api/1",
                    "ERROR could not connect to db:5432: connection refused",
                    "stderr",
                ),
                line(ago - 0.3, "shop/api/1", "Traceback (most recent call last):", "stderr"),
                line(
                    ago - 0.2,
                    "shop/api/1",
                    "psycopg.OperationalError: connection refused",
                    "stderr",
                ),
                line(ago - 0.1, "shop/api/1", "exited 1; restarting in 2s", "system"),
            ]
    worker = [
        line(30 - i, f"hello/worker/{i % 2}", f"worker {17 + i % 2}: tick {i // 2}")
        for i in range(30)
    ]
    return {("shop", "web"): web, ("shop", "api"): api, ("hello", "worker"): worker}


def event(
    id: int, ago: float, kind: str, identity: str, payload: dict[str, object],
    dep: str = "", node: str = "node-a",
) -> pb.AuditEvent:  # fmt: skip
    kind_number = cast(Any, pb.AuditEventType.Value(f"AUDIT_EVENT_TYPE_{kind.upper()}"))
    return pb.AuditEvent(
        id=id, ts=ts(ago), type=kind_number,
        identity=identity, payload=json.dumps(payload), deployment=dep, node=node,
        trace_id=f"{id:032x}",
    )  # fmt: skip


def demo_audit() -> list[pb.AuditEvent]:
    day = 86400
    return [
        event(1, 3 * day, "node_join", "system", {"name": "node-a", "bootstrap": True}),
        event(2, 3 * day - 60, "node_join", "system", {"name": "node-b"}, node="node-b"),
        event(3, 3 * day - 90, "node_join", "system", {"name": "node-c"}, node="node-c"),
        event(4, 2 * day, "token_create", "alice", {"identity": "bob", "role": "operator"}),
        event(5, 7200, "apply", "bob", {"revision": 1, "services": ["worker"]}, "hello"),
        event(6, 3600, "apply", "alice", {"revision": 1, "services": ["web", "api"]}, "shop"),
        event(7, 2400, "apply", "alice", {"revision": 2, "previous_revision": 1}, "shop"),
        event(8, 2100, "auth_denied", "mallory",
              {"method": "/jaco.v1.Control/Delete", "reason": "token revoked"}),
        event(9, 1800, "token_revoke", "alice", {"token": "tok_3f9a", "identity": "mallory"}),
        event(10, 1500, "rollback", "alice", {"to_revision": 1, "revision": 3}, "shop"),
        event(11, 1200, "certificate_renewed", "system", {"node": "node-b"}, node="node-b"),
        event(12, 300, "isolation_drift_detected", "system",
              {"node": "node-c", "rule": "shop/api egress", "expected": "deny"}, node="node-c"),
    ]  # fmt: skip


def demo_script() -> Script:
    return Script(status=demo_status(), logs=demo_logs(), audit=demo_audit(), now=NOW)


def load_status(replicas: int, services: int = 50) -> control_pb2.GetStatusResponse:
    """A big cluster for the bench: ``replicas`` spread over ``services`` of one deployment."""
    st = demo_status()
    per = max(1, replicas // services)
    st.deployments.append(deployment("load", 1, {f"svc{i:02d}": per for i in range(services)},
                                     "alice", 600))  # fmt: skip
    for i in range(services * per):
        st.replicas.append(
            replica(
                f"load/svc{i // per:02d}/{i % per}",
                f"node-{'abc'[i % 3]}",
                R.REPLICA_STATE_RUNNING,
                started=600,
                revision=1,
            )
        )
    return st
