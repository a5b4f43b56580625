"""The registry kept current on this node: rebuilt after raft applies a change.

Read from the main loop (agent, DNS) and from the ingress thread: a rebuild
happens under a lock, snapshots are immutable once built.
"""

from __future__ import annotations

import asyncio
import threading

from jacod.cluster.cluster import Cluster
from jacod.discovery.registry import EMPTY, Snapshot, build
from obs.logging import get_logger

log = get_logger("discovery")

COALESCE_S = 0.05  # a burst of applied commands is one rebuild


class Registry:
    """``snapshot()`` is cheap between changes: the state is re-read only after
    the bus says something was applied (``run`` must be running for that;
    without it every call re-reads)."""

    def __init__(self, cluster: Cluster, node_name: str) -> None:
        self._cluster, self._node = cluster, node_name
        self._snap: Snapshot = EMPTY
        self._stale = True
        self._watching = False
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        if not self._stale and self._watching:
            return self._snap
        with self._lock:
            if self._stale or not self._watching:
                self._stale = False
                new = self._cluster.read(lambda s: build(s, self._node))
                self._log_changes(self._snap, new)
                self._snap = new
            return self._snap

    async def run(self) -> None:
        """Follow applied changes; rebuild soon after each burst (so the
        ``discovery`` log tells when endpoints change, even with no traffic)."""
        sub = self._cluster.bus.subscribe()
        self._watching = True
        try:
            self.snapshot()
            while True:
                await sub.queue.get()
                self._stale = True
                await asyncio.sleep(COALESCE_S)
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                self.snapshot()
        finally:
            self._watching = False
            self._cluster.bus.unsubscribe(sub)

    def _log_changes(self, old: Snapshot, new: Snapshot) -> None:
        for key in sorted(old.endpoints.keys() | new.endpoints.keys()):
            before = [e.replica_id for e in old.lookup(*key)]
            after = [e.replica_id for e in new.lookup(*key)]
            if before != after:
                log.info(
                    "service endpoints changed",
                    extra={"deployment": key[0], "service": key[1], "healthy": len(after),
                           "added": sorted(set(after) - set(before)),
                           "removed": sorted(set(before) - set(after))},
                )  # fmt: skip
