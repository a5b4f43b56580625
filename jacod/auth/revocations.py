"""How long a token revocation took to reach this node.

A revocation is enforced by a node the moment it applies the ``RevokeToken``
(tokens are read from local state on every call). This watcher times that
apply against the revoke's ``ts_ns`` — taken by the proposing node just
before it proposed, so the figure is commit latency plus replication to this
node (on the leader, commit latency alone) — and hands it to
``observers`` (``jaco_token_revocation_propagation_seconds``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from jacod.cluster.bus import Applied
from jacod.cluster.cluster import Cluster
from jacod.state import Result, RevokeToken
from obs.logging import get_logger

log = get_logger("controlplane")


class RevocationWatch:
    def __init__(self, cluster: Cluster, clock: Callable[[], int] = time.time_ns):
        self._cluster = cluster
        self._clock = clock
        self.observers: list[Callable[[float], None]] = []
        # Revokes proposed before this process started are replays of the
        # journal (or a catch-up after downtime), not propagation.
        self._since_ns = clock()

    def observe(self, event: object) -> float | None:
        """Seconds from proposal to this node's apply, for an applied revoke."""
        if not isinstance(event, Applied) or not isinstance(event.command, RevokeToken):
            return None
        if not isinstance(event.outcome, Result) or event.command.ts_ns < self._since_ns:
            return None
        seconds = max(self._clock() - event.command.ts_ns, 0) / 1e9
        for observe in self.observers:
            observe(seconds)
        log.info(
            "token revocation applied",
            extra={"token_id": event.command.token_id, "after_s": round(seconds, 4)},
        )
        return seconds

    async def run(self) -> None:
        sub = self._cluster.bus.subscribe()
        try:
            async for event in sub.events():
                self.observe(event)
        finally:
            self._cluster.bus.unsubscribe(sub)
