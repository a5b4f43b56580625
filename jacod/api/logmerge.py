"""Time-ordered merging of log sources: the pure core (its asyncio driver is
``logfanin``).

``Merger`` is pure (no clock, no I/O): sources are pushed items in their own
timestamp order, with the arrival time passed in. An item is emitted once no
source can still deliver an earlier one:

- every other open source has an item pending (exact k-way merge), or
- the sources without one are *live* (past their backlog) and the item has
  waited ``window_s`` since it arrived (the reorder window), or
- a source still in its *backlog* has been silent for ``strict_timeout_s``
  (a stalled peer delays the merge, it does not stop it).

``tail`` keeps only the last N items of the initial backlog (every source
added before the first emission, until each is live or ended), so the last
N lines across all replicas are shown, not N per replica.

Items arrive in runs (``push_many``: a chunk a source read) and leave in
runs (``pop_ready``: everything that may go now).
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

BACKLOG, LIVE, ENDED = "backlog", "live", "ended"


class _Run(Generic[T]):
    """Items a source pushed at once: one arrival, consecutive in the merge."""

    __slots__ = ("arrived", "backlog", "items", "pos", "seq", "stamps")

    def __init__(
        self, arrived: float, backlog: bool, stamps: list[int], items: Sequence[T], seq: int
    ) -> None:
        self.arrived, self.backlog, self.seq = arrived, backlog, seq
        self.stamps, self.items, self.pos = stamps, items, 0  # items[pos:] are pending


@dataclass
class _Source(Generic[T]):
    state: str
    last_seen: float  # arrival of its latest item or marker (for strict_timeout_s)
    pending: int = 0
    runs: deque[_Run[T]] = field(default_factory=deque)

    def head(self) -> tuple[int, int]:
        run = self.runs[0]
        return run.stamps[run.pos], run.seq


class Merger(Generic[T]):
    """The k-way merge works on runs: the source with the earliest pending
    item gives every item up to the next source's earliest one at once (one
    bisect), so a source that is ahead costs a slice, not a heap step per item.
    Items of equal timestamps go in the order they were pushed."""

    def __init__(
        self, *, window_s: float = 0.15, tail: int = 0, strict_timeout_s: float = 5.0,
        cap: int = 256,
    ) -> None:  # fmt: skip
        self.window_s, self.strict_timeout_s, self.cap = window_s, strict_timeout_s, cap
        self._sources: dict[Hashable, _Source[T]] = {}
        # (ts, seq of its run, source) of each source's earliest pending item
        self._heap: list[tuple[int, int, Hashable]] = []
        self._backlog_pending = 0
        self._seq = itertools.count()
        # Sources with nothing pending, by state: what the next item may wait for.
        self._empty_backlog: set[Hashable] = set()
        self._empty_live: set[Hashable] = set()
        self._tail: deque[T] | None = deque(maxlen=tail) if tail > 0 else None
        self.initial = True  # still in the initial backlog (tail applies)

    # -- input -------------------------------------------------------------

    def add(self, key: Hashable, now: float, *, backlog: bool = True) -> None:
        if key in self._sources:
            raise ValueError(f"source {key!r} is still open or has items pending")
        state = BACKLOG if backlog else LIVE
        self._sources[key] = _Source(state, now)
        (self._empty_backlog if backlog else self._empty_live).add(key)

    def push(self, key: Hashable, ts_ns: int, item: T, now: float) -> None:
        self.push_many(key, [ts_ns], [item], now)

    def push_many(self, key: Hashable, stamps: list[int], items: Sequence[T], now: float) -> None:
        """Items of one source, in its (time) order, with their timestamps, arrived at ``now``."""
        src = self._sources.get(key)
        if src is None or src.state == ENDED or not items:
            return
        if len(stamps) != len(items):
            raise ValueError(f"{len(stamps)} timestamps for {len(items)} items")
        backlog = src.state == BACKLOG
        run = _Run(now, backlog, stamps, items, next(self._seq))
        src.runs.append(run)
        if not src.pending:
            heapq.heappush(self._heap, (stamps[0], run.seq, key))
        src.pending += len(items)
        src.last_seen = now
        self._empty_backlog.discard(key)
        self._empty_live.discard(key)
        if backlog:
            self._backlog_pending += len(items)

    def caught_up(self, key: Hashable, now: float) -> None:
        """The source's backlog is done: from now on it only waits the window."""
        src = self._sources.get(key)
        if src is None or src.state != BACKLOG:
            return
        src.state, src.last_seen = LIVE, now
        if key in self._empty_backlog:
            self._empty_backlog.discard(key)
            self._empty_live.add(key)

    def end(self, key: Hashable) -> None:
        """No more items from this source (those pending are still merged)."""
        src = self._sources.get(key)
        if src is None or src.state == ENDED:
            return
        src.state = ENDED
        self._empty_backlog.discard(key)
        self._empty_live.discard(key)
        if not src.pending:
            del self._sources[key]

    def wants(self, key: Hashable) -> bool:
        """Whether to take more from this source now (bounded per source)."""
        src = self._sources.get(key)
        return src is not None and src.pending < self.cap

    # -- output ------------------------------------------------------------

    def _blocked_until(self, arrived: float, now: float) -> float | None:
        """When the earliest pending item may go: None = now; else the
        earliest time it may (new input can make it sooner)."""
        gate = self._gate(now)
        if gate is None or now >= arrived + gate:
            return None
        if gate == float("inf"):
            return max(
                self._sources[key].last_seen + self.strict_timeout_s
                for key in self._empty_backlog
            )  # fmt: skip
        return arrived + gate

    def _gate(self, now: float) -> float | None:
        """What holds every item back at ``now``: ``inf`` (a backlog source may
        still deliver an earlier one), the reorder window (an item must have
        arrived that long ago), or None (nothing)."""
        for key in self._empty_backlog:
            if now < self._sources[key].last_seen + self.strict_timeout_s:
                return float("inf")
        if self._empty_live or self._empty_backlog:
            return self.window_s
        return None

    def pop_ready(self, now: float) -> list[T]:
        """Items that can be emitted at ``now``, in order."""
        return list(itertools.chain.from_iterable(self.pop_runs(now)))

    def pop_runs(self, now: float) -> list[Sequence[T]]:
        """``pop_ready`` as the runs they were pushed in, cut where another
        source's items go in between. A run that goes whole is the very
        sequence pushed: what came in as one message may go out as it came."""
        out: list[Sequence[T]] = []
        heap, sources = self._heap, self._sources
        tail = self._tail if self.initial else None
        gate = self._gate(now)  # the same for every item until a source runs empty
        while heap:
            _, seq, key = heap[0]
            src = sources[key]
            run = src.runs[0]
            if gate is not None and now < run.arrived + gate:
                break
            # Up to the next source's earliest item (equal stamps: by push order).
            end = len(run.items)
            if len(heap) > 1:
                ts2, seq2, _ = min(heap[1:3])
                bound = bisect_right if seq < seq2 else bisect_left
                end = max(min(end, bound(run.stamps, ts2, run.pos)), run.pos + 1)
            whole = run.pos == 0 and end == len(run.items)
            part = run.items if whole else run.items[run.pos : end]
            if tail is not None:
                tail.extend(part)
            else:
                out.append(part)
            n, run.pos = end - run.pos, end
            src.pending -= n
            if run.backlog:
                self._backlog_pending -= n
            if end == len(run.items):
                src.runs.popleft()
            if src.pending:
                heapq.heapreplace(heap, (*src.head(), key))
                continue
            heapq.heappop(heap)
            if src.state == BACKLOG:
                self._empty_backlog.add(key)
            elif src.state == LIVE:
                self._empty_live.add(key)
            else:
                del sources[key]
            gate = self._gate(now)
        if self.initial and self._initial_done(now):
            self.initial = False
            if self._tail:
                out.insert(0, list(self._tail))
                self._tail.clear()
        return out

    def _initial_done(self, now: float) -> bool:
        """Every backlog is out (or its source stalled)."""
        if self._backlog_pending:
            return False
        for src in self._sources.values():
            if src.state != BACKLOG:
                continue
            if src.pending or now < src.last_seen + self.strict_timeout_s:
                return False
        return True

    def deadline(self, now: float) -> float | None:
        """When ``pop_ready`` may have something without new input (None: never)."""
        times = []
        if self._heap:
            arrived = self._sources[self._heap[0][2]].runs[0].arrived
            until = self._blocked_until(arrived, now)
            times.append(now if until is None else until)
        if self.initial:  # the phase may end by a stalled backlog, flushing the tail
            for key in self._empty_backlog:
                if (t := self._sources[key].last_seen + self.strict_timeout_s) > now:
                    times.append(t)
        return min(times) if times else None

    @property
    def open_sources(self) -> int:
        return sum(1 for s in self._sources.values() if s.state != ENDED)

    @property
    def drained(self) -> bool:
        """Every source ended and everything emitted."""
        return not self._heap and not self._tail and self.open_sources == 0

    def close(self) -> list[T]:
        """Everything still held, in order (all sources are treated as ended)."""
        held = sorted(
            (ts, run.seq, i, item)
            for src in self._sources.values() for run in src.runs
            for i, (ts, item) in enumerate(zip(run.stamps, run.items, strict=True))
            if i >= run.pos
        )  # fmt: skip
        items = list(self._tail or ()) + [item for *_, item in held]
        self._sources.clear()
        self._heap.clear()
        self._empty_backlog.clear()
        self._empty_live.clear()
        self._backlog_pending = 0
        if self._tail is not None:
            self._tail.clear()
        self.initial = False
        return items
