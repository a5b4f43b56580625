"""Property tests: random command sequences, valid and invalid.

Same commands in the same order → byte-identical state (also after a trip
through the codec); no event without its change and no change without its
event; audit ids strictly increasing and contiguous; ts index sorted; the
indexed audit query equals a brute-force filter.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jacod.state import (
    COMMAND_OWNED_TYPES,
    ApplyDeployment,
    AssignReplicas,
    AuditEvent,
    AuditType,
    Bootstrap,
    Command,
    CreateToken,
    DeleteDeployment,
    NodeJoin,
    NodeLeave,
    NodeStatusUpdate,
    Pressure,
    PurgeDeployment,
    RecordEvent,
    Rejected,
    ReplicaAssignment,
    ReplicaState,
    ReplicaStatus,
    ReplicaStop,
    RevokeToken,
    Role,
    Rollback,
    ServiceSpec,
    State,
    StopReplicas,
    apply,
    decode_command,
    dump_state,
    encode_command,
    load_state,
    query_audit,
)

from .helpers import TRACEPARENT

NODES = ["n1", "n2", "n3"]
DEPLOYMENTS = ["web", "db"]
SERVICES = ["api", "worker"]
TOKENS = ["t1", "t2"]
IDENTITIES = ["alice", "bob", "local", "system"]
NOT_AUDITED = (NodeStatusUpdate, AssignReplicas, StopReplicas, PurgeDeployment)

small_ts = st.integers(min_value=0, max_value=60)


def command(cls: type[Any], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`cls` with a random envelope: clocks jump around, identities are sometimes empty."""
    return st.builds(
        cls,
        ts_ns=small_ts,
        identity=st.sampled_from([*IDENTITIES, *IDENTITIES, ""]),
        node=st.sampled_from(NODES),
        traceparent=st.sampled_from(["", TRACEPARENT, "junk"]),
        **fields,
    )


node_names = st.sampled_from(NODES)
raft_addresses = st.sampled_from(["r1", "r2", "r3", "r4"])
labels = st.dictionaries(st.sampled_from(["zone", "disk"]), st.sampled_from(["a", "b"]), max_size=2)
runtimes = st.sampled_from(["process", "docker", "lxc"])
deployment_names = st.sampled_from(DEPLOYMENTS)
service_specs = st.builds(
    ServiceSpec,
    name=st.sampled_from(SERVICES),
    image=st.sampled_from(["img:1", "img:2"]),
    replicas=st.sampled_from([0, 1, 1, 2, 2, 2, -1]),
)
replica_ids = st.builds(
    lambda d, s, o: f"{d}/{s}/{o}", deployment_names, st.sampled_from(SERVICES), st.integers(0, 1)
)
floats = st.sampled_from([0.0, 1.5, 42.25, float("nan")])
pressures = st.builds(Pressure, cpu_some_avg10=floats, io_full_avg10=floats, sampled_at_ns=small_ts)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2)
    ),
    max_leaves=4,
)

commands: st.SearchStrategy[Command] = st.one_of(
    command(
        Bootstrap,
        cluster_id=st.sampled_from(["c", "c", "c", ""]),
        node_name=node_names,
        address=st.just("a"),
        raft_address=raft_addresses,
        labels=labels,
    ),
    command(
        NodeJoin,
        name=node_names,
        address=st.just("a"),
        raft_address=raft_addresses,
        labels=labels,
        runtime=runtimes,
    ),
    command(NodeLeave, name=node_names),
    command(
        NodeStatusUpdate,
        node_name=node_names,
        include_pressure=st.booleans(),
        pressure=st.none() | pressures,
        replicas=st.lists(
            st.builds(
                ReplicaStatus,
                id=replica_ids,
                state=st.sampled_from(ReplicaState),
                revision=st.integers(0, 3),
                restarts=st.integers(0, 3),
            ),
            max_size=3,
        ),
    ),
    command(
        ApplyDeployment,
        name=deployment_names,
        services=st.lists(service_specs, min_size=1, max_size=2, unique_by=lambda s: s.name)
        | st.lists(service_specs, max_size=2),
        source=st.sampled_from(["", "src"]),
    ),
    command(Rollback, name=deployment_names, to_revision=st.sampled_from([0, 0, 0, 1, 2, 3, -1])),
    command(DeleteDeployment, name=deployment_names),
    command(
        AssignReplicas,
        deployment=deployment_names,
        assignments=st.lists(
            st.builds(
                ReplicaAssignment,
                service=st.sampled_from(SERVICES),
                ordinal=st.integers(0, 1),
                revision=st.integers(1, 4),
                node=node_names,
            ),
            max_size=3,
            unique_by=lambda a: (a.service, a.ordinal),
        ),
    ),
    command(
        StopReplicas,
        deployment=deployment_names,
        replicas=st.lists(
            st.builds(ReplicaStop, id=replica_ids, traceparent=st.sampled_from(["", TRACEPARENT])),
            max_size=3,
        ),
    ),
    command(PurgeDeployment, deployment=deployment_names),
    command(
        CreateToken,
        token_id=st.sampled_from(TOKENS),
        token_identity=st.sampled_from(["bot", "bot", "bot", "local"]),
        role=st.sampled_from(Role),
        secret_hash=st.sampled_from(["h", "h", "h", ""]),
        expires_at_ns=st.sampled_from([None, None, None, 10, 100]),
    ),
    command(RevokeToken, token_id=st.sampled_from(TOKENS)),
    command(
        RecordEvent,
        type=st.sampled_from(sorted(set(AuditType) - COMMAND_OWNED_TYPES))
        | st.sampled_from(AuditType),
        deployment=st.sampled_from(["", "web"]),
        payload=st.dictionaries(st.text(max_size=3), json_values, max_size=2),
    ),
)

