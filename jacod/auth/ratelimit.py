"""How often a denial becomes an ``auth_denied`` audit event.

Every denial is answered; only the first per (key, reason) in ``window``
seconds is recorded, and at most ``burst`` events per window in total, so a
client hammering with bad tokens (or random ones, each a fresh key) cannot
flood the replicated log. Pure: the caller passes the clock.
"""

from __future__ import annotations

from collections import deque


class DenialLimiter:
    def __init__(self, window: float = 10.0, burst: int = 20, max_keys: int = 4096):
        self.window = window
        self.burst = burst
        self.max_keys = max_keys
        self._last: dict[tuple[str, str], float] = {}
        self._recent: deque[float] = deque()
        self.suppressed = 0  # denials answered but not recorded

    def allow(self, key: str, reason: str, now: float) -> bool:
        while self._recent and now - self._recent[0] >= self.window:
            self._recent.popleft()
        last = self._last.get((key, reason))
        if (last is not None and now - last < self.window) or len(self._recent) >= self.burst:
            self.suppressed += 1
            return False
        if len(self._last) >= self.max_keys:
            self._prune(now)
        self._last[(key, reason)] = now
        self._recent.append(now)
        return True

    def _prune(self, now: float) -> None:
        stale = [k for k, t in self._last.items() if now - t >= self.window]
        for k in stale:
            del self._last[k]
        if len(self._last) >= self.max_keys:  # all fresh: forget the oldest half
            for k in sorted(self._last, key=self._last.__getitem__)[: self.max_keys // 2]:
                del self._last[k]
