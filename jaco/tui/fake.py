"""A scripted cluster for tests, snapshots and the bench: ``FakeClient`` is
shaped like ``jaco.client.Client`` (same methods, protobuf messages, the same
``Unreachable`` when "down"), and ``FakeSource`` is the real ``ClientSource``
over it, so tests exercise the console's own reconnect and de-duplication.
Deterministic: a fixed clock, fixed ids, no randomness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from jaco.client import Unreachable
from jaco.logview import Line
from jaco.targets import Target
from jaco.tui.client_source import ClientSource
from jaco.v1 import control_pb2
from jaco.v1 import entities_pb2 as pb


def log_batch(lines: list[Line]) -> pb.LogBatch:
    ts_ns, replica_id, node, stream, line = zip(*lines, strict=True)
    return pb.LogBatch(ts_ns=ts_ns, replica_id=replica_id, node=node, stream=stream, line=line)


@dataclass
class Script:
    status: control_pb2.GetStatusResponse
    logs: dict[tuple[str, str], list[Line]] = field(default_factory=dict)
    audit: list[pb.AuditEvent] = field(default_factory=list)
    now: float = 0.0
    target: Target = Target("unix", "/run/jaco/jacod.sock", "fake")


class FakeClient:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.target = script.target
        self.down: str | None = None
        self.status_version = 0
        self._changed = asyncio.Event()
        self.open = 0  # streams open ...
        self.waiting = 0  # ... and of those, blocked waiting for news
        self.calls: list[tuple[str, object]] = []
        self.trimmed: dict[tuple[str, str], int] = {}  # lines trim_logs dropped, per service

    # -- scripting ------------------------------------------------------------

    def _bump(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def disconnect(self, reason: str = "connection refused: jacod restarting") -> None:
        self.down = reason
        self._bump()

    def reconnect(self) -> None:
        self.down = None
        self._bump()

    def set_status(self, status: control_pb2.GetStatusResponse) -> None:
        self.script.status = status
        self.status_version += 1
        self._bump()

    def push_logs(self, deployment: str, service: str, lines: list[Line]) -> None:
        self.script.logs.setdefault((deployment, service), []).extend(lines)
        self._bump()

    def trim_logs(self, deployment: str, service: str, keep: int) -> None:
        """Forget all but the last ``keep`` lines (a long bench would otherwise
        measure the fake daemon's memory, not the console's)."""
        store = self.script.logs.get((deployment, service), [])
        drop = len(store) - keep
        if drop > 0:
            del store[:drop]
            key = (deployment, service)
            self.trimmed[key] = self.trimmed.get(key, 0) + drop

    def push_audit(self, event: pb.AuditEvent) -> None:
        self.script.audit.append(event)
        self._bump()

    def idle(self) -> bool:
        return self.open == self.waiting

    # -- the Client surface ---------------------------------------------------

    def _check(self) -> None:
        if self.down is not None:
            raise Unreachable(self.target, self.down)

    async def _wait(self) -> None:
        event = self._changed
        self.waiting += 1
        try:
            await event.wait()
        finally:
            self.waiting -= 1
        self._check()

    async def close(self) -> None:
        pass

    async def status(self, consistent: bool = False) -> control_pb2.GetStatusResponse:
        self._check()
        return self.script.status

    async def watch_status(
        self, consistent: bool = False
    ) -> AsyncIterator[control_pb2.StatusEvent]:
        self._check()
        self.calls.append(("watch_status", None))
        self.open += 1
        try:
            seen = -1
            while True:
                if seen != self.status_version:
                    seen = self.status_version
                    yield control_pb2.StatusEvent(snapshot=self.script.status)
                else:
                    await self._wait()
        finally:
            self.open -= 1

    def _deployed(self, name: str) -> bool:
        return any(d.name == name for d in self.script.status.deployments)

    async def logs(
        self, deployment: str, service: str, *, replica_id: str = "", follow: bool = False,
        since_ns: int = 0, tail: int = 0, previous: bool = False,
    ) -> AsyncIterator[pb.LogBatch]:  # fmt: skip
        """As jacod sends them: what is there in one batch, then what was pushed since."""
        self._check()
        self.calls.append(("logs", (deployment, service, replica_id, since_ns, tail)))
        store = self.script.logs.setdefault((deployment, service), [])

        def wanted(line: Line) -> bool:
            mine = not replica_id or line.replica_id in ("", replica_id)
            return line.ts_ns >= since_ns and mine

        self.open += 1
        try:
            key = (deployment, service)
            backlog = [line for line in store if wanted(line)]
            pos = self.trimmed.get(key, 0) + len(store)  # absolute: survives trim_logs
            if backlog := backlog[-tail:] if tail else backlog:
                yield log_batch(backlog)
            while follow:
                base = self.trimmed.get(key, 0)
                new = store[max(pos, base) - base :]
                pos = base + len(store)
                if batch := [line for line in new if wanted(line)]:
                    yield log_batch(batch)
                if not self._deployed(deployment):  # as jacod does: one last system line
                    ts = int(self.script.now * 1_000_000_000)
                    text = f"deployment {deployment} was deleted"
                    yield log_batch([Line(ts, "", "", "system", text)])
                    return
                await self._wait()
        finally:
            self.open -= 1

    def _matching(self, q: control_pb2.AuditQuery) -> list[pb.AuditEvent]:
        return [
            e for e in self.script.audit
            if e.id > q.after_id and (not q.types or e.type in q.types)
            and (not q.identity or e.identity == q.identity)
            and (not q.deployment or e.deployment == q.deployment)
        ]  # fmt: skip

    async def query_audit(self, query: control_pb2.AuditQuery) -> control_pb2.AuditQueryResponse:
        self._check()
        events = self._matching(query)
        if query.limit:
            events = events[: query.limit]
        last = max((e.id for e in self.script.audit), default=0)
        return control_pb2.AuditQueryResponse(events=events, last_id=last)

    async def follow_audit(self, query: control_pb2.AuditQuery) -> AsyncIterator[pb.AuditEvent]:
        self._check()
        self.calls.append(("follow_audit", query.after_id))
        self.open += 1
        try:
            after = query.after_id
            while True:
                q = control_pb2.AuditQuery()
                q.CopyFrom(query)
                q.after_id = after
                for event in self._matching(q):
                    after = event.id
                    yield event
                await self._wait()
        finally:
            self.open -= 1


class FakeSource(ClientSource):
    """``ClientSource`` over a ``FakeClient``, with a fixed clock and fast retries."""

    client: FakeClient

    def __init__(self, script: Script | None = None, *, retry_s: float = 0.02) -> None:
        if script is None:
            from jaco.tui.demo import demo_script

            script = demo_script()
        self.script = script
        super().__init__(
            FakeClient(script), clock=lambda: script.now, retry_s=retry_s, max_retry_s=retry_s * 4
        )

    def idle(self) -> bool:
        return self.client.idle()
