"""The node agent: runs the replicas raft assigns to this node and reports them.

``Agent.run()`` first waits until this node has caught up with the cluster's
committed state (acting on a half-replayed log would remove replicas that are
still wanted), then converges on every relevant change (debounced) and every
``sync_interval_s``: desired = replicas assigned to ``node_name``; actual =
``runtime.list()``, which also re-adopts replicas that outlived an earlier
jacod. Each replica is driven by its own worker (``replica.py``); replica
states go to raft through the ``Reporter`` (``report.py``). Replicas are
left running when the agent stops: the next jacod adopts them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from jacod.agent.backoff import Backoff
from jacod.agent.replica import Context, Desired, ReplicaWorker, fingerprint
from jacod.agent.report import Reporter
from jacod.agent.store import AgentStore
from jacod.cluster.bus import Applied, Event, Resync, Subscription
from jacod.cluster.cluster import Cluster
from jacod.runtime import ContainerInfo, Runtime, RuntimeUnavailable
from jacod.state import (
    AssignReplicas,
    DeleteDeployment,
    NodeLeave,
    PurgeDeployment,
    ReplicaStatus,
    Result,
    State,
    StopReplicas,
)
from obs.logging import get_logger

log = get_logger("agent")

# Commands after which this node's assignments may differ.
_RELEVANT = (AssignReplicas, DeleteDeployment, StopReplicas, PurgeDeployment, NodeLeave)
CATCH_UP_TIMEOUT_S = 5.0
CATCH_UP_RETRY_S = 1.0
CANCEL_RETRY_S = 0.5


def _relevant(event: Event) -> bool:
    if isinstance(event, Resync):
        return True
    if not isinstance(event, Applied):
        return False
    if not isinstance(event.outcome, Result) or not event.outcome.changed:
        return False
    return event.command is None or isinstance(event.command, _RELEVANT)  # None: a restore


def desired_on(state: State, node: str) -> dict[str, Desired]:
    """The replicas ``node`` must run, with their specs (copied out of the state)."""
    out: dict[str, Desired] = {}
    for r in state.replicas.values():
        if r.node != node:
            continue
        dep = state.deployments.get(r.deployment)
        rev = dep.find_revision(r.revision) if dep is not None else None
        # Specs are frozen and never mutated by apply: safe to keep a reference.
        spec = next((s for s in rev.services if s.name == r.service), None) if rev else None
        reported = ReplicaStatus(
            id=r.id, state=r.state, revision=r.revision, restarts=r.restarts,
            last_error=r.last_error, exit_code=r.exit_code, started_at_ns=r.started_at_ns,
            ports=r.ports,
        )  # fmt: skip
        out[r.id] = Desired(
            id=r.id, deployment=r.deployment, service=r.service, ordinal=r.ordinal,
            revision=r.revision, spec=spec, reported=reported, traceparent=r.traceparent,
            removing=r.removing,
        )  # fmt: skip
    return out


class Agent:
    def __init__(
        self,
        cluster: Cluster,
        runtime: Runtime,
        node_name: str,
        *,
        state_dir: Path,
        report_interval_s: float = 30.0,
        sync_interval_s: float = 1.0,
        debounce_s: float = 0.05,
        coalesce_s: float = 0.1,
        stop_grace_s: float = 10.0,
        backoff: Backoff = Backoff(),  # noqa: B008 - frozen dataclass, shared safely
        discovery: Callable[[str], dict[str, str]] = lambda deployment: {},
    ) -> None:
        self.cluster, self.runtime, self.node_name = cluster, runtime, node_name
        self.store = AgentStore(Path(state_dir))
        self.sync_interval_s, self.debounce_s = sync_interval_s, debounce_s
        # jaco_runtime_container_starts_total: called with the service name on each start.
        self.start_observers: list[Callable[[str], None]] = []
        self.reporter = Reporter(cluster, node_name, self._snapshot,
                                 interval_s=report_interval_s, coalesce_s=coalesce_s)  # fmt: skip
        self._ctx = Context(
            runtime=runtime, store=self.store, node=node_name, backoff=backoff,
            stop_grace_s=stop_grace_s, changed=self.reporter.changed, spawn=self._spawn,
            start_observers=self.start_observers, discovery=discovery,
        )  # fmt: skip
        self._workers: dict[str, ReplicaWorker] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # workers, health checks, reporter
        self._running = False
        self._list_failing = False  # the runtime could not list replicas last time
        self.converged = asyncio.Event()  # set after the first converge pass

    # -- accessors (logs, ingress, metrics) ----------------------------------------

    def ports(self, replica_id: str) -> dict[int, int]:
        """Container port -> host port of a replica on this node ({} if none)."""
        return dict(self.store.get(replica_id).ports)

    def status(self, replica_id: str) -> ReplicaStatus | None:
        return self._snapshot().get(replica_id)

    def statuses(self) -> list[ReplicaStatus]:
        snap = self._snapshot()
        return [snap[k] for k in sorted(snap)]

    def state_counts(self) -> dict[tuple[str, str], int]:
        """(service, state) -> replicas on this node: ``jaco_replica_state{service,state}``."""
        counts: Counter[tuple[str, str]] = Counter()
        for w in self._workers.values():
            if (d := w.desired) is not None:
                acted = w.status.revision == d.revision
                counts[(d.service, str(w.status.state) if acted else "pending")] += 1
        return dict(counts)

    def _snapshot(self) -> dict[str, ReplicaStatus]:
        # Only replicas acted on for their current incarnation: before its first
        # sync a replica is `pending`, which raft already says.
        return {
            rid: w.status
            for rid, w in self._workers.items()
            if w.desired is not None and w.status.revision == w.desired.revision
        }

    # -- the loop ---------------------------------------------------------------------

    async def run(self) -> None:
        """Converge until cancelled; replicas keep running after it returns."""
        sub = self.cluster.bus.subscribe()
        self._running = True
        try:
            await self._loop(sub)
        finally:
            self._running = False
            await self._cancel_tasks()
            self._workers.clear()
            self.cluster.bus.unsubscribe(sub)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        if not self._running:
            coro.close()
            raise RuntimeError("the agent is not running")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("agent task failed", extra={"task": task.get_name(), "error": repr(exc)})

    async def _cancel_tasks(self) -> None:
        # Cancelled again until done: on 3.11 a cancellation racing a result
        # inside asyncio.wait_for (the runtime uses it) can be lost.
        while self._tasks:
            for task in self._tasks:
                task.cancel()
            await asyncio.wait(set(self._tasks), timeout=CANCEL_RETRY_S)

    async def _loop(self, sub: Subscription) -> None:
        await self._catch_up()
        while True:
            try:
                await self.converge()
            except Exception as exc:  # the next pass tries again
                log.error("converge failed", extra={"error": str(exc)})
            if not self.converged.is_set():
                self.converged.set()
                self._spawn(self.reporter.run(), "agent-report")
            await self._next_change(sub)

    async def _catch_up(self) -> None:
        attempts = 0
        while True:
            try:
                await self.cluster.barrier(CATCH_UP_TIMEOUT_S)
                if attempts:
                    log.info("caught up with the cluster; converging replicas")
                return
            except Exception as exc:  # no leader yet: keep every replica as it is
                attempts += 1
                if attempts == 1:
                    log.warning("waiting for the cluster before converging replicas",
                                extra={"error": str(exc)})  # fmt: skip
                await asyncio.sleep(CATCH_UP_RETRY_S)

    async def _next_change(self, sub: Subscription) -> None:
        """Until a relevant change (then a debounce) or ``sync_interval_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.sync_interval_s
        while (remaining := deadline - loop.time()) > 0:
            try:
                # Not wait_for: on 3.11 it can swallow a cancellation that races
                # the result, and the agent would never stop.
                async with asyncio.timeout(remaining):
                    event = await sub.queue.get()
            except TimeoutError:
                return
            if _relevant(event):
                await asyncio.sleep(self.debounce_s)  # let a burst land
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                return

    async def converge(self) -> None:
        """One pass: hand each worker its desired replica and poke those whose container changed."""
        desired = self.cluster.read(lambda s: desired_on(s, self.node_name))
        actual: dict[str, ContainerInfo] | None
        try:
            actual = {i.replica_id: i for i in await self.runtime.list()}
        except Exception as exc:  # desired changes still reach the workers
            if not self._list_failing:
                log.warning("cannot list replicas", extra={"error": str(exc)})
            self._list_failing = True
            actual = None
            if isinstance(exc, RuntimeUnavailable):
                for w in self._workers.values():
                    w.kick()  # each one finds out and reports why (throttled by its backoff)
        else:
            if self._list_failing:
                log.info("replicas listed again")
                self._list_failing = False
                for w in self._workers.values():
                    w.kick(urgent=True)  # recover now, not at the end of a backoff
        for rid in sorted(desired.keys() | (actual or {}).keys() | self._workers.keys()):
            d = desired.get(rid)
            w = self._workers.get(rid)
            if w is None:
                if d is None and (actual is None or rid not in actual):
                    continue
                w = self._workers[rid] = ReplicaWorker(self._ctx, rid)
                self._spawn(self._work(w), f"replica {rid}")
                w.kick(urgent=True)
            w.update(d)
            if actual is not None and fingerprint(actual.get(rid)) != w.seen:
                w.kick()
            if d is not None and w.status.revision == d.revision and w.status != d.reported:
                self.reporter.changed(rid)  # raft missed a report (or never got one)

    async def _work(self, w: ReplicaWorker) -> None:
        try:
            await w.run()
        except Exception as exc:  # the next converge pass starts a fresh worker
            log.error("replica worker failed", extra={"replica_id": w.id, "error": str(exc)})
        finally:
            with contextlib.suppress(KeyError):
                if self._workers[w.id] is w:
                    del self._workers[w.id]
