"""Time-ordered merging of log sources: a pure core and its asyncio driver.

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

``Fanin`` drives a ``Merger`` from producer tasks, each with its own bounded
queue: a slow reader makes producers wait, nothing buffers without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import AsyncGenerator, Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from obs.logging import get_logger

log = get_logger("controlplane")

T = TypeVar("T")

BACKLOG, LIVE, ENDED = "backlog", "live", "ended"


@dataclass
class _Source:
    state: str
    last_seen: float  # arrival of its latest item or marker (for strict_timeout_s)
    pending: int = 0


class Merger(Generic[T]):
    def __init__(
        self, *, window_s: float = 0.15, tail: int = 0, strict_timeout_s: float = 5.0,
        cap: int = 256,
    ) -> None:  # fmt: skip
        self.window_s, self.strict_timeout_s, self.cap = window_s, strict_timeout_s, cap
        self._sources: dict[Hashable, _Source] = {}
        # (ts, seq, arrival, source, item, pushed during the source's backlog)
        self._heap: list[tuple[int, int, float, Hashable, T, bool]] = []
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
        src = self._sources.get(key)
        if src is None or src.state == ENDED:
            return
        src.pending += 1
        src.last_seen = now
        self._empty_backlog.discard(key)
        self._empty_live.discard(key)
        backlog = src.state == BACKLOG
        self._backlog_pending += backlog
        heapq.heappush(self._heap, (ts_ns, next(self._seq), now, key, item, backlog))

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
        """When the heap's head may go: None = now; else the earliest time it
        may (new input can make it sooner)."""
        until = 0.0
        for key in self._empty_backlog:
            silent_until = self._sources[key].last_seen + self.strict_timeout_s
            if now < silent_until:
                until = max(until, silent_until)
        if until:
            return until
        # Live sources (and stalled backlogs) get the reorder window to deliver
        # something earlier than the head.
        if (self._empty_live or self._empty_backlog) and now < arrived + self.window_s:
            return arrived + self.window_s
        return None

    def pop_ready(self, now: float) -> list[T]:
        """Items that can be emitted at ``now``, in order."""
        out: list[T] = []
        heap = self._heap
        while heap:
            _, _, arrived, key, item, backlog = heap[0]
            if self._blocked_until(arrived, now) is not None:
                break
            heapq.heappop(heap)
            self._backlog_pending -= backlog
            src = self._sources[key]
            src.pending -= 1
            if src.pending == 0:
                if src.state == BACKLOG:
                    self._empty_backlog.add(key)
                elif src.state == LIVE:
                    self._empty_live.add(key)
                else:
                    del self._sources[key]
            if self.initial and self._tail is not None:
                self._tail.append(item)
            else:
                out.append(item)
        if self.initial and self._initial_done(now):
            self.initial = False
            if self._tail:
                out[:0] = self._tail
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
            until = self._blocked_until(self._heap[0][2], now)
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
        for key in list(self._sources):
            self.end(key)
        items = list(self._tail or ()) + [e[4] for e in sorted(self._heap)]
        self._heap.clear()
        self._backlog_pending = 0
        if self._tail is not None:
            self._tail.clear()
        self.initial = False
        return items


# -- the asyncio driver ------------------------------------------------------

_ITEM, _CAUGHT_UP = 0, 1


class Feed(Generic[T]):
    """A producer's way into the merge: a bounded queue (``put`` waits when full).

    Not an ``asyncio.Queue``: this is the per-line hot path, and the merge only
    needs waking when the queue stops being empty."""

    def __init__(
        self, key: Hashable, size: int, mark: Callable[[Feed[T]], None],
        clock: Callable[[], float],
    ) -> None:  # fmt: skip
        self.key, self.size = key, size
        self.queue: deque[tuple[int, float, int, T | None]] = deque()
        self.finished = False
        self._room: asyncio.Future[None] | None = None
        self._mark, self._clock = mark, clock

    async def _append(self, entry: tuple[int, float, int, T | None]) -> None:
        while len(self.queue) >= self.size:
            self._room = asyncio.get_running_loop().create_future()
            await self._room
        self.queue.append(entry)
        if len(self.queue) == 1:
            self._mark(self)

    async def put(self, ts_ns: int, item: T) -> None:
        await self._append((_ITEM, self._clock(), ts_ns, item))

    async def caught_up(self) -> None:
        """Everything before this was backlog; what follows is live."""
        await self._append((_CAUGHT_UP, self._clock(), 0, None))

    def taken(self) -> None:
        """The merge took entries: a producer waiting for room may go on."""
        room, self._room = self._room, None
        if room is not None and not room.done():
            room.set_result(None)


Producer = Callable[[Feed[T]], Coroutine[Any, Any, None]]


class Fanin(Generic[T]):
    """Producer tasks -> bounded queues -> ``Merger`` -> ``items()``.

    Owns its tasks: ``items()`` cancels and awaits them all when it ends or is
    closed. (Not an ``asyncio.TaskGroup``: a TaskGroup must not span the
    ``yield`` of an async generator, see PEP 789.)
    """

    def __init__(
        self, merger: Merger[T], *, queue_size: int = 1000, caught_up_item: T | None = None
    ) -> None:
        self.merger = merger
        self.queue_size = queue_size
        self._loop = asyncio.get_running_loop()
        self._feeds: dict[Hashable, Feed[T]] = {}  # the current source of each key
        self._tasks: dict[Feed[T], asyncio.Task[None]] = {}
        self._helpers: set[asyncio.Task[None]] = set()
        self._dirty: set[Feed[T]] = set()
        self._wake = asyncio.Event()
        self._finishing = False
        self._caught_up_item = caught_up_item

    def clock(self) -> float:
        return self._loop.time()

    def add(
        self, key: Hashable, produce: Producer[T], *, backlog: bool = True, size: int = 0
    ) -> None:
        """Start a source (queue ``size`` lines, default ``queue_size``); its
        backlog is merged strictly in order."""
        if self.is_open(key):
            raise ValueError(f"source {key!r} is already open")
        feed: Feed[T] = Feed(key, size or self.queue_size, self._mark, self.clock)
        self._feeds[key] = feed
        self.merger.add(feed, self.clock(), backlog=backlog)
        self._tasks[feed] = self._loop.create_task(self._run(feed, produce), name=f"logs {key}")

    def is_open(self, key: Hashable) -> bool:
        feed = self._feeds.get(key)
        return feed is not None and not feed.finished

    @property
    def open_keys(self) -> list[Hashable]:
        return [k for k, f in self._feeds.items() if not f.finished]

    def cancel(self, key: Hashable) -> None:
        """Stop a source; what it already queued is still merged."""
        feed = self._feeds.get(key)
        if feed is not None and (task := self._tasks.get(feed)) is not None:
            task.cancel()

    def cancel_all(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """A helper task (not a source) that lives as long as the merge."""
        task = self._loop.create_task(coro, name=name)
        self._helpers.add(task)
        task.add_done_callback(self._helper_done)

    def _helper_done(self, task: asyncio.Task[None]) -> None:
        self._helpers.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("log stream helper failed", exc_info=exc, extra={"task": task.get_name()})
            self.finish()
            self.cancel_all()

    def finish(self) -> None:
        """No more sources will be added: ``items()`` ends once the open ones have."""
        self._finishing = True
        self._wake.set()

    def _mark(self, feed: Feed[T]) -> None:
        self._dirty.add(feed)
        self._wake.set()

    async def _run(self, feed: Feed[T], produce: Producer[T]) -> None:
        try:
            await produce(feed)
        except Exception as exc:  # noqa: BLE001 - one broken source must not end the others
            log.error("log source failed", exc_info=exc, extra={"source": str(feed.key)})
        finally:
            feed.finished = True
            self._mark(feed)

    def _pull(self) -> None:
        merger = self.merger
        for feed in list(self._dirty):
            q = feed.queue
            while q and merger.wants(feed):
                kind, arrived, ts, item = q.popleft()
                if kind == _ITEM:
                    merger.push(feed, ts, item, arrived)  # type: ignore[arg-type]
                else:
                    merger.caught_up(feed, arrived)
            feed.taken()
            if not q:
                self._dirty.discard(feed)
                if feed.finished:
                    merger.end(feed)
                    self._tasks.pop(feed, None)
                    if self._feeds.get(feed.key) is feed:
                        del self._feeds[feed.key]

    async def items(self) -> AsyncGenerator[T, None]:
        merger, marker_sent = self.merger, self._caught_up_item is None
        try:
            while True:
                self._wake.clear()
                self._pull()
                now = self.clock()
                ready = merger.pop_ready(now)
                for item in ready:
                    yield item
                if not marker_sent and not merger.initial:
                    marker_sent = True
                    yield self._caught_up_item  # type: ignore[misc]
                if ready:
                    continue
                if self._finishing and not self._tasks and merger.drained:
                    return
                deadline = merger.deadline(now)
                if deadline is not None and deadline <= now:
                    deadline = now + 0.001  # due but not ready: never spin
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        await self._wake.wait()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        tasks = [*self._tasks.values(), *self._helpers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._helpers.clear()
