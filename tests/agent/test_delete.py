"""Deleting a deployment on a node: replicas marked for removal are stopped,
removed and reported `stopped`, under the trace of the reconcile that asked."""

from __future__ import annotations

import asyncio

from jacod.cluster.cluster import Cluster
from jacod.scheduler.reconcile import Scheduler
from jacod.state import DeleteDeployment, ReplicaState
from obs import telemetry
from obs.telemetry import names
from tests.helpers.otlp import OtlpReceiver
from tests.telemetry.conftest import flush, otlp, telemetry_on  # noqa: F401 - fixtures

from .conftest import Agents
from .helpers import (
    DEP,
    Reports,
    alive,
    delete,
    deploy,
    envelope,
    purge,
    replica,
    svc,
    until,
    until_state,
)

IDS = [f"{DEP}/web/0", f"{DEP}/web/1"]


async def running(cluster: Cluster, agents: Agents, **kw: object) -> tuple[object, dict[str, int]]:
    agent = await agents.start()
    await deploy(cluster, svc(["sleep", "30"], replicas=2, ports=[80], **kw))  # type: ignore[arg-type]
    for rid in IDS:
        await until_state(cluster, rid, "running")
    return agent, {i.replica_id: i.pid or 0 for i in await agent.runtime.list()}


async def test_replicas_run_on_until_the_leader_asks_for_them_to_stop(
    cluster: Cluster, agents: Agents
) -> None:
    agent, pids = await running(cluster, agents)
    await cluster.propose(DeleteDeployment(**envelope(), name=DEP))  # the tombstone only
    await agent.converge()  # type: ignore[attr-defined]
    assert sorted(i.replica_id for i in await agent.runtime.list()) == IDS  # type: ignore[attr-defined]
    assert all(alive(pid) for pid in pids.values())
    assert all(replica(cluster, rid).state == "running" for rid in IDS)  # type: ignore[union-attr]


async def test_a_replica_marked_for_removal_is_stopped_removed_and_reported(
    cluster: Cluster, agents: Agents
) -> None:
    agent, pids = await running(cluster, agents)
    reports = Reports(cluster)
    await delete(cluster)
    for rid in IDS:
        r = await until_state(cluster, rid, "stopped")
        assert r.removing and r.ports == ()
        # Reported only once its process is gone and its container removed.
        assert not alive(pids[rid])
    assert await agent.runtime.list() == []  # type: ignore[attr-defined]
    assert agent.store.ids() == []  # type: ignore[attr-defined]
    for rid in IDS:
        (last, *_) = reversed(reports.of(rid))
        assert (last.state, last.revision) == (ReplicaState.STOPPED, 1)
    await purge(cluster)
    await until(lambda: agent.statuses() == [])  # type: ignore[attr-defined]


async def test_a_replica_in_restart_backoff_is_removed_at_once(
    cluster: Cluster, agents: Agents
) -> None:
    agent = await agents.start()
    await deploy(cluster, svc("exit 3", replicas=1, restart="always"))
    await until_state(cluster, f"{DEP}/web/0", "failed")
    await delete(cluster)
    await until_state(cluster, f"{DEP}/web/0", "stopped")
    assert await agent.runtime.list() == []  # type: ignore[attr-defined]
    await purge(cluster)


async def test_the_stop_and_remove_join_the_trace_of_the_reconcile_that_asked(
    cluster: Cluster,
    agents: Agents,
    telemetry_on: OtlpReceiver,  # noqa: F811 - the imported fixture
) -> None:
    agent, _ = await running(cluster, agents)
    agent.runtime.observe = telemetry.runtime_span  # type: ignore[attr-defined] # as jacod wires it
    await cluster.propose(DeleteDeployment(**envelope(), name=DEP))
    with telemetry.span("test.delete") as root:  # stands for cli.delete … raft.apply
        await Scheduler(cluster).delete(DEP)
    for rid in IDS:
        await until_state(cluster, rid, "stopped")
    flush()
    spans = await asyncio.to_thread(
        telemetry_on.wait_for_spans, {"runtime.container_stop", "runtime.container_remove"}
    )
    (reconcile,) = [s for s in spans if s.name == names.reconcile_span("web")]
    assert reconcile.traceparent.split("-")[1] == root.traceparent.split("-")[1]
    assert reconcile.parent_span_id == root.traceparent.split("-")[2]
    # Each replica carries the reconcile span as its traceparent (trace id, span id).
    carried = {tuple(r.traceparent.split("-")[1:3]) for rid in IDS if (r := replica(cluster, rid))}
    assert carried == {(reconcile.trace_id, reconcile.span_id)}
    ops = [s for s in spans if s.name.startswith("runtime.")]
    assert {(s.name, s.attributes[names.REPLICA_ID]) for s in ops} >= {
        (f"runtime.container_{op}", rid) for op in ("stop", "remove") for rid in IDS
    }
    assert all(s.parent_span_id == reconcile.span_id for s in ops), ops
    assert all(s.trace_id == reconcile.trace_id for s in ops)
