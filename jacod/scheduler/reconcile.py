"""The leader's reconcile loop: keep every deployment's placement committed.

Runs on every node, acts only while this node is the leader. Woken by applied
changes (a debounce lets a burst land first) and every ``interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import msgspec

from jacod.cluster.bus import Applied
from jacod.cluster.cluster import Cluster
from jacod.errors import JacoError
from jacod.scheduler import placement
from jacod.state import AssignReplicas, Command, ReplicaAssignment
from obs import telemetry
from obs.logging import get_logger
from obs.telemetry import names

log = get_logger("scheduler")

DEBOUNCE_S = 0.02


class Scheduler:
    def __init__(self, cluster: Cluster, interval: float = 5.0):
        self._cluster = cluster
        self._interval = interval
        # Observers for the metrics issue: seconds from a change's commit
        # (its proposer's timestamp) to the end of the reconcile it caused.
        self.lag_observers: list[Callable[[float], None]] = []

    async def run(self) -> None:
        sub = self._cluster.bus.subscribe()
        try:
            while True:
                cause: Command | None = None
                cause_tp = ""
                with contextlib.suppress(TimeoutError):
                    event = await asyncio.wait_for(sub.queue.get(), self._interval)
                    if isinstance(event, Applied):
                        cause, cause_tp = event.command, event.traceparent
                    await asyncio.sleep(DEBOUNCE_S)
                    while not sub.queue.empty():
                        sub.queue.get_nowait()
                if isinstance(cause, AssignReplicas) or not self._cluster.is_leader():
                    continue
                # The reconcile continues the trace of the change that caused it.
                with telemetry.use_context(cause_tp):
                    await self.reconcile_all(cause)
        finally:
            self._cluster.bus.unsubscribe(sub)

    async def reconcile_all(self, cause: Command | None = None) -> None:
        for name in self._cluster.read(lambda s: sorted(s.deployments)):
            try:
                await self.reconcile(name)
            except JacoError as exc:
                log.warning("reconcile failed", extra={"deployment": name, "error": str(exc)})
        if cause is not None:
            lag = time.time() - cause.ts_ns / 1e9
            for observe in self.lag_observers:
                observe(max(lag, 0.0))

    async def reconcile(self, deployment: str) -> bool:
        """Commit the deployment's placement if it changed; True if it did."""
        t0 = time.time_ns()
        assignments = self._cluster.read(lambda s: placement.plan(s, deployment))
        if assignments is None:
            return False
        # One scheduler.reconcile.<service> span per service whose placement
        # changed; each assignment carries its span so the agents' runtime.<op>
        # spans become its children.
        spans = {
            svc: telemetry.span(
                names.reconcile_span(svc), only_in_trace=True, deployment=deployment, service=svc
            ).start(t0)
            for svc in sorted({a.service for a in assignments})
        }
        assignments = [
            msgspec.structs.replace(a, traceparent=spans[a.service].traceparent)
            for a in assignments
        ]
        try:
            await self._propose(deployment, assignments)
        finally:
            for sp in spans.values():
                sp.end()
        return True

    async def _propose(self, deployment: str, assignments: list[ReplicaAssignment]) -> None:
        await self._cluster.propose(
            AssignReplicas(
                ts_ns=time.time_ns(),
                identity="system",
                node=self._cluster.node_name,
                deployment=deployment,
                assignments=assignments,
            )
        )
        placed: dict[str, int] = {}
        for a in assignments:
            placed[a.node] = placed.get(a.node, 0) + 1
        log.info(
            "placement committed",
            extra={
                "deployment": deployment,
                "replicas": len(assignments),
                "nodes": ",".join(f"{n}={c}" for n, c in sorted(placed.items())),
            },
        )
