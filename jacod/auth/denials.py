"""``auth_denied`` audit events: recorded off the request path, rate-limited.

The interceptor calls ``record`` (never blocks, never raises); a task owned
by the cluster proposes the events. The event's identity is the claimed one
(the identity of the presented token's id, when this cluster knows it), else
``system``; payload: method, reason, peer address and the token id when the
token parsed. Never the token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from jacod.auth.ratelimit import DenialLimiter
from jacod.cluster.cluster import Cluster
from jacod.state import RecordEvent
from jacod.state.enums import AuditType
from obs.logging import get_logger

log = get_logger("controlplane")

QUEUE_SIZE = 256


class DenialRecorder:
    def __init__(
        self,
        cluster: Cluster,
        limiter: DenialLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._cluster = cluster
        self.limiter = limiter or DenialLimiter()
        self._clock = clock
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = 0
        # Hooks for the metrics issue: called with the reason of every denial.
        self.observers: list[Callable[[str], None]] = []

    def record(
        self, *, method: str, reason: str, peer: str, token_id: str = "", identity: str = ""
    ) -> None:
        for observe in self.observers:
            observe(reason)
        if not self.limiter.allow(identity or token_id or "-", reason, self._clock()):
            return
        payload: dict[str, Any] = {"method": method, "reason": reason, "peer": peer}
        if token_id:
            payload["token_id"] = token_id
        item = {"ts_ns": time.time_ns(), "identity": identity or "system", "payload": payload}
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1

    async def run(self) -> None:
        while True:
            item = await self._queue.get()
            cmd = RecordEvent(
                ts_ns=item["ts_ns"],
                identity=item["identity"],
                node=self._cluster.node_name,
                type=AuditType.AUTH_DENIED,
                payload=item["payload"],
            )
            try:
                await self._cluster.propose(cmd, timeout=5.0)
            except Exception as exc:  # noqa: BLE001 - a lost record must not stop the recorder
                log.warning(
                    "could not record an auth_denied event",
                    extra={"reason": item["payload"]["reason"], "error": str(exc)},
                )
