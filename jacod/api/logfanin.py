"""The asyncio driver of ``logmerge.Merger``: one producer task per source,
each into its own bounded queue, merged into ``batches()``.

A slow reader makes producers wait; nothing buffers without bound. Items move
in runs (a chunk a producer read, everything ready to emit): no ``await`` per
item, and the merge takes a run with one bisect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, Callable, Coroutine, Hashable, Sequence
from typing import Any, Generic, TypeVar

from jacod.api.logmerge import Merger
from obs.logging import get_logger

log = get_logger("controlplane")

T = TypeVar("T")

_ITEM, _CAUGHT_UP = 0, 1


class Feed(Generic[T]):
    """A producer's way into the merge: a bounded queue of runs (``put_many``
    waits while ``size`` items are queued, then admits a run whole).

    Not an ``asyncio.Queue``: this is the hot path, a run is one step for a
    chunk of lines, and the merge only needs waking when the queue stops being
    empty."""

    def __init__(
        self, key: Hashable, size: int, mark: Callable[[Feed[T]], None],
        clock: Callable[[], float],
    ) -> None:  # fmt: skip
        self.key, self.size = key, size
        # (kind, arrival, stamps, items)
        self.queue: deque[tuple[int, float, list[int], Sequence[T]]] = deque()
        self.queued = 0  # items in ``queue``
        self.finished = False
        self._room: asyncio.Future[None] | None = None
        self._mark, self._clock = mark, clock

    async def _append(self, kind: int, stamps: list[int], items: Sequence[T]) -> None:
        while self.queued >= self.size:
            self._room = asyncio.get_running_loop().create_future()
            await self._room
        self.queue.append((kind, self._clock(), stamps, items))
        self.queued += len(items)
        if len(self.queue) == 1:
            self._mark(self)

    async def put(self, ts_ns: int, item: T) -> None:
        await self._append(_ITEM, [ts_ns], [item])

    async def put_many(self, stamps: list[int], items: Sequence[T]) -> None:
        """Items in the source's time order, with their timestamps: one run
        (what one read or one message brought: bounded by its producer)."""
        if items:
            await self._append(_ITEM, stamps, items)

    async def caught_up(self) -> None:
        """Everything before this was backlog; what follows is live."""
        await self._append(_CAUGHT_UP, [], [])

    def taken(self) -> None:
        """The merge took entries: a producer waiting for room may go on."""
        room, self._room = self._room, None
        if room is not None and not room.done():
            room.set_result(None)


Producer = Callable[[Feed[T]], Coroutine[Any, Any, None]]


class Fanin(Generic[T]):
    """Producer tasks -> bounded queues -> ``Merger`` -> ``batches()``.

    Owns its tasks: ``batches()`` cancels and awaits them all when it ends or is
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
        """No more sources will be added: ``batches()`` ends once the open ones have."""
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
                kind, arrived, stamps, items = q.popleft()
                if kind == _ITEM:
                    feed.queued -= len(items)
                    merger.push_many(feed, stamps, items, arrived)
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

    async def batches(self) -> AsyncGenerator[list[Sequence[T]], None]:
        """Merged items, as many as are ready each time (never none, never one
        held back for more), as the runs they came in (``Merger.pop_runs``);
        ``caught_up_item`` ends the batch in which the initial backlog is out."""
        merger, marker_sent = self.merger, self._caught_up_item is None
        try:
            while True:
                self._wake.clear()
                self._pull()
                now = self.clock()
                ready = merger.pop_runs(now)
                if not marker_sent and not merger.initial:
                    marker_sent = True
                    ready.append([self._caught_up_item])  # type: ignore[list-item]
                if ready:
                    yield ready
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
