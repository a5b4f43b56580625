"""``ClientSource``: the console's streams over the real ``jaco.client.Client``
(or anything shaped like it, such as ``FakeClient``).

Reconnecting is done here, once, for every stream: on UNAVAILABLE (a jacod
restart, a leader change) the header shows "reconnecting" and each stream
resumes where it was: status by re-reading a snapshot, audit after the last
id, logs since the last timestamp with (replica, ts) de-duplication.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import grpc

from jaco import logview
from jaco.auditview import parse_types
from jaco.client import Unreachable
from jaco.render import to_dict
from jaco.tui.source import AuditEvent, AuditFilter, ConnectionTracker, ConnState, LogRequest
from jaco.tui.source import Status as StatusDict
from jaco.v1 import control_pb2
from jaco.v1 import entities_pb2 as pb

_DROPPED = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN)


def retryable(exc: BaseException) -> bool:
    """A dropped or refused connection: worth retrying. Anything else the server
    said (permission denied, not found) it will say again."""
    if isinstance(exc, Unreachable):
        return True
    return isinstance(exc, grpc.aio.AioRpcError) and exc.code() in _DROPPED


def reason(exc: BaseException) -> str:
    if isinstance(exc, Unreachable):
        return exc.reason
    if isinstance(exc, grpc.aio.AioRpcError):
        return (exc.details() or exc.code().name).splitlines()[0]
    return f"{type(exc).__name__}: {exc}"


class ClientSource:
    def __init__(
        self,
        client: Any,
        *,
        clock: Callable[[], float] = time.time,
        retry_s: float = 0.5,
        max_retry_s: float = 5.0,
        audit_backlog: int = 1000,
    ) -> None:
        self.client = client
        self._clock = clock
        self.retry_s, self.max_retry_s = retry_s, max_retry_s
        self.audit_backlog = audit_backlog
        self.conn = ConnectionTracker()

    @property
    def target(self) -> str:
        return str(self.client.target)

    def now(self) -> float:
        return self._clock()

    def idle(self) -> bool:
        return True

    async def close(self) -> None:
        await self.client.close()

    def connection(self) -> AsyncIterator[ConnState]:
        return self.conn.watch()

    async def _backoff(self, attempt: int) -> None:
        await asyncio.sleep(min(self.retry_s * 2 ** min(attempt, 8), self.max_retry_s))

    async def status(self) -> AsyncIterator[StatusDict]:
        """Snapshots. The status watch is the connection's witness: its drop
        is "reconnecting", its first snapshot after that is "connected"."""
        attempt = 0
        while True:
            try:
                async for event in self.client.watch_status():
                    if event.WhichOneof("event") != "snapshot":
                        continue
                    attempt = 0
                    self.conn.set(ConnState("connected"))
                    # 1,000 replicas are ~20 ms of conversion: not on the UI's loop
                    yield await asyncio.to_thread(to_dict, event.snapshot)
                # A watch has no end: the server going away mid-answer looks like this.
                self.conn.set(ConnState("reconnecting", "the status watch ended"))
            except Exception as exc:  # noqa: BLE001 - sorted by retryable(); the rest re-raised
                if not retryable(exc):
                    self.conn.set(ConnState("error", reason(exc)))
                    raise
                self.conn.set(ConnState("reconnecting", reason(exc)))
            await self._backoff(attempt)
            attempt += 1

    async def logs(self, request: LogRequest) -> AsyncIterator[list[logview.Line]]:
        """``logview.batches`` reopens a stream that dropped after it started;
        this loop also covers one that cannot open yet (the daemon is still
        down). The one ``Resume`` spans both, so nothing repeats."""
        resume = logview.Resume()

        def open_stream(since_ns: int, tail: int) -> AsyncIterator[Any]:
            return self.client.logs(  # type: ignore[no-any-return]
                request.deployment, request.service, replica_id=request.replica_id,
                follow=True, since_ns=since_ns, tail=tail,
            )  # fmt: skip

        attempt = 0
        while True:
            stream = logview.batches(
                open_stream, since_ns=request.since_ns, tail=request.tail, follow=True,
                retryable=retryable, backoff_s=self.retry_s, max_backoff_s=self.max_retry_s,
                max_outage_s=float("inf"), resume=resume,
            )  # fmt: skip
            try:
                async for batch in stream:
                    attempt = 0
                    yield batch.lines()
                return  # the server ended it: the deployment is gone
            except Exception as exc:  # noqa: BLE001 - sorted by retryable(); the rest re-raised
                if not retryable(exc):
                    raise
            await self._backoff(attempt)
            attempt += 1

    async def audit(self, flt: AuditFilter) -> AsyncIterator[AuditEvent]:
        """The last ``audit_backlog`` ids' matching events, then new ones."""
        query = control_pb2.AuditQuery(identity=flt.identity, deployment=flt.deployment)
        if flt.types:
            numbers = parse_types(",".join(sorted(flt.types)))
            query.types.extend(cast("list[pb.AuditEventType]", numbers))
        after: int | None = None
        attempt = 0
        while True:
            try:
                if after is None:
                    head = await self.client.query_audit(control_pb2.AuditQuery(limit=1))
                    after = max(0, head.last_id - self.audit_backlog)
                query.after_id = after
                async for event in self.client.follow_audit(query):
                    attempt = 0
                    after = event.id
                    yield to_dict(event)
                # a follow has no end either: resume after the last id
            except Exception as exc:  # noqa: BLE001 - sorted by retryable(); the rest re-raised
                if not retryable(exc):
                    raise
            await self._backoff(attempt)
            attempt += 1
