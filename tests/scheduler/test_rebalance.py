"""Pressure-based rebalancing: the pure decision table-tested on states built
by the FSM (pressure histories → moves), then the loop on a real raft cluster
with node pressure fed from files."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jacod.cluster.cluster import Cluster
from jacod.scheduler.placement import plan as placement_plan
from jacod.scheduler.pressure import PressureSampler
from jacod.scheduler.rebalance import (
    History,
    MoveRecord,
    Point,
    RebalanceConfig,
    Rebalancer,
    assignments_after,
    decide,
    plan,
)
from jacod.state import (
    ApplyDeployment,
    AssignReplicas,
    DeleteDeployment,
    NodeJoin,
    NodeStatusUpdate,
    ReplicaState,
    ReplicaStatus,
    Result,
    State,
    apply,
)
from jacod.state.model import Pressure
from jacod.state.spec import Resources
from tests.agent.conftest import cluster  # noqa: F401 - the in-process raft cluster fixture
from tests.agent.helpers import NODE, svc, until
from tests.state.helpers import bootstrap_cmd, env, join_cmd
from tests.state.helpers import svc as state_svc

S = 1_000_000_000
NOW = 10_000 * S
CFG = RebalanceConfig(threshold=50, window_s=60, target_max=30, max_moves=1, cooldown_s=60,
                      stale_s=180)  # fmt: skip


# -- building states -----------------------------------------------------------------------


def world(n: int = 3, labels: dict[str, dict[str, str]] | None = None) -> State:
    labels = labels or {}
    s = State()
    assert isinstance(apply(s, bootstrap_cmd(labels=labels.get("n1", {}))), Result)
    for i in range(2, n + 1):
        assert isinstance(apply(s, join_cmd(f"n{i}", labels=labels.get(f"n{i}", {}))), Result)
    return s


def deploy(s: State, *services: Any, name: str = "shop", commit: bool = True) -> None:
    assert isinstance(apply(s, ApplyDeployment(**env(), name=name, services=list(services))),
                      Result)  # fmt: skip
    if commit:
        assignments = placement_plan(s, name)
        assert assignments is not None
        assert isinstance(apply(s, AssignReplicas(**env(), deployment=name,
                                                  assignments=assignments)), Result)  # fmt: skip
        report(s)


def report(s: State, **states: ReplicaState) -> None:
    """Every replica running, except those named (replica id → state)."""
    for node in list(s.nodes):
        mine = [r for r in s.replicas.values() if r.node == node]
        statuses = [ReplicaStatus(id=r.id, state=states.get(r.id, ReplicaState.RUNNING),
                                  revision=r.revision) for r in mine]  # fmt: skip
        apply(s, NodeStatusUpdate(**env(node=node), node_name=node, replicas=statuses))


def web(replicas: int = 3, **kw: Any) -> Any:
    return state_svc("web", replicas=replicas, **kw)


def placed(s: State) -> dict[str, str]:
    return {r.id: r.node for r in s.replicas.values()}


# -- histories -------------------------------------------------------------------------------


def series(*points: tuple[float, float], metric: str = "cpu_some_avg10",
           available: bool = True) -> list[Point]:  # fmt: skip
    """(age in s before NOW, value) pairs, oldest first."""
    out = []
    for age, value in points:
        at = NOW - int(age * S)
        figures = {metric: value} if available else {}
        out.append(Point(at, Pressure(available=available, sampled_at_ns=at, **figures)))
    return out


HOT = series((120, 80), (30, 85))
COOL = series((120, 5))


@dataclass
class Case:
    name: str
    points: dict[str, list[Point]]
    moves: list[tuple[str, str, str]]  # (replica, from, to)
    held: dict[str, str] = field(default_factory=dict)  # node -> reason fragment
    setup: Callable[[], State] = lambda: _three_webs()
    cfg: RebalanceConfig = CFG
    past_moves: list[MoveRecord] = field(default_factory=list)


def _three_webs(**states: ReplicaState) -> State:
    s = world(3)
    deploy(s, web(3))  # web/0 on n1, web/1 on n2, web/2 on n3
    if states:
        report(s, **states)
    return s


def _webs_and_apis() -> State:
    s = world(4)
    deploy(s, web(4), state_svc("api", replicas=4))  # one of each per node
    return s


def _zoned() -> State:
    s = world(3, labels={"n1": {"zone": "a"}, "n2": {"zone": "b"}, "n3": {"zone": "b"}})
    deploy(s, web(2, placement={"zone": "b"}))  # web/0 on n2, web/1 on n3
    return s


def _docker_n2() -> State:
    s = _three_webs()
    s.nodes["n2"].runtime = "docker"  # and web has a command, no image
    return s


def _four_webs() -> State:
    s = world(3)
    deploy(s, web(4, resources=Resources(cpu=0.5)))  # web/0 and web/3 on n1
    return s


def _pending() -> State:
    s = _three_webs()
    deploy(s, web(4), commit=False)  # scaled up, placement not committed yet
    return s


def _deleting() -> State:
    s = _three_webs()
    assert isinstance(apply(s, DeleteDeployment(**env(), name="shop")), Result)
    return s


CASES = [
    Case("quiet", {"n1": COOL, "n2": COOL, "n3": COOL}, []),
    Case("hot for the whole window", {"n1": HOT, "n2": COOL, "n3": COOL},
         [("shop/web/0", "n1", "n2")]),
    Case("memory counts too",
         {"n1": series((120, 90), metric="memory_some_avg10"), "n2": COOL, "n3": COOL},
         [("shop/web/0", "n1", "n2")]),
    Case("not for long enough", {"n1": series((200, 5), (30, 90)), "n2": COOL, "n3": COOL}, []),
    Case("history too short", {"n1": series((30, 90)), "n2": COOL, "n3": COOL}, []),
    Case("dipped inside the window",
         {"n1": series((120, 80), (40, 20), (10, 90)), "n2": COOL, "n3": COOL}, []),
    Case("stale figures", {"n1": series((300, 90)), "n2": COOL, "n3": COOL}, []),
    Case("PSI unavailable is never pressure",
         {"n1": series((120, 0), available=False), "n2": COOL, "n3": COOL}, []),
    Case("targets pressured too",
         {"n1": HOT, "n2": series((120, 40)), "n3": series((100, 35))}, [],
         {"n1": "no node fits it below 30% pressure"}),
    Case("targets' pressure unknown", {"n1": HOT}, [], {"n1": "no node fits"}),
    Case("target PSI unavailable",
         {"n1": HOT, "n2": series((120, 0), available=False), "n3": series((999, 1))}, [],
         {"n1": "no node fits"}),
    Case("the coolest target", {"n1": HOT, "n2": series((120, 20)), "n3": series((10, 3))},
         [("shop/web/0", "n1", "n3")]),
    Case("another replica is not running", {"n1": HOT, "n2": COOL, "n3": COOL}, [],
         {"n1": "another replica of shop/web is not running"},
         setup=lambda: _three_webs(**{"shop/web/1": ReplicaState.FAILED})),
    Case("the replica itself is not running", {"n1": HOT, "n2": COOL, "n3": COOL}, [],
         {"n1": "shop/web/0: it is starting"},
         setup=lambda: _three_webs(**{"shop/web/0": ReplicaState.STARTING})),
    Case("placement pending", {"n1": HOT, "n2": COOL, "n3": COOL}, [],
         {"n1": "placement change pending"}, setup=_pending),
    Case("its deployment is being deleted", {"n1": HOT, "n2": COOL, "n3": COOL}, [],
         {"n1": "being deleted"}, setup=_deleting),
    Case("cooling down after a move", {"n1": HOT, "n2": COOL, "n3": COOL}, [],
         {"n1": "cooling down"},
         past_moves=[MoveRecord(NOW - 30 * S, "shop/web/9", "n1", "n2")]),
    Case("cooled down", {"n1": HOT, "n2": COOL, "n3": COOL}, [("shop/web/0", "n1", "n2")],
         past_moves=[MoveRecord(NOW - 61 * S, "shop/web/9", "n1", "n2")]),
    Case("at most N moves: the hottest first",
         {"n1": series((120, 70)), "n2": series((120, 90)), "n3": COOL},
         [("shop/web/1", "n2", "n3")], {"n1": "at most 1 move"}),
    Case("one move per service and per target",
         {"n1": HOT, "n2": HOT, "n3": COOL, "n4": COOL},
         [("shop/api/0", "n1", "n3"), ("shop/web/1", "n2", "n4")], setup=_webs_and_apis,
         cfg=RebalanceConfig(**{**CFG.__dict__, "max_moves": 3})),
    Case("placement labels limit targets",
         {"n1": COOL, "n2": HOT, "n3": COOL}, [("shop/web/0", "n2", "n3")], setup=_zoned),
    Case("a node whose runtime cannot run the service",
         {"n1": HOT, "n2": COOL, "n3": series((120, 20))}, [("shop/web/0", "n1", "n3")],
         setup=_docker_n2),
    Case("no fitting target", {"n1": COOL, "n2": HOT, "n3": HOT}, [],
         {"n2": "no node fits", "n3": "no node fits"}, setup=_zoned,
         cfg=RebalanceConfig(**{**CFG.__dict__, "max_moves": 2})),
    Case("spread: the service crowding the node, to the node with fewest of it",
         {"n1": HOT, "n2": COOL, "n3": series((120, 1))}, [("shop/web/0", "n1", "n3")],
         setup=_four_webs),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_decisions(case: Case) -> None:
    s = case.setup()
    history = History(points=dict(case.points), moves=list(case.past_moves))
    result = plan(history, s, case.cfg, NOW)
    assert [(m.replica_id, m.source, m.target) for m in result.moves] == case.moves
    held = {h.node: h.reason for h in result.held}
    assert sorted(held) == sorted(case.held), held
    for node, fragment in case.held.items():
        assert fragment in held[node], held[node]
    assert decide(history, s, case.cfg, NOW) == result.moves


def test_a_move_says_why_with_its_numbers() -> None:
    s = _three_webs()
    (move,) = decide(History(points={"n1": HOT, "n2": COOL, "n3": COOL}), s, CFG, NOW)
    assert move.reason == ("n1 has been above 50% (cpu_some_avg10) for 120s "
                           "(lowest 80.0%, now 85.0%); n2 is at 5.0%")  # fmt: skip
    assert move.numbers == {
        "score": 85.0, "metric": "cpu_some_avg10", "window_min": 80.0, "threshold": 50,
        "window_s": 60, "above_for_s": 120.0, "target_score": 5.0, "target_max": 30,
    }  # fmt: skip
    assert (move.deployment, move.service, move.ordinal) == ("shop", "web", 0)


def test_assignments_after_moves_one_replica_and_keeps_the_rest() -> None:
    s = _three_webs()
    (move,) = decide(History(points={"n1": HOT, "n2": COOL, "n3": COOL}), s, CFG, NOW)
    assignments = assignments_after(s, move)
    assert assignments is not None
    assert {(a.service, a.ordinal, a.node, a.revision) for a in assignments} == {
        ("web", 0, "n2", 1), ("web", 1, "n2", 1), ("web", 2, "n3", 1),
    }  # fmt: skip
    assert isinstance(apply(s, AssignReplicas(**env(), deployment="shop",
                                              assignments=assignments)), Result)  # fmt: skip
    assert placed(s) == {"shop/web/0": "n2", "shop/web/1": "n2", "shop/web/2": "n3"}
    assert placement_plan(s, "shop") is None  # the reconciler keeps it there
    assert assignments_after(s, move) is None  # already applied: stale


def test_no_move_is_committed_once_its_deployment_is_being_deleted() -> None:
    s = _three_webs()
    (move,) = decide(History(points={"n1": HOT, "n2": COOL, "n3": COOL}), s, CFG, NOW)
    assert isinstance(apply(s, DeleteDeployment(**env(), name="shop")), Result)
    assert assignments_after(s, move) is None


def test_history_keeps_what_decisions_need() -> None:
    s = world(2)
    h = History()
    keep = 200 * S
    for at in (0, 100, 200, 300, 400):
        s.nodes["n1"].pressure = Pressure(cpu_some_avg10=at / 10, sampled_at_ns=NOW + at * S)
        h.observe(s, NOW + at * S, keep)
        h.observe(s, NOW + at * S, keep)  # the same point twice is one point
    assert [p.at_ns for p in h.points["n1"]] == [NOW + t * S for t in (200, 300, 400)]
    assert "n2" not in h.points  # never reported
    del s.nodes["n1"]
    h.observe(s, NOW + 500 * S, keep)
    assert h.points == {}


# -- the loop on a real raft cluster, pressure fed from files ---------------------------------


def psi_dir(d: Path, cpu: float) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    line = f"some avg10={cpu:.2f} avg60=0.00 avg300=0.00 total=1\n"
    for res in ("cpu", "memory", "io"):
        (d / res).write_text(line if res == "cpu" else "some avg10=0.00 avg60=0 avg300=0 total=0\n")
    return d


async def test_rebalancer_moves_a_replica_off_a_pressured_node(
    cluster: Cluster,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def envl(node: str = NODE) -> dict[str, Any]:
        return {"ts_ns": time.time_ns(), "identity": "system", "node": node}

    await cluster.propose(NodeJoin(**envl(), name="b", address="", raft_address="127.0.0.1:9"))
    await cluster.propose(ApplyDeployment(**envl(), name="shop",
                                          services=[svc("sleep 60", replicas=2)]))  # fmt: skip
    assignments = cluster.read(lambda s: placement_plan(s, "shop"))
    assert assignments is not None
    await cluster.propose(AssignReplicas(**envl(), deployment="shop", assignments=assignments))
    where = cluster.read(placed)
    assert sorted(where.values()) == ["b", NODE]
    for node in (NODE, "b"):  # what the agents would report
        mine = [ReplicaStatus(id=r, state=ReplicaState.RUNNING, revision=1)
                for r, n in where.items() if n == node]  # fmt: skip
        await cluster.propose(NodeStatusUpdate(**envl(node), node_name=node, replicas=mine))

    hot = psi_dir(tmp_path / "n1", 90)
    cool = psi_dir(tmp_path / "b", 2)
    samplers = [PressureSampler(cluster, NODE, source=hot),
                PressureSampler(cluster, "b", source=cool)]  # fmt: skip
    cfg = RebalanceConfig(threshold=50, window_s=0.5, interval_s=0.1, cooldown_s=30)
    rb = Rebalancer(cluster, cfg)
    with caplog.at_level(logging.INFO, logger="jaco.scheduler/rebalance"):
        for s in samplers:
            assert await s.tick()
        assert await rb.tick() == []  # not above for the window yet
        await asyncio.sleep(0.6)
        (move,) = await rb.tick()
        assert (move.source, move.target) == (NODE, "b")
        await until(lambda: set(cluster.read(placed).values()) == {"b"}, what="moved to b")
        # Cooling down: the moved replica is not running yet anyway; nothing else moves.
        assert await rb.tick() == []
    msgs = [r for r in caplog.records if r.getMessage() == "moving replica off a pressured node"]
    assert len(msgs) == 1
    assert msgs[0].reason.startswith(f"{NODE} has been above 50%")  # type: ignore[attr-defined]
    assert msgs[0].window_min == 90.0 and msgs[0].target_score == 2.0  # type: ignore[attr-defined]
    r = cluster.read(lambda s: s.replicas[move.replica_id])
    assert (r.node, r.state) == ("b", ReplicaState.PENDING)


async def test_followers_observe_but_never_move(tmp_path: Path) -> None:
    class Follower:
        node_name = "n2"

        def __init__(self, state: State) -> None:
            self.state = state
            self.proposed: list[Any] = []

        def read(self, fn: Callable[[State], Any]) -> Any:
            return fn(self.state)

        def is_leader(self) -> bool:
            return False

        async def propose(self, cmd: Any, timeout: float = 10.0) -> None:
            self.proposed.append(cmd)

    s = _three_webs()
    for name, pts in {"n1": HOT, "n2": COOL, "n3": COOL}.items():
        s.nodes[name].pressure = pts[-1].pressure
    f = Follower(s)
    rb = Rebalancer(f, CFG, clock=lambda: NOW)  # type: ignore[arg-type]
    assert await rb.tick() == [] and f.proposed == []
    assert sorted(rb.history.points) == ["n1", "n2", "n3"]
