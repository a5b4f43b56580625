"""Bootstrap, NodeJoin, NodeLeave and NodeStatusUpdate: success and rejections."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest

from jacod.state import (
    AuditType,
    Command,
    NodeJoin,
    NodeLeave,
    Pressure,
    RejectCode,
    ReplicaState,
    ReplicaStatus,
    State,
    StatusApplied,
    decode_command,
    dump_state,
    encode_command,
    load_state,
)

from .helpers import (
    T0,
    TRACE_ID,
    bootstrap_cmd,
    env,
    join_cmd,
    last_event,
    must,
    refused,
    status_cmd,
    world,
)


def test_bootstrap_names_the_cluster_and_adds_the_first_node() -> None:
    state = State()
    result = must(state, bootstrap_cmd())
    assert state.cluster_id == "c-1"
    node = state.nodes["n1"]
    assert (node.address, node.raft_address, node.labels) == (
        "10.0.0.1:7000",
        "10.0.0.1:7001",
        {"zone": "a"},
    )
    assert node.joined_at_ns == T0
    event = last_event(state)
    assert result.changed and result.audit_id == event.id == 1
    assert event.type is AuditType.NODE_JOIN
    assert event.identity == "local"
    assert event.node == "n1" and event.deployment == ""
    assert event.trace_id == TRACE_ID
    assert event.payload == {
        "name": "n1",
        "address": "10.0.0.1:7000",
        "raft_address": "10.0.0.1:7001",
        "labels": {"zone": "a"},
        "runtime": "process",
        "bootstrap": True,
    }


def test_the_node_port_is_recorded_and_older_records_decode_without_it() -> None:
    state = State()
    must(state, bootstrap_cmd(node_address="10.0.0.1:7002"))
    must(state, join_cmd("n2", node_address="10.0.0.2:7002"))
    # A NodeJoin from before node ports were advertised (still in raft logs).
    raw = msgspec.msgpack.decode(encode_command(join_cmd("n3", node_address="x:1")))
    del raw["node_address"]
    old_join = decode_command(msgspec.msgpack.encode(raw))
    assert isinstance(old_join, NodeJoin) and old_join.node_address == ""
    must(state, old_join)
    recorded = {n.name: n.node_address for n in state.nodes.values()}
    assert recorded == {"n1": "10.0.0.1:7002", "n2": "10.0.0.2:7002", "n3": ""}
    # A snapshot written before the field existed loads with "" (peers then
    # assume the default node port).
    snap = msgspec.msgpack.decode(dump_state(state))
    for n in snap["state"]["nodes"].values():
        del n["node_address"]
    loaded = load_state(msgspec.msgpack.encode(snap))
    assert {n.name: n.node_address for n in loaded.nodes.values()} == dict.fromkeys(recorded, "")


def test_commands_before_bootstrap_are_refused() -> None:
    state = State()
    before = dump_state(state)
    assert refused(state, join_cmd()).code is RejectCode.FAILED_PRECONDITION
    assert dump_state(state) == before


def test_a_local_callers_uid_is_in_the_event_payload() -> None:
    state = world()
    must(state, join_cmd("n3", identity="local", peer_uid=1000))
    event = last_event(state)
    assert (event.identity, event.payload["peer_uid"]) == ("local", 1000)
    must(state, join_cmd("n4"))
    assert "peer_uid" not in last_event(state).payload  # a token caller: no uid


def test_node_join_adds_the_node_with_an_event() -> None:
    state = State()
    must(state, bootstrap_cmd())
    result = must(state, join_cmd("n2", runtime="docker", node="n1", identity="admin"))
    assert state.nodes["n2"].runtime == "docker"
    event = last_event(state)
    assert result.audit_id == event.id == 2
    assert event.type is AuditType.NODE_JOIN
    assert event.identity == "admin"
    assert event.payload["name"] == "n2"
    assert event.payload["bootstrap"] is False


def test_rejoin_with_the_same_raft_address_is_a_no_op() -> None:
    state = world()
    before = dump_state(state)
    result = must(state, join_cmd("n2", labels={"zone": "changed"}))
    assert not result.changed and result.audit_id == 0
    assert dump_state(state) == before


def test_node_leave_removes_the_node_and_its_replicas() -> None:
    state = world()
    result = must(state, NodeLeave(**env(identity="admin"), name="n2"))
    assert "n2" not in state.nodes
    assert sorted(state.replicas) == ["web/api/0", "web/worker/0"]
    event = last_event(state)
    assert result.audit_id == event.id
    assert event.type is AuditType.NODE_LEAVE
    assert event.identity == "admin"
    assert event.payload == {"name": "n2", "raft_address": "10.0.0.2:7001", "replicas_removed": 1}


def test_status_update_records_observed_state_without_an_event() -> None:
    state = world()
    events = len(state.audit)
    pressure = Pressure(cpu_some_avg10=1.5, io_full_avg10=0.25, sampled_at_ns=T0)
    report = ReplicaStatus(
        id="web/worker/1", state=ReplicaState.RUNNING, revision=2, restarts=3, started_at_ns=T0,
        ports=((8000, 41234),),
    )  # fmt: skip
    result = must(
        state,
        status_cmd(ts_ns=T0 + 5, include_pressure=True, pressure=pressure, replicas=[report]),
    )
    assert result.changed and result.audit_id == 0
    assert result.value == StatusApplied(applied=1, ignored=[])
    replica = state.replicas["web/worker/1"]
    assert (replica.state, replica.restarts, replica.started_at_ns) == (
        ReplicaState.RUNNING,
        3,
        T0,
    )
    assert replica.updated_at_ns == T0 + 5
    assert replica.ports == ((8000, 41234),)
    assert state.nodes["n2"].pressure == pressure
    assert state.nodes["n2"].last_status_ns == T0 + 5
    assert len(state.audit) == events


def test_status_update_without_pressure_keeps_the_last_sample() -> None:
    state = world()
    pressure = Pressure(cpu_some_avg10=2.0)
    must(state, status_cmd(include_pressure=True, pressure=pressure))
    must(state, status_cmd(include_pressure=False, pressure=Pressure(cpu_some_avg10=9.0)))
    assert state.nodes["n2"].pressure == pressure


def test_status_update_ignores_replicas_of_other_nodes_and_older_revisions() -> None:
    state = world()
    reports = [
        ReplicaStatus(id="web/api/0", state=ReplicaState.FAILED),  # assigned to n1
        ReplicaStatus(id="web/worker/1", state=ReplicaState.FAILED, revision=1),  # old revision
        ReplicaStatus(id="gone/x/0", state=ReplicaState.FAILED),  # unknown
        ReplicaStatus(id="web/worker/9", state=ReplicaState.EXITED),  # never assigned
    ]
    result = must(state, status_cmd(replicas=reports))
    assert result.value == StatusApplied(
        applied=0, ignored=["web/api/0", "web/worker/1", "gone/x/0", "web/worker/9"]
    )
    assert state.replicas["web/api/0"].state is ReplicaState.PENDING
    assert state.replicas["web/worker/1"].state is ReplicaState.PENDING


@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(
            lambda: bootstrap_cmd(cluster_id="c-2"), "already_exists", id="bootstrap-twice"
        ),
        pytest.param(
            lambda: join_cmd("n2", raft_address="10.0.0.9:1"),
            "already_exists",
            id="join-name-taken",
        ),
        pytest.param(
            lambda: join_cmd("n3", raft_address="10.0.0.2:7001"),
            "already_exists",
            id="join-raft-address-taken",
        ),
        pytest.param(
            lambda: join_cmd(
                "",
            ),
            "invalid",
            id="join-no-name",
        ),
        pytest.param(lambda: join_cmd("n3", raft_address=""), "invalid", id="join-no-raft-address"),
        pytest.param(lambda: join_cmd("n3", runtime="lxc"), "invalid", id="join-bad-runtime"),
        pytest.param(lambda: NodeLeave(**env(), name="n7"), "not_found", id="leave-unknown"),
        pytest.param(lambda: status_cmd(node_name="n7"), "not_found", id="status-unknown-node"),
        pytest.param(lambda: status_cmd(include_pressure=True), "invalid", id="status-no-pressure"),
        pytest.param(
            lambda: status_cmd(
                include_pressure=True, pressure=Pressure(cpu_some_avg10=float("nan"))
            ),
            "invalid",
            id="status-nan-pressure",
        ),
        pytest.param(
            lambda: status_cmd(
                replicas=[
                    ReplicaStatus(id="web/worker/1", state=ReplicaState.RUNNING),
                    ReplicaStatus(id="web/worker/1", state=ReplicaState.FAILED),
                ]
            ),
            "invalid",
            id="status-duplicate-replica",
        ),
        pytest.param(
            lambda: status_cmd(
                replicas=[
                    ReplicaStatus(id="web/worker/1", state=ReplicaState.RUNNING, ports=((0, 80),))
                ]
            ),
            "invalid",
            id="status-bad-port-pair",
        ),
        pytest.param(lambda: join_cmd("n3", identity=""), "invalid", id="envelope-no-identity"),
        pytest.param(lambda: join_cmd("n3", ts_ns=-1), "invalid", id="envelope-negative-ts"),
        pytest.param(lambda: join_cmd("n3", peer_uid=-1), "invalid", id="envelope-bad-peer-uid"),
    ],
)
def test_rejections_change_nothing(make: Callable[[], Command], code: str) -> None:
    state = world()
    before = dump_state(state)
    rejected = refused(state, make())
    assert rejected.code == code
    assert rejected.message
    assert dump_state(state) == before
