"""The pure parts: backoff, policies, health transitions, env, the store, the reporter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jacod.agent import AgentStore, Backoff, HealthMonitor, Reporter, should_restart
from jacod.agent.agent import _relevant
from jacod.agent.env import replica_env
from jacod.cluster.bus import Applied, LeaderChanged, Resync
from jacod.errors import Unavailable
from jacod.state import (
    AssignReplicas,
    HealthCheck,
    NodeStatusUpdate,
    ReplicaState,
    ReplicaStatus,
    Result,
    ServiceSpec,
)

from .helpers import envelope

S, R, U = ReplicaState.STARTING, ReplicaState.RUNNING, ReplicaState.UNHEALTHY


def test_backoff_doubles_caps_and_resets() -> None:
    b = Backoff()
    assert [b.delay(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert b.delay(10_000) == 30
    assert b.streak_after(5, ran_s=59.9) == 5 and b.streak_after(5, ran_s=60) == 0


@pytest.mark.parametrize(
    ("policy", "code", "restart"),
    [
        ("always", 0, True),
        ("always", 3, True),
        ("on-failure", 0, False),
        ("on-failure", 137, True),
        ("on-failure", -1, True),
        ("never", 0, False),
        ("never", 1, False),
    ],
)
def test_restart_policy(policy: str, code: int, restart: bool) -> None:
    assert should_restart(policy, code) is restart


@pytest.mark.parametrize(
    ("initial", "results", "states"),
    [
        # (reason or None, elapsed s) per probe; retries 2, interval 1 s
        (S, [("x", 0.0), ("x", 1.0), ("x", 2.0)], [S, S, U]),  # starting: also needs 2 s
        (S, [("x", 0.0), (None, 0.5), ("x", 1.0), ("x", 2.0)], [S, R, R, U]),
        (S, [(None, 0.0), ("x", 1), (None, 2), ("x", 3), ("x", 4), (None, 5)], [R, R, R, R, U, R]),
        (R, [("x", 0.0), ("x", 0.1)], [R, U]),  # adopted healthy: plain counting
    ],
)
def test_health_transitions(initial: ReplicaState, results: list, states: list) -> None:  # type: ignore[type-arg]
    check = HealthCheck(kind="tcp", port=1, interval_s=1.0, retries=2)
    m = HealthMonitor("d/s/0", check, probe=None, on_change=lambda *_: None, initial=initial)  # type: ignore[arg-type]
    seen = []
    for reason, elapsed in results:
        m.observe(reason, elapsed)
        seen.append(m.state)
    assert seen == states


def test_health_probes_faster_while_starting() -> None:
    check = HealthCheck(kind="tcp", port=1, interval_s=10.0, retries=0)
    m = HealthMonitor("d/s/0", check, probe=None, on_change=lambda *_: None)  # type: ignore[arg-type]
    assert m.next_delay() == 1.0 and m.threshold == 1
    m.observe(None, 0.0)
    assert m.next_delay() == 10.0


def test_agent_variables_win_over_the_spec_env() -> None:
    spec = ServiceSpec(
        name="web",
        command=["x"],
        ports=[80, 443],
        env={"PORT": "1", "JACO_NODE": "fake", "KEEP": "me"},
    )
    env = replica_env(
        spec=spec,
        deployment="shop",
        replica_id="shop/web/2",
        ordinal=2,
        revision=7,
        node="n1",
        ports={80: 40001, 443: 40002},
    )
    assert env == {
        "PORT": "40001",
        "JACO_PORT_80": "40001",
        "JACO_PORT_443": "40002",
        "KEEP": "me",
        "JACO_DEPLOYMENT": "shop",
        "JACO_SERVICE": "web",
        "JACO_REPLICA_ID": "shop/web/2",
        "JACO_REPLICA_ORDINAL": "2",
        "JACO_NODE": "n1",
        "JACO_REVISION": "7",
    }


def test_store_keeps_ports_and_counts_per_incarnation(tmp_path: Path) -> None:
    store = AgentStore(tmp_path)
    ports = store.ports("a/b/0", [80, 443])
    assert sorted(ports) == [80, 443] and len(set(ports.values())) == 2
    store.incarnation("a/b/0", 1)
    store.put("a/b/0", restarts=4, streak=2)
    again = AgentStore(tmp_path)
    assert again.ports("a/b/0", [80]) == ports
    assert again.incarnation("a/b/0", 1).restarts == 4
    rec = again.incarnation("a/b/0", 2, restarts_hint=1)  # new revision: counters start over
    assert (rec.restarts, rec.streak, rec.ports) == (1, 0, ports)
    again.forget("a/b/0")
    assert AgentStore(tmp_path).ids() == []


def test_store_survives_a_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / "agent.json").write_text("{not json")
    store = AgentStore(tmp_path)
    assert store.ids() == [] and store.ports("a/b/0", [80])


def test_relevant_events() -> None:
    assign = AssignReplicas(**envelope(), deployment="shop")
    status = NodeStatusUpdate(**envelope(), node_name="n1")
    assert _relevant(Applied(assign, Result(changed=True)))
    assert not _relevant(Applied(assign, Result(changed=False)))
    assert not _relevant(Applied(status, Result(changed=True)))  # our own reports
    assert _relevant(Applied(None, Result(changed=True)))  # restore
    assert _relevant(Resync()) and not _relevant(LeaderChanged("x"))


class FlakyCluster:
    def __init__(self, failures: int) -> None:
        self.failures, self.sent = failures, []  # type: ignore[var-annotated]

    async def propose(self, cmd: NodeStatusUpdate, timeout: float = 10.0) -> None:
        if self.failures:
            self.failures -= 1
            raise Unavailable("the cluster has no leader")
        self.sent.append(cmd)


async def test_reporter_retries_coalesces_and_sends_only_changes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("jacod.agent.report.RETRY_MIN_S", 0.01)
    states = {
        "a": ReplicaStatus(id="a", state=ReplicaState.RUNNING, revision=1),
        "b": ReplicaStatus(id="b", state=ReplicaState.STARTING, revision=1),
    }
    cluster = FlakyCluster(failures=2)
    rep = Reporter(cluster, "n1", lambda: dict(states), interval_s=60, coalesce_s=0.02)  # type: ignore[arg-type]
    task = asyncio.create_task(rep.run())
    try:
        while not cluster.sent:
            await asyncio.sleep(0.01)
        (full,) = cluster.sent
        assert [s.id for s in full.replicas] == ["a", "b"] and full.node_name == "n1"
        assert full.identity == "system" and full.node == "n1" and not full.include_pressure
        states["a"] = ReplicaStatus(id="a", state=ReplicaState.FAILED, revision=1)
        states["b"] = ReplicaStatus(id="b", state=ReplicaState.RUNNING, revision=1)
        rep.changed("a")
        rep.changed("b")
        rep.changed("gone")  # no longer in the snapshot: dropped
        await asyncio.sleep(0.2)
        assert len(cluster.sent) == 2
        assert [(s.id, s.state) for s in cluster.sent[1].replicas] == [
            ("a", "failed"),
            ("b", "running"),
        ]
        await asyncio.sleep(0.1)
        assert len(cluster.sent) == 2  # nothing changed: nothing sent
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
