"""One replica on this node, driven towards what raft wants by its own task.

A worker owns every runtime operation on its replica, one at a time, so a
slow stop or a backoff wait of one replica never delays another. Each sync
reads the container afresh (``inspect``) and takes the next step:

- not wanted here any more → stop (grace) and remove, then the worker ends;
- marked for removal (its deployment is being deleted) → stop and remove under
  the trace of the reconcile that asked, then report ``stopped``; the worker
  ends once the deployment is dropped;
- missing or another revision → pull, stop the old one, create, start;
- created → start;  running → health checks (or ``running`` at once);
- exited → the restart policy, with exponential backoff per replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace

from jacod.agent import env
from jacod.agent.backoff import Backoff, describe_exit, exit_code_of, ran_for_s, should_restart
from jacod.agent.health import HealthMonitor, make_probe
from jacod.agent.store import AgentStore
from jacod.runtime import (
    ContainerInfo,
    ContainerNotFound,
    ReplicaSpec,
    Runtime,
    RuntimeUnavailable,
    StartFailed,
)
from jacod.state import ReplicaState, ReplicaStatus, ServiceSpec
from obs import telemetry
from obs.logging import get_logger

log = get_logger("agent")

Fingerprint = tuple[str, int, int | None, int, int | None] | None


@dataclass(frozen=True)
class Desired:
    """A replica raft assigns to this node, with its revision's spec (None: pruned)."""

    id: str
    deployment: str
    service: str
    ordinal: int
    revision: int
    spec: ServiceSpec | None
    reported: ReplicaStatus  # what raft holds about this incarnation
    traceparent: str = ""  # the reconcile that placed this incarnation (or asked to remove it)
    removing: bool = False  # its deployment is being deleted: stop and remove it


@dataclass
class Context:
    runtime: Runtime
    store: AgentStore
    node: str
    backoff: Backoff
    stop_grace_s: float
    changed: Callable[[str], None]
    spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]
    start_observers: list[Callable[[str], None]]
    discovery: Callable[[str], dict[str, str]]  # deployment -> discovery variables


def fingerprint(info: ContainerInfo | None) -> Fingerprint:
    if info is None:
        return None
    return (info.status, info.revision, info.pid, info.started_at_ns, info.exit_code)


def _target(d: Desired) -> tuple[int, ServiceSpec | None, bool]:
    return d.revision, d.spec, d.removing


