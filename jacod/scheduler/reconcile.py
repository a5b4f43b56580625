"""The leader's reconcile loop: keep every deployment's placement committed,
and carry deletions through (``deletion.py``).

Runs on every node, acts only while this node is the leader. Woken by applied
changes (a debounce lets a burst land first) and every ``interval`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import msgspec

from jacod.cluster.bus import Applied, Event
from jacod.cluster.cluster import Cluster
from jacod.cluster.raft import deployment_of
from jacod.errors import JacoError
from jacod.scheduler import deletion, placement
from jacod.state import (
    AssignReplicas,
    Command,
    PurgeDeployment,
    ReplicaAssignment,
    ReplicaStop,
    StopReplicas,
)
from obs import telemetry
from obs.logging import get_logger
from obs.telemetry import names

log = get_logger("scheduler")

DEBOUNCE_S = 0.02


class Scheduler:
    def __init__(
        self,
        cluster: Cluster,
        interval: float = 5.0,
        abandon_after_s: float = deletion.ABANDON_AFTER_S,
    ):
        self._cluster = cluster
        self._interval = interval
        # A deletion stops waiting for a replica whose node was silent this long.
        self._abandon_after_s = abandon_after_s
        # Observers for the metrics issue: seconds from a change's commit
        # (its proposer's timestamp) to the end of the reconcile it caused.
        self.lag_observers: list[Callable[[float], None]] = []

    async def run(self) -> None:
        sub = self._cluster.bus.subscribe()
        try:
            while True:
                events: list[Event] = []
                with contextlib.suppress(TimeoutError):
                    events.append(await asyncio.wait_for(sub.queue.get(), self._interval))
                    await asyncio.sleep(DEBOUNCE_S)
                    while not sub.queue.empty():
                        events.append(sub.queue.get_nowait())
                causes = [e for e in events if not (isinstance(e, Applied) and _own(e.command))]
                if (events and not causes) or not self._cluster.is_leader():
                    continue  # only its own commands: nothing new to do
                cause = next((e.command for e in causes if isinstance(e, Applied)), None)
                await self.reconcile_all(cause, _traces(causes))
        finally:
            self._cluster.bus.unsubscribe(sub)

    async def reconcile_all(
        self, cause: Command | None = None, traces: dict[str, str] | None = None
    ) -> None:
        deployments = self._cluster.read(
            lambda s: sorted((d.name, d.deleting) for d in s.deployments.values())
        )
        for name, deleting in deployments:
            try:
                # Continues the trace of the change to this deployment (if traced).
                with telemetry.use_context((traces or {}).get(name, "")):
                    await (self.delete(name) if deleting else self.reconcile(name))
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

    async def delete(self, deployment: str) -> bool:
        """Carry a deletion on: ask for the replicas not yet asked to stop, and drop
        the deployment once none holds it; True if anything was committed."""
        t0 = time.time_ns()
        stops = self._cluster.read(lambda s: deletion.to_stop(s, deployment))
        # As for a placement: one scheduler.reconcile.<service> span per service,
        # whose traceparent each stop carries to the node's runtime.<op> spans.
        for svc, ids in sorted(stops.items()):
            sp = telemetry.span(
                names.reconcile_span(svc), only_in_trace=True, deployment=deployment, service=svc
            ).start(t0)
            try:
                replicas = [ReplicaStop(id=rid, traceparent=sp.traceparent) for rid in ids]
                await self._cluster.propose(
                    StopReplicas(**self._envelope(), deployment=deployment, replicas=replicas)
                )
            finally:
                sp.end()
            log.info("replicas asked to stop", extra={"deployment": deployment, "service": svc,
                     "replicas": len(ids)})  # fmt: skip
        now = time.time_ns()
        holding, given_up = self._cluster.read(
            lambda s: (
                deletion.holding(s, deployment, now, self._abandon_after_s),
                deletion.abandoned(s, deployment, now, self._abandon_after_s),
            )
        )
        if holding != []:
            return bool(stops)
        if given_up:
            log.warning("deletion gives up on replicas of silent nodes",
                        extra={"deployment": deployment, "replicas": ",".join(given_up),
                               "silent_for_s": self._abandon_after_s})  # fmt: skip
        await self._cluster.propose(PurgeDeployment(**self._envelope(), deployment=deployment))
        log.info("deployment deleted", extra={"deployment": deployment})
        return True

    def _envelope(self) -> dict[str, Any]:
        return {"ts_ns": time.time_ns(), "identity": "system", "node": self._cluster.node_name}

    async def _propose(self, deployment: str, assignments: list[ReplicaAssignment]) -> None:
        await self._cluster.propose(
            AssignReplicas(**self._envelope(), deployment=deployment, assignments=assignments)
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


def _own(cmd: Command | None) -> bool:
    """One of the scheduler's own commands: applying it gives it nothing new to do."""
    return isinstance(cmd, AssignReplicas | StopReplicas | PurgeDeployment)


def _traces(events: list[Event]) -> dict[str, str]:
    """Deployment -> the raft.apply traceparent of the first traced change to it in
    a burst: the reconcile of each deployment joins the trace of its own change."""
    out: dict[str, str] = {}
    for e in events:
        if isinstance(e, Applied) and e.command is not None and e.traceparent:
            if name := deployment_of(e.command):
                out.setdefault(name, e.traceparent)
    return out