_ENV: dict[str, Any] = {"ts_ns": 30, "identity": "local", "node": "n1"}
# A small running cluster, so that most random commands find their targets.
PREFIX: list[Command] = [
    Bootstrap(**_ENV, cluster_id="c", node_name="n1", address="a", raft_address="r1"),
    NodeJoin(**_ENV, name="n2", address="a", raft_address="r2"),
    ApplyDeployment(**_ENV, name="web", services=[ServiceSpec(name="api", image="img:1")]),
    ApplyDeployment(**_ENV, name="web", services=[ServiceSpec(name="api", replicas=2)]),
    AssignReplicas(
        **_ENV,
        deployment="web",
        assignments=[
            ReplicaAssignment(service="api", ordinal=0, revision=2, node="n1"),
            ReplicaAssignment(service="api", ordinal=1, revision=2, node="n2"),
        ],
    ),
]

# Usually start from that cluster; sometimes from nothing (nearly all refused).
sequences = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from([PREFIX, PREFIX, PREFIX, PREFIX[:1], []]),
    st.lists(commands, min_size=5, max_size=60),
)


def _check_invariants(state: State) -> None:
    ids = [e.id for e in state.audit]
    assert ids == list(range(1, len(ids) + 1))
    assert state.last_audit_id == len(ids)
    ts = [e.ts_ns for e in state.audit]
    assert ts == sorted(ts)
    for replica in state.replicas.values():
        assert replica.node in state.nodes
        assert replica.deployment in state.deployments
        # Only a deployment being deleted has replicas marked for removal.
        assert state.deployments[replica.deployment].deleting or not replica.removing
    for dep in state.deployments.values():
        numbers = [r.number for r in dep.revisions]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences)
def test_replay_is_deterministic_and_no_event_is_lost(cmds: list[Command]) -> None:
    a, b, c = State(), State(), State()
    audited_successes = 0
    for cmd in cmds:
        before = dump_state(a)
        events_before = len(a.audit)
        result = apply(a, cmd)
        assert apply(b, decode_command(encode_command(cmd))) == result
        if isinstance(result, Rejected):
            assert dump_state(a) == before, "a rejected command changed the state"
            continue
        if not result.changed:
            assert dump_state(a) == before, "a no-op changed the state"
        if isinstance(cmd, NOT_AUDITED):
            assert result.audit_id == 0 and len(a.audit) == events_before
            continue
        # Audited: a change comes with exactly one event, a no-op with none.
        assert result.changed == (result.audit_id != 0)
        if result.changed:
            audited_successes += 1
            assert len(a.audit) == events_before + 1
            event = a.audit[-1]
            assert event.id == result.audit_id
            assert (event.identity, event.node) == (cmd.identity, cmd.node)
        else:
            assert len(a.audit) == events_before
    for cmd in cmds:
        apply(c, cmd)
    data = dump_state(a)
    assert dump_state(b) == data
    assert dump_state(c) == data
    assert load_state(data) == a
    assert len(a.audit) == audited_successes
    _check_invariants(a)


def _brute_force(
    events: list[AuditEvent],
    since_ns: int | None,
    until_ns: int | None,
    types: list[AuditType] | None,
    identity: str | None,
    deployment: str | None,
    after_id: int,
    limit: int,
) -> list[AuditEvent]:
    out = [
        e
        for e in events
        if (since_ns is None or e.ts_ns >= since_ns)
        and (until_ns is None or e.ts_ns < until_ns)
        and (types is None or e.type in types)
        and (identity is None or e.identity == identity)
        and (deployment is None or e.deployment == deployment)
        and e.id > after_id
    ]
    return out[: max(limit, 0)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences, st.data())
def test_indexed_audit_query_equals_brute_force(cmds: list[Command], data: st.DataObject) -> None:
    state = State()
    for cmd in cmds:
        apply(state, cmd)
    opt_ts = st.none() | st.integers(-1, 62)
    for _ in range(5):
        kwargs: dict[str, Any] = {
            "since_ns": data.draw(opt_ts),
            "until_ns": data.draw(opt_ts),
            "types": data.draw(st.none() | st.lists(st.sampled_from(AuditType), max_size=3)),
            "identity": data.draw(st.none() | st.sampled_from(IDENTITIES)),
            "deployment": data.draw(st.none() | st.sampled_from(["", "web", "db"])),
            "after_id": data.draw(st.integers(0, len(state.audit) + 1)),
            "limit": data.draw(st.integers(0, 12)),
        }
        assert query_audit(state, **kwargs) == _brute_force(state.audit, **kwargs)
