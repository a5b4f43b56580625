"""The registry kept current on this node: rebuilt lazily after raft applies a change."""

from __future__ import annotations

from jacod.cluster.cluster import Cluster
from jacod.discovery.registry import EMPTY, Snapshot, build
from obs.logging import get_logger

log = get_logger("discovery")


class Registry:
    """``snapshot()`` is cheap between changes: the state is re-read only after
    the bus says something was applied (``run`` must be running for that;
    without it every call re-reads)."""

    def __init__(self, cluster: Cluster, node_name: str) -> None:
        self._cluster, self._node = cluster, node_name
        self._snap: Snapshot = EMPTY
        self._stale = True
        self._watching = False

    def snapshot(self) -> Snapshot:
        if self._stale or not self._watching:
            self._stale = False
            new = self._cluster.read(lambda s: build(s, self._node))
            self._log_changes(self._snap, new)
            self._snap = new
        return self._snap

    async def run(self) -> None:
        sub = self._cluster.bus.subscribe()
        self._watching = True
        try:
            self.snapshot()
            async for _ in sub.events():
                self._stale = True
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