class ReplicaWorker:
    def __init__(self, ctx: Context, replica_id: str) -> None:
        self.id, self.ctx = replica_id, ctx
        self.desired: Desired | None = None
        self.status = ReplicaStatus(id=replica_id, state=ReplicaState.PENDING)
        self.seen: Fingerprint = None  # the container as of the last sync
        self._wake = asyncio.Event()
        self._due: float | None = None  # loop time of a scheduled sync
        self._hold_until = 0.0  # after a failed action: ignore routine kicks until then
        self._errors = 0
        self._health: asyncio.Task[None] | None = None
        self._health_run: tuple[int | None, int] | None = None
        self._adopting = True  # the first sync finds what an earlier jacod left
        self._exit_noted: tuple[int, int] | None = None  # (started_at_ns, first seen ns)

    # -- driven by the agent ---------------------------------------------------

    def update(self, desired: Desired | None) -> None:
        old, self.desired = self.desired, desired
        if old is None and desired is None:
            return
        if old is None or desired is None or _target(old) != _target(desired):
            self.kick(urgent=True)

    def kick(self, urgent: bool = False) -> None:
        if urgent or asyncio.get_running_loop().time() >= self._hold_until:
            self._wake.set()

    async def run(self) -> None:
        """Until the replica is gone from this node; a failed step is retried with backoff."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._wake.clear()
                self._due = None
                try:
                    if await self._sync() and self.desired is None:
                        return
                    self._errors, self._hold_until = 0, 0.0
                except Exception as exc:  # one replica's trouble must not end the agent
                    self._failed(exc, loop.time())
                timeout = None if self._due is None else max(self._due - loop.time(), 0.0)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):  # not wait_for: see agent.py
                        await self._wake.wait()
        finally:
            self._stop_health()

    def _failed(self, exc: Exception, now: float) -> None:
        self._errors += 1
        delay = self.ctx.backoff.delay(self._errors - 1)
        extra = {"replica_id": self.id, "error": str(exc), "retry_in_s": delay}
        log.warning("replica action failed; retrying", extra=extra)
        if isinstance(exc, RuntimeUnavailable):
            self._stop_health()  # its checks restart (and report) once the runtime is back
        if self.desired is not None:
            self._set(state=ReplicaState.FAILED, last_error=f"{exc}; retrying in {delay:g}s")
        self._due = self._hold_until = now + delay

    # -- one step --------------------------------------------------------------

    async def _sync(self) -> bool:
        """Take the next step; True once the replica is torn down."""
        d = self.desired
        info = await self.ctx.runtime.inspect(self.id)
        self.seen = fingerprint(info)
        if d is None:
            await self._teardown(info)
            return True
        if d.removing:
            await self._remove(d, info)
            return True
        # A new incarnation's runtime.<op> spans join the trace of the
        # scheduler.reconcile that placed it (no-op when telemetry is off).
        fresh = self.status.revision != d.revision
        with telemetry.use_context(d.traceparent if fresh else ""):
            return await self._step(d, info)

    async def _step(self, d: Desired, info: ContainerInfo | None) -> bool:
        self._incarnation(d)
        adopting, self._adopting = self._adopting, False
        if d.spec is None:
            why = f"revision {d.revision} of {d.deployment} is no longer kept; cannot run it"
            self._set(state=ReplicaState.FAILED, last_error=why)
        elif info is None or info.revision != d.revision:
            await self._deploy(d, d.spec, info)
        elif info.status == "created":
            await self._start(d, d.spec)
        elif info.status == "running":
            if adopting:
                extra = {"replica_id": self.id, "revision": d.revision, "pid": info.pid}
                log.info("adopted running replica", extra=extra)
            self._running(d, d.spec, info, adopting)
        else:
            await self._exited(d, d.spec, info)
        return False

    def _incarnation(self, d: Desired) -> None:
        if self.status.revision == d.revision:
            return
        rec = self.ctx.store.incarnation(self.id, d.revision, d.reported.restarts)
        # Start from raft's view of this incarnation (`pending` when it is new):
        # after a jacod restart an adopted replica is not re-reported needlessly.
        self.status = replace(d.reported, restarts=rec.restarts)
        self._stop_health()
        if rec.restarts != d.reported.restarts:
            self.ctx.changed(self.id)

    def _spec(self, d: Desired, spec: ServiceSpec) -> ReplicaSpec:
        return env.replica_spec(
            spec=spec, deployment=d.deployment, replica_id=d.id, ordinal=d.ordinal,
            revision=d.revision, node=self.ctx.node, ports=self.ctx.store.ports(d.id, spec.ports),
            discovery=self.ctx.discovery(d.deployment),
        )  # fmt: skip

    async def _deploy(self, d: Desired, spec: ServiceSpec, info: ContainerInfo | None) -> None:
        rt = self.ctx.runtime
        self._stop_health()
        replica = self._spec(d, spec)
        self._set(state=ReplicaState.PULLING)
        await rt.pull(replica)
        if info is not None and info.status == "running":
            log.info("replacing replica", extra={"replica_id": self.id,
                     "old_revision": info.revision, "revision": d.revision})  # fmt: skip
            await rt.stop(self.id, self.ctx.stop_grace_s)
        await rt.create(replica)
        await self._start(d, spec)

    async def _start(self, d: Desired, spec: ServiceSpec) -> None:
        self._set(state=ReplicaState.STARTING)
        try:
            info = await self.ctx.runtime.start(self.id)
        except StartFailed:
            after = await self.ctx.runtime.inspect(self.id)
            if after is None or after.status != "exited":
                raise
            self._wake.set()  # an exit like any other: the next sync applies the policy
            return
        self.seen = fingerprint(info)
        for observe in self.ctx.start_observers:
            try:
                observe(d.service)
            except Exception as exc:  # a metrics hook must not break a start
                log.warning("start observer failed", extra={"error": str(exc)})
        if info.status == "running":
            self._running(d, spec, info, adopted=False)
        else:
            self._wake.set()  # already gone: the next sync applies the policy

    def _running(self, d: Desired, spec: ServiceSpec, info: ContainerInfo, adopted: bool) -> None:
        check, run = spec.health, (info.pid, info.started_at_ns)
        if check is None:
            self._stop_health()
            self._set(state=ReplicaState.RUNNING, started_at_ns=info.started_at_ns,
                      ports=self._ports(d, spec))  # fmt: skip
            return
        if self._health is not None and self._health_run == run:
            return
        self._stop_health()
        initial = ReplicaState.STARTING
        r = d.reported
        if adopted and r.started_at_ns == info.started_at_ns and r.state in (
            ReplicaState.RUNNING, ReplicaState.UNHEALTHY,
        ):  # fmt: skip
            initial = r.state  # adopted: no flap back to starting
        ports = self.ctx.store.ports(d.id, spec.ports)
        probe = make_probe(check, ports, self._spec(d, spec).env, spec.workdir)
        monitor = HealthMonitor(self.id, check, probe, self._on_health, initial=initial)
        self._health = self.ctx.spawn(self._monitor(monitor), f"health {self.id}")
        self._health_run = run
        self._set(state=initial, started_at_ns=info.started_at_ns, ports=self._ports(d, spec))

    def _ports(self, d: Desired, spec: ServiceSpec) -> tuple[tuple[int, int], ...]:
        """Where this incarnation's declared ports are reachable on this node."""
        host = self.ctx.store.ports(d.id, spec.ports)
        return tuple(sorted((p, host[p]) for p in spec.ports))

    async def _monitor(self, monitor: HealthMonitor) -> None:
        try:
            await monitor.run()
        except Exception as exc:  # checks stop; the replica keeps its last state
            log.error("health checks stopped", extra={"replica_id": self.id, "error": str(exc)})

    def _on_health(self, state: ReplicaState, reason: str) -> None:
        if self.desired is None or self._health is None:
            return
        if state == ReplicaState.UNHEALTHY:
            self._set(state=state, last_error=f"health check failed: {reason}")
        else:
            self._set(state=state)

    async def _exited(self, d: Desired, spec: ServiceSpec, info: ContainerInfo) -> None:
        self._stop_health()
        code, why = exit_code_of(info), describe_exit(info)
        base = {"exit_code": code, "started_at_ns": info.started_at_ns}
        first = self._note_exit(info)
        if not should_restart(spec.restart, code):
            if code == 0:
                self._set(state=ReplicaState.EXITED, **base)
            else:
                self._set(state=ReplicaState.FAILED, last_error=why, **base)
            if first[0]:
                log.info("replica exited; not restarting", extra={"replica_id": self.id,
                         "exit_code": code, "restart": spec.restart, "reason": why})  # fmt: skip
            return
        backoff = self.ctx.backoff
        rec = self.ctx.store.get(self.id)
        streak = backoff.streak_after(rec.streak, ran_for_s(info))
        delay = backoff.delay(streak)
        finished_ns = info.finished_at_ns or first[1]
        wait_s = finished_ns / 1e9 + delay - time.time()
        if wait_s > 0:
            self._set(state=ReplicaState.FAILED, last_error=f"{why}; restarting in {delay:g}s",
                      **base)  # fmt: skip
            if first[0]:
                log.info("replica exited; restarting after backoff", extra={"replica_id": self.id,
                         "exit_code": code, "reason": why, "delay_s": delay})  # fmt: skip
            self._due = asyncio.get_running_loop().time() + wait_s
            return
        rec = self.ctx.store.put(self.id, restarts=rec.restarts + 1, streak=streak + 1)
        self._set(restarts=rec.restarts, last_error=why, **base)
        log.info("restarting replica", extra={"replica_id": self.id, "restarts": rec.restarts})
        await self._start(d, spec)

    def _note_exit(self, info: ContainerInfo) -> tuple[bool, int]:
        """(first time this exit is seen, when it was first seen in ns)."""
        if self._exit_noted is not None and self._exit_noted[0] == info.started_at_ns:
            return False, self._exit_noted[1]
        self._exit_noted = (info.started_at_ns, time.time_ns())
        return True, self._exit_noted[1]

    async def _teardown(self, info: ContainerInfo | None) -> None:
        self._stop_health()
        if info is not None:
            log.info("removing replica no longer assigned here",
                     extra={"replica_id": self.id, "revision": info.revision})  # fmt: skip
            if info.status == "running":
                await self.ctx.runtime.stop(self.id, self.ctx.stop_grace_s)
            with contextlib.suppress(ContainerNotFound):
                await self.ctx.runtime.remove(self.id)
        self.ctx.store.forget(self.id)

    async def _remove(self, d: Desired, info: ContainerInfo | None) -> None:
        """Stop and remove it for good, then say so: raft drops the deployment
        once each of its replicas is reported ``stopped`` (exact ``delete --wait``)."""
        # The runtime.<op> spans join the delete's trace through the reconcile
        # that asked (no-op when telemetry is off, or when nothing is left to do).
        with telemetry.use_context(d.traceparent if info is not None else ""):
            await self._teardown(info)
        self.seen = None
        base = d.reported if self.status.revision != d.revision else self.status
        self._set_status(replace(base, state=ReplicaState.STOPPED, ports=()))

    # -- helpers ---------------------------------------------------------------

    def _stop_health(self) -> None:
        if self._health is not None:
            self._health.cancel()
        self._health, self._health_run = None, None

    def _set(self, **changes: Any) -> None:
        self._set_status(replace(self.status, **changes))

    def _set_status(self, new: ReplicaStatus) -> None:
        if new != self.status:
            self.status = new
            self.ctx.changed(self.id)
