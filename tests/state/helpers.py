"""Builders shared by the state machine tests: commands with a default envelope
and a small populated cluster."""

from __future__ import annotations

from typing import Any

from jacod.state import (
    ApplyDeployment,
    AssignReplicas,
    AuditEvent,
    Bootstrap,
    Command,
    CreateToken,
    NodeJoin,
    NodeStatusUpdate,
    Rejected,
    ReplicaAssignment,
    Result,
    Role,
    ServiceSpec,
    State,
    apply,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
T0 = 1_700_000_000_000_000_000


def env(**overrides: Any) -> dict[str, Any]:
    """Envelope fields: identity alice on node n1 at T0, with a trace."""
    return {"ts_ns": T0, "identity": "alice", "node": "n1", "traceparent": TRACEPARENT, **overrides}


def svc(name: str = "api", **fields: Any) -> ServiceSpec:
    return ServiceSpec(name=name, command=["./serve"], **fields)


def bootstrap_cmd(**overrides: Any) -> Bootstrap:
    fields: dict[str, Any] = {
        "cluster_id": "c-1",
        "node_name": "n1",
        "address": "10.0.0.1:7000",
        "raft_address": "10.0.0.1:7001",
        "labels": {"zone": "a"},
        **env(identity="local"),
    }
    fields.update(overrides)
    return Bootstrap(**fields)


def join_cmd(name: str = "n2", **overrides: Any) -> NodeJoin:
    n = name[1:] if name[1:].isdigit() else "9"
    fields: dict[str, Any] = {
        "name": name,
        "address": f"10.0.0.{n}:7000",
        "raft_address": f"10.0.0.{n}:7001",
        "labels": {"zone": "b"},
        **env(),
    }
    fields.update(overrides)
    return NodeJoin(**fields)


def apply_cmd(
    name: str = "web", services: list[ServiceSpec] | None = None, **overrides: Any
) -> ApplyDeployment:
    if services is None:
        services = [svc("api"), svc("worker", replicas=2)]
    return ApplyDeployment(
        **{**env(), "name": name, "services": services, "source": "src", **overrides}
    )


def token_cmd(token_id: str = "t1", **overrides: Any) -> CreateToken:
    fields: dict[str, Any] = {
        "token_id": token_id,
        "token_identity": "ci-bot",
        "role": Role.OPERATOR,
        "secret_hash": "sha256:deadbeef",
        "expires_at_ns": T0 + 10**12,
        **env(identity="admin"),
    }
    fields.update(overrides)
    return CreateToken(**fields)


def assign_cmd(
    deployment: str = "web",
    placement: list[tuple[str, int, int, str]] | None = None,
    **overrides: Any,
) -> AssignReplicas:
    if placement is None:
        placement = [("api", 0, 1, "n1"), ("worker", 0, 1, "n1"), ("worker", 1, 1, "n2")]
    assignments = [
        ReplicaAssignment(service=s, ordinal=o, revision=r, node=n) for s, o, r, n in placement
    ]
    return AssignReplicas(
        **{
            **env(identity="system"),
            "deployment": deployment,
            "assignments": assignments,
            **overrides,
        }
    )


def status_cmd(**fields: Any) -> NodeStatusUpdate:
    """A status report from n2 (by default about nothing)."""
    base: dict[str, Any] = {**env(identity="system", node="n2"), "node_name": "n2"}
    base.update(fields)
    return NodeStatusUpdate(**base)


def must(state: State, cmd: Command) -> Result:
    """Apply `cmd` and fail the test if it is rejected."""
    result = apply(state, cmd)
    assert isinstance(result, Result), result
    return result


def refused(state: State, cmd: Command) -> Rejected:
    result = apply(state, cmd)
    assert isinstance(result, Rejected), result
    return result


def last_event(state: State) -> AuditEvent:
    assert state.audit, "no audit event"
    return state.audit[-1]


def world() -> State:
    """Nodes n1, n2; deployment web at revision 2 with three replicas; token t1."""
    state = State()
    must(state, bootstrap_cmd())
    must(state, join_cmd("n2"))
    must(state, apply_cmd())
    must(state, apply_cmd(services=[svc("api", image="v2"), svc("worker", replicas=2)]))
    must(
        state,
        assign_cmd(placement=[("api", 0, 2, "n1"), ("worker", 0, 2, "n1"), ("worker", 1, 2, "n2")]),
    )
    must(state, token_cmd())
    return state
