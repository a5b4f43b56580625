"""Commands and snapshots on the wire: round trips, tags, versions, determinism."""

from __future__ import annotations

import msgspec
import pytest

from jacod.state import (
    COMMAND_TYPES,
    SNAPSHOT_VERSION,
    AuditType,
    Command,
    DeleteDeployment,
    HealthCheck,
    Ingress,
    NodeLeave,
    Pressure,
    PurgeDeployment,
    RecordEvent,
    ReplicaState,
    ReplicaStatus,
    ReplicaStop,
    Resources,
    RevokeToken,
    Rollback,
    State,
    StopReplicas,
    apply,
    decode_command,
    dump_state,
    encode_command,
    load_state,
    trace_id_of,
)

from .helpers import (
    T0,
    TRACE_ID,
    apply_cmd,
    assign_cmd,
    bootstrap_cmd,
    env,
    join_cmd,
    must,
    status_cmd,
    svc,
    token_cmd,
    world,
)

FULL_SERVICE = svc(
    "api",
    image="ghcr.io/x/api:1",
    replicas=3,
    env={"B": "2", "A": "1"},
    ports=[8080, 9090],
    resources=Resources(cpu=0.5, memory_bytes=256 << 20),
    health=HealthCheck(kind="http", path="/healthz", port=8080, interval_s=5.0),
    restart="on-failure",
    placement={"zone": "a"},
    ingress=Ingress(host="api.example", path="/", port=8080),
    workdir="/srv",
)

ONE_OF_EACH: list[Command] = [
    bootstrap_cmd(),
    join_cmd("n2", runtime="docker"),
    NodeLeave(**env(), name="n2"),
    status_cmd(
        include_pressure=True,
        pressure=Pressure(cpu_some_avg10=1.25, sampled_at_ns=T0),
        replicas=[ReplicaStatus(id="web/api/0", state=ReplicaState.RUNNING, restarts=2)],
    ),
    apply_cmd(services=[FULL_SERVICE]),
    Rollback(**env(), name="web", to_revision=3),
    DeleteDeployment(**env(), name="web"),
    assign_cmd(),
    token_cmd(expires_at_ns=None),
    RevokeToken(**env(), token_id="t1"),
    RecordEvent(**env(identity="system"), type=AuditType.BACKUP_TAKEN, payload={"file": "b"}),
    StopReplicas(
        **env(identity="system"),
        deployment="web",
        replicas=[ReplicaStop(id="web/api/0", traceparent=f"00-{TRACE_ID}-00f067aa0ba902b7-01")],
    ),
    PurgeDeployment(**env(identity="system"), deployment="web"),
]


def test_one_of_each_covers_every_command_type() -> None:
    assert sorted(type(c).__name__ for c in ONE_OF_EACH) == sorted(
        t.__name__ for t in COMMAND_TYPES
    )


@pytest.mark.parametrize("cmd", ONE_OF_EACH, ids=lambda c: type(c).__name__)
def test_every_command_round_trips(cmd: Command) -> None:
    data = encode_command(cmd)
    assert decode_command(data) == cmd
    assert encode_command(decode_command(data)) == data


@pytest.mark.parametrize(
    ("cmd", "tag"),
    [
        (ONE_OF_EACH[0], "bootstrap"),
        (ONE_OF_EACH[3], "node_status_update"),
        (ONE_OF_EACH[4], "apply_deployment"),
        (ONE_OF_EACH[7], "assign_replicas"),
        (ONE_OF_EACH[10], "record_event"),
        (ONE_OF_EACH[11], "stop_replicas"),
        (ONE_OF_EACH[12], "purge_deployment"),
    ],
)
def test_commands_are_tagged_with_their_snake_case_name(cmd: Command, tag: str) -> None:
    raw = msgspec.msgpack.decode(encode_command(cmd))
    assert raw["cmd"] == tag


def test_decoding_an_unknown_or_malformed_command_fails_with_value_error() -> None:
    with pytest.raises(ValueError):
        decode_command(msgspec.msgpack.encode({"cmd": "format_disk", "ts_ns": 1}))
    with pytest.raises(ValueError):
        decode_command(msgspec.msgpack.encode({"cmd": "node_leave", "ts_ns": "soon"}))
    with pytest.raises(ValueError):
        decode_command(b"\xc1")


def test_dump_load_round_trip_is_equal() -> None:
    state = world()
    must(state, apply_cmd(name="full", services=[FULL_SERVICE]))
    must(state, status_cmd(include_pressure=True, pressure=Pressure(io_full_avg10=3.5)))
    data = dump_state(state)
    loaded = load_state(data)
    assert loaded == state
    assert dump_state(loaded) == data


