"""Carrying a deletion through: which replicas to stop, when it is over (the
dead-node rule), and the leader's loop proposing both on real raft."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest

from jacod.cluster.cluster import Cluster
from jacod.scheduler import deletion
from jacod.scheduler.placement import plan
from jacod.scheduler.reconcile import Scheduler
from jacod.state import (
    AssignReplicas,
    DeleteDeployment,
    NodeJoin,
    NodeStatusUpdate,
    ReplicaAssignment,
    ReplicaState,
    ReplicaStatus,
    ReplicaStop,
    Result,
    State,
    StopReplicas,
    apply,
)
from tests.agent.conftest import cluster  # noqa: F401 - the in-process raft cluster fixture
from tests.agent.helpers import NODE, deploy, envelope, svc, until
from tests.state.helpers import T0, env, world

S = 1_000_000_000
WEB = ["web/api/0", "web/worker/0", "web/worker/1"]  # on n1, n1, n2


def must(state: State, cmd: object) -> None:
    assert isinstance(apply(state, cmd), Result)  # type: ignore[arg-type]


def report(state: State, node: str, at_ns: int, *stopped: str) -> None:
    """A status from ``node`` at ``at_ns``: ``stopped`` replicas stopped and removed."""
    statuses = [ReplicaStatus(id=i, state=ReplicaState.STOPPED, revision=2) for i in stopped]
    must(state, NodeStatusUpdate(**env(ts_ns=at_ns, node=node), node_name=node, replicas=statuses))


def deleting(mark: bool = True) -> State:
    s = world()  # n1 and n2 joined at T0, never reported
    report(s, "n1", T0 + 10 * S)
    report(s, "n2", T0 + 10 * S)
    must(s, DeleteDeployment(**env(ts_ns=T0 + 20 * S), name="web"))
    if mark:
        stops = [ReplicaStop(id=i) for i in WEB]
        must(s, StopReplicas(**env(identity="system"), deployment="web", replicas=stops))
    return s


# -- the pure rule ---------------------------------------------------------------------------


def test_to_stop_lists_the_replicas_not_asked_yet_per_service() -> None:
    s = deleting(mark=False)
    assert deletion.to_stop(s, "web") == {"api": ["web/api/0"], "worker": WEB[1:]}
    must(s, StopReplicas(**env(), deployment="web", replicas=[ReplicaStop(id="web/worker/1")]))
    assert deletion.to_stop(s, "web") == {"api": ["web/api/0"], "worker": ["web/worker/0"]}
    assert deletion.to_stop(world(), "web") == {}  # not being deleted
    assert deletion.to_stop(s, "nope") == {}


def test_a_deployment_being_deleted_gets_no_placement() -> None:
    s = deleting(mark=False)
    del s.replicas["web/api/0"]  # as if its node had left: a placement would re-create it
    assert plan(s, "web") is None


LIVE = T0 + 30 * S  # both nodes reported 20 s ago


@pytest.mark.parametrize(
    ("setup", "now_ns", "held"),
    [
        pytest.param(lambda s: None, LIVE, WEB, id="nothing-stopped-yet"),
        pytest.param(lambda s: report(s, "n1", LIVE, *WEB[:2]), LIVE, WEB[2:], id="n1-done"),
        pytest.param(
            lambda s: (report(s, "n1", LIVE, *WEB[:2]), report(s, "n2", LIVE, WEB[2])),
            LIVE,
            [],
            id="all-stopped",
        ),
        pytest.param(lambda s: None, T0 + 10 * S + 89 * S, WEB, id="silent-89s-still-waited-for"),
        pytest.param(lambda s: None, T0 + 10 * S + 90 * S, [], id="both-silent-90s"),
        pytest.param(
            lambda s: report(s, "n1", T0 + 95 * S, *WEB[:2]),
            T0 + 100 * S,
            [],
            id="n1-done-n2-silent",
        ),
        pytest.param(
            lambda s: report(s, "n2", T0 + 95 * S), T0 + 100 * S, WEB[2:], id="n2-alive-busy"
        ),
    ],
)
def test_what_holds_a_deletion(
    setup: Callable[[State], object], now_ns: int, held: list[str]
) -> None:
    s = deleting()
    setup(s)
    assert deletion.holding(s, "web", now_ns) == held


def test_a_stopped_report_before_the_request_does_not_count() -> None:
    s = deleting(mark=False)
    report(s, "n1", LIVE, *WEB[:2])
    assert deletion.holding(s, "web", LIVE) == WEB


def test_a_node_that_never_reported_counts_from_its_join() -> None:
    s = world()  # joined at T0, no report
    must(s, DeleteDeployment(**env(), name="web"))
    assert deletion.holding(s, "web", T0 + 89 * S) == WEB
    assert deletion.holding(s, "web", T0 + 90 * S) == []
    assert deletion.abandoned(s, "web", T0 + 90 * S) == WEB


def test_holding_is_none_unless_deleting() -> None:
    assert deletion.holding(world(), "web", LIVE) is None
    assert deletion.holding(world(), "nope", LIVE) is None


# -- the leader's loop on real raft --------------------------------------------------------


@pytest.fixture
async def scheduler(cluster: Cluster) -> AsyncIterator[Scheduler]:  # noqa: F811
    sched = Scheduler(cluster, interval=0.2)
    task = asyncio.create_task(sched.run())
    try:
        yield sched
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def replicas(c: Cluster, dep: str = "shop") -> dict[str, tuple[bool, str]]:
    return c.read(
        lambda s: {r.id: (r.removing, r.state.value) for r in s.replicas.values()
                   if r.deployment == dep}
    )  # fmt: skip


async def test_the_loop_asks_for_stops_then_drops_the_deployment_once_reported(
    cluster: Cluster,  # noqa: F811
    scheduler: Scheduler,
) -> None:
    await deploy(cluster, svc(["sleep", "1"], replicas=2))
    await cluster.propose(DeleteDeployment(**envelope(), name="shop"))
    await until(lambda: replicas(cluster) == {"shop/web/0": (True, "pending"),
                                              "shop/web/1": (True, "pending")})  # fmt: skip
    assert cluster.read(lambda s: s.deployments["shop"].deleting)
    stopped = [ReplicaStatus(id="shop/web/0", state=ReplicaState.STOPPED, revision=1)]
    await cluster.propose(NodeStatusUpdate(**envelope(), node_name=NODE, replicas=stopped))
    await until(lambda: replicas(cluster)["shop/web/0"] == (True, "stopped"))
    assert cluster.read(lambda s: "shop" in s.deployments)  # one still stopping
    stopped = [ReplicaStatus(id="shop/web/1", state=ReplicaState.STOPPED, revision=1)]
    await cluster.propose(NodeStatusUpdate(**envelope(), node_name=NODE, replicas=stopped))
    await until(lambda: cluster.read(lambda s: "shop" not in s.deployments))
    assert replicas(cluster) == {}
    # Audited once: the delete. The stops and the drop are the scheduler's own.
    assert cluster.read(lambda s: [e.type.value for e in s.audit if e.deployment == "shop"]) == [
        "apply", "delete"]  # fmt: skip


async def test_a_replica_on_a_silent_node_does_not_hold_the_deletion(
    cluster: Cluster,  # noqa: F811
) -> None:
    # n2 joined long ago and never reported since: down.
    long_ago = time.time_ns() - 200 * S
    join = NodeJoin(**{**envelope(), "ts_ns": long_ago}, name="n2", address="", raft_address="x:1")
    await cluster.propose(join)
    await deploy(cluster, svc(["sleep", "1"], replicas=1))
    await cluster.propose(AssignReplicas(**envelope(), deployment="shop", assignments=[
        ReplicaAssignment(service="web", ordinal=0, revision=1, node=NODE),
        ReplicaAssignment(service="web", ordinal=1, revision=1, node="n2")]))  # fmt: skip
    await cluster.propose(NodeStatusUpdate(**envelope(), node_name=NODE))  # n1 is alive
    await cluster.propose(DeleteDeployment(**envelope(), name="shop"))
    sched = Scheduler(cluster)
    assert await sched.delete("shop")  # asks both to stop; n1's still holds it
    assert cluster.read(lambda s: "shop" in s.deployments)
    stopped = [ReplicaStatus(id="shop/web/0", state=ReplicaState.STOPPED, revision=1)]
    await cluster.propose(NodeStatusUpdate(**envelope(), node_name=NODE, replicas=stopped))
    assert await sched.delete("shop")  # n2 silent for 200 s: given up on
    assert cluster.read(lambda s: "shop" not in s.deployments and not s.replicas)


async def test_a_replica_on_a_live_node_holds_the_deletion(
    cluster: Cluster,  # noqa: F811
) -> None:
    await deploy(cluster, svc(["sleep", "1"], replicas=1))
    await cluster.propose(NodeStatusUpdate(**envelope(), node_name=NODE))
    await cluster.propose(DeleteDeployment(**envelope(), name="shop"))
    sched = Scheduler(cluster)
    assert await sched.delete("shop")
    assert await sched.delete("shop") is False  # asked already, and still running
    assert replicas(cluster) == {"shop/web/0": (True, "pending")}
