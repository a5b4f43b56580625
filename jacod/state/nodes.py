"""Cluster membership: Bootstrap, NodeJoin, NodeLeave, NodeStatusUpdate.

Each handler validates everything first and mutates only once it can no
longer reject, so a rejection leaves the state untouched.
"""

from __future__ import annotations

import math

from .audit import append_event
from .commands import Bootstrap, NodeJoin, NodeLeave, NodeStatusUpdate, ReplicaStatus
from .enums import AuditType
from .model import Node, Pressure, State
from .results import (
    Outcome,
    Result,
    StatusApplied,
    already_exists,
    invalid,
    not_found,
)

RUNTIMES = ("process", "docker")
PRESSURE_FIELDS = (
    "cpu_some_avg10",
    "memory_some_avg10",
    "memory_full_avg10",
    "io_some_avg10",
    "io_full_avg10",
)


def _node_errors(name: str, address: str, raft_address: str, runtime: str) -> str | None:
    if not name:
        return "node name must not be empty"
    # `address` may be empty: a node serving only its unix socket (jacod --dev).
    if not raft_address:
        return "raft_address must not be empty"
    if runtime not in RUNTIMES:
        return f"runtime must be one of {', '.join(RUNTIMES)}"
    return None


def _add_node(
    state: State,
    cmd: Bootstrap | NodeJoin,
    node: Node,
    *,
    bootstrap: bool,
) -> Result:
    state.nodes[node.name] = node
    payload = {
        "name": node.name,
        "address": node.address,
        "raft_address": node.raft_address,
        "labels": dict(node.labels),
        "runtime": node.runtime,
        "bootstrap": bootstrap,
    }
    audit_id = append_event(state, cmd, AuditType.NODE_JOIN, payload)
    return Result(changed=True, audit_id=audit_id)


def bootstrap(state: State, cmd: Bootstrap) -> Outcome:
    if state.cluster_id:
        return already_exists(f"cluster {state.cluster_id!r} is already bootstrapped")
    if not cmd.cluster_id:
        return invalid("cluster_id must not be empty")
    err = _node_errors(cmd.node_name, cmd.address, cmd.raft_address, cmd.runtime)
    if err:
        return invalid(err)
    state.cluster_id = cmd.cluster_id
    node = Node(
        name=cmd.node_name,
        address=cmd.address,
        raft_address=cmd.raft_address,
        labels=dict(cmd.labels),
        runtime=cmd.runtime,
        joined_at_ns=cmd.ts_ns,
        node_address=cmd.node_address,
    )
    return _add_node(state, cmd, node, bootstrap=True)


def node_join(state: State, cmd: NodeJoin) -> Outcome:
    err = _node_errors(cmd.name, cmd.address, cmd.raft_address, cmd.runtime)
    if err:
        return invalid(err)
    existing = state.nodes.get(cmd.name)
    if existing is not None:
        if existing.raft_address == cmd.raft_address:
            # A retried join (the joiner lost the answer): nothing to do.
            return Result(changed=False)
        return already_exists(
            f"node {cmd.name!r} is already a member with raft address {existing.raft_address}"
        )
    for other in state.nodes.values():
        if other.raft_address == cmd.raft_address:
            return already_exists(f"raft address {cmd.raft_address} is used by node {other.name!r}")
    node = Node(
        name=cmd.name,
        address=cmd.address,
        raft_address=cmd.raft_address,
        labels=dict(cmd.labels),
        runtime=cmd.runtime,
        joined_at_ns=cmd.ts_ns,
        node_address=cmd.node_address,
    )
    return _add_node(state, cmd, node, bootstrap=False)


def node_leave(state: State, cmd: NodeLeave) -> Outcome:
    node = state.nodes.get(cmd.name)
    if node is None:
        return not_found(f"node {cmd.name!r} is not a member")
    # Replicas always point at a member node; the scheduler re-places the
    # removed ones on its next reconcile.
    dropped = sorted(rid for rid, r in state.replicas.items() if r.node == cmd.name)
    for rid in dropped:
        del state.replicas[rid]
    del state.nodes[cmd.name]
    payload = {
        "name": node.name,
        "raft_address": node.raft_address,
        "replicas_removed": len(dropped),
    }
    audit_id = append_event(state, cmd, AuditType.NODE_LEAVE, payload)
    return Result(changed=True, audit_id=audit_id)


def _pressure_error(pressure: Pressure | None) -> str | None:
    if pressure is None:
        return "include_pressure is set but pressure is missing"
    for field in PRESSURE_FIELDS:
        value = getattr(pressure, field)
        # NaN would make equal states compare unequal after a snapshot round trip.
        if not math.isfinite(value) or value < 0:
            return f"pressure.{field} must be a non-negative number"
    return None


def _status_applies(state: State, node: str, status: ReplicaStatus) -> bool:
    replica = state.replicas.get(status.id)
    if replica is None or replica.node != node:
        return False
    # A report about an older incarnation must not overwrite the new one.
    return status.revision == 0 or status.revision == replica.revision


def node_status_update(state: State, cmd: NodeStatusUpdate) -> Outcome:
    # Internal bookkeeping: the closed audit type set has no event for it.
    node = state.nodes.get(cmd.node_name)
    if node is None:
        return not_found(f"node {cmd.node_name!r} is not a member")
    if cmd.include_pressure:
        err = _pressure_error(cmd.pressure)
        if err:
            return invalid(err)
    ids = [s.id for s in cmd.replicas]
    if len(set(ids)) != len(ids):
        return invalid("a replica is reported twice in one update")
    for status in cmd.replicas:
        for port, host_port in status.ports:
            if not (0 < port < 65536 and 0 < host_port < 65536):
                bad = f"{port}->{host_port}"
                return invalid(f"replicas[{status.id}].ports: {bad} is not a pair of ports")
    applied = 0
    ignored: list[str] = []
    for status in cmd.replicas:
        if not _status_applies(state, cmd.node_name, status):
            ignored.append(status.id)
            continue
        replica = state.replicas[status.id]
        replica.state = status.state
        replica.restarts = status.restarts
        replica.last_error = status.last_error
        replica.exit_code = status.exit_code
        replica.started_at_ns = status.started_at_ns
        replica.ports = status.ports
        replica.updated_at_ns = cmd.ts_ns
        applied += 1
    if cmd.include_pressure:
        node.pressure = cmd.pressure
    node.last_status_ns = cmd.ts_ns
    return Result(changed=True, value=StatusApplied(applied=applied, ignored=ignored))