def test_a_deletion_in_progress_survives_a_snapshot() -> None:
    state = world()
    must(state, DeleteDeployment(**env(identity="bob", ts_ns=T0 + 5), name="web"))
    stop = ReplicaStop(id="web/api/0", traceparent=f"00-{TRACE_ID}-00f067aa0ba902b7-01")
    must(state, StopReplicas(**env(identity="system"), deployment="web", replicas=[stop]))
    loaded = load_state(dump_state(state))
    assert loaded == state
    dep = loaded.deployments["web"]
    assert (dep.deleting, dep.deleted_at_ns, dep.deleted_by) == (True, T0 + 5, "bob")
    assert loaded.replicas["web/api/0"].removing
    assert loaded.replicas["web/api/0"].traceparent == stop.traceparent
    assert not loaded.replicas["web/worker/0"].removing


def test_a_snapshot_without_the_deletion_fields_loads_with_their_defaults() -> None:
    # Written before deletions were tombstones: no `deleting`, no `removing`.
    raw = msgspec.msgpack.decode(dump_state(world()))
    for dep in raw["state"]["deployments"].values():
        for key in ("deleting", "deleted_at_ns", "deleted_by"):
            del dep[key]
    for r in raw["state"]["replicas"].values():
        del r["removing"]
    loaded = load_state(msgspec.msgpack.encode(raw))
    assert loaded == world()
    assert not loaded.deployments["web"].deleting
    assert not any(r.removing for r in loaded.replicas.values())


def test_empty_state_round_trips() -> None:
    assert load_state(dump_state(State())) == State()


def test_unknown_snapshot_version_is_rejected() -> None:
    raw = msgspec.msgpack.decode(dump_state(world()))
    raw["version"] = SNAPSHOT_VERSION + 1
    with pytest.raises(ValueError, match=r"unsupported state snapshot version 2"):
        load_state(msgspec.msgpack.encode(raw))


@pytest.mark.parametrize(
    "data",
    [b"", b"\x80", b"not msgpack", msgspec.msgpack.encode({"version": 1, "state": {"nodes": 3}})],
    ids=["empty", "no-version", "garbage", "bad-state"],
)
def test_malformed_snapshots_are_rejected(data: bytes) -> None:
    with pytest.raises(ValueError):
        load_state(data)


def test_dict_insertion_order_never_reaches_the_bytes() -> None:
    a, b = State(), State()
    must(a, bootstrap_cmd(labels={"x": "1", "y": "2"}))
    must(b, bootstrap_cmd(labels={"y": "2", "x": "1"}))
    for state in (a, b):
        must(state, join_cmd("n2"))
        must(state, join_cmd("n3"))
    b.nodes = dict(reversed(b.nodes.items()))
    assert list(a.nodes) != list(b.nodes)
    assert list(a.nodes["n1"].labels) != list(b.nodes["n1"].labels)
    assert dump_state(a) == dump_state(b)


def test_same_commands_give_the_same_bytes() -> None:
    cmds: list[Command] = [bootstrap_cmd(), join_cmd("n2"), apply_cmd(), assign_cmd(), token_cmd()]
    a, b = State(), State()
    for cmd in cmds:
        apply(a, cmd)
        apply(b, decode_command(encode_command(cmd)))
    assert dump_state(a) == dump_state(b)


@pytest.mark.parametrize(
    ("traceparent", "trace_id"),
    [
        (f"00-{TRACE_ID}-00f067aa0ba902b7-01", TRACE_ID),
        (f"00-{TRACE_ID}-00f067aa0ba902b7-00", TRACE_ID),
        (f"01-{TRACE_ID}-00f067aa0ba902b7-01-future", TRACE_ID),
        ("", ""),
        ("garbage", ""),
        (f"ff-{TRACE_ID}-00f067aa0ba902b7-01", ""),
        (f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra", ""),
        (f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01", ""),
        (f"00-{'0' * 32}-00f067aa0ba902b7-01", ""),
        (f"00-{TRACE_ID}-{'0' * 16}-01", ""),
        (f"00-{TRACE_ID[:-1]}-00f067aa0ba902b7-01", ""),
        (f"00-{TRACE_ID}-00f067aa0ba902b7-1", ""),
    ],
)
def test_trace_id_is_parsed_from_traceparent(traceparent: str, trace_id: str) -> None:
    assert trace_id_of(traceparent) == trace_id
    state = State()
    must(state, bootstrap_cmd(traceparent=traceparent))
    assert state.audit[-1].trace_id == trace_id
