"""Replica states to raft: ``NodeStatusUpdate`` proposals from this node.

Changes are coalesced (``coalesce_s``) into one proposal carrying only the
replicas that changed since the last successful report; every
``interval_s`` a full report carries them all (and tells the cluster the
node is alive even with no replicas). A failed proposal (no leader, not a
member yet) is retried with a growing delay; nothing here ever raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from jacod.cluster.cluster import Cluster
from jacod.state import NodeStatusUpdate, ReplicaStatus
from obs.logging import get_logger

log = get_logger("agent")

RETRY_MIN_S = 0.5
RETRY_MAX_S = 10.0
PROPOSE_TIMEOUT_S = 5.0


class Reporter:
    def __init__(
        self,
        cluster: Cluster,
        node_name: str,
        snapshot: Callable[[], dict[str, ReplicaStatus]],
        *,
        interval_s: float = 30.0,
        coalesce_s: float = 0.1,
    ) -> None:
        self._cluster, self._node = cluster, node_name
        self._snapshot = snapshot
        self._interval_s, self._coalesce_s = interval_s, coalesce_s
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._full_due = 0.0  # loop time of the next full report; 0 = at once
        self._failures = 0
        self.proposals = 0  # successful ones, for tests and debugging

    def changed(self, replica_id: str) -> None:
        self._dirty.add(replica_id)
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        retry_at: float | None = None  # after a failed proposal: not before then
        while True:
            now = loop.time()
            due = self._full_due if retry_at is None else retry_at
            if not self._wake.is_set() and due > now:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(due - now):  # not wait_for: see agent.py
                        await self._wake.wait()
            if self._wake.is_set():
                await asyncio.sleep(self._coalesce_s)  # let a burst of changes land
            self._wake.clear()
            now = loop.time()
            if retry_at is not None and now < retry_at:
                continue  # changes stay dirty until the retry
            full = now >= self._full_due
            if await self._report(full):
                retry_at = None
                if full:
                    self._full_due = loop.time() + self._interval_s
            else:
                retry_at = loop.time() + self._retry_delay()

    def _retry_delay(self) -> float:
        return min(RETRY_MIN_S * 2.0 ** min(self._failures - 1, 16), RETRY_MAX_S)

    async def _report(self, full: bool) -> bool:
        current = self._snapshot()
        ids = sorted(current) if full else sorted(self._dirty & current.keys())
        self._dirty.clear()
        if not ids and not full:
            return True
        update = NodeStatusUpdate(
            ts_ns=time.time_ns(), identity="system", node=self._node, node_name=self._node,
            include_pressure=False, replicas=[current[i] for i in ids],
        )  # fmt: skip
        try:
            await self._cluster.propose(update, timeout=PROPOSE_TIMEOUT_S)
        except Exception as exc:  # whatever it is, a report must never end the agent
            self._dirty.update(ids)
            self._failures += 1
            if self._failures == 1:
                log.warning("cannot report replica states yet; retrying",
                            extra={"error": str(exc), "replicas": len(ids)})  # fmt: skip
            return False
        if self._failures:
            log.info("replica states reported again", extra={"failed_attempts": self._failures})
        self._failures = 0
        self.proposals += 1
        return True
