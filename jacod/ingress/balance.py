"""Which replica gets the next request: round robin, skipping recent failures.

Pure bookkeeping (the clock is passed in). Each service has its own cursor,
so a request goes to the replica after the one the previous request of that
service went to. A replica that refused a connection is *ejected* for
``eject_s``: it is tried only after every other replica, until the registry
drops it (raft learns the replica died) or the ejection ends.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

from jacod.discovery import Endpoint

K = TypeVar("K", bound=Hashable)

EJECT_S = 2.0


class Balancer:
    def __init__(self, eject_s: float = EJECT_S) -> None:
        self.eject_s = eject_s
        self._cursor: dict[Hashable, int] = {}
        self._ejected: dict[str, float] = {}  # replica id -> until (clock)

    def order(self, key: Hashable, endpoints: Sequence[Endpoint], now: float) -> list[Endpoint]:
        """Every endpoint once: the round-robin choice first, ejected ones last."""
        if not endpoints:
            return []
        start = self._cursor.get(key, -1) + 1
        self._cursor[key] = start % len(endpoints)
        rotated = [endpoints[(start + i) % len(endpoints)] for i in range(len(endpoints))]
        healthy = [e for e in rotated if self._ejected.get(e.replica_id, 0.0) <= now]
        ejected = [e for e in rotated if self._ejected.get(e.replica_id, 0.0) > now]
        return healthy + ejected

    def failed(self, replica_id: str, now: float) -> None:
        self._ejected[replica_id] = now + self.eject_s

    def succeeded(self, replica_id: str) -> None:
        self._ejected.pop(replica_id, None)

    def forget_except(self, live: Sequence[Endpoint]) -> None:
        """Drop ejections of replicas the registry no longer has (bounded memory)."""
        if not self._ejected:  # the usual case, once per request: nothing to build
            return
        ids = {e.replica_id for e in live}
        for rid in [r for r in self._ejected if r not in ids]:
            del self._ejected[rid]
