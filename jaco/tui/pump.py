"""Bursts into batches: a stream is read as fast as it comes, and handed on
at most once per ``interval``, so 5,000 lines a second cost ~20 repaints a
second, not 5,000. Pure asyncio (the messages carrying batches live in
``jaco.tui.messages``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

T = TypeVar("T")

FLUSH_S = 0.05
# A firehose (more than BUSY_BATCH items in one interval: ~4,000 lines/s at
# 50 ms) is shown at half the rate: nobody reads it line by line, and the
# frames it saves keep keys and the other panes quick.
BUSY_FACTOR = 2
BUSY_BATCH = 200


class Inflight:
    """Items read from a source and not yet shown, across every pump of an
    app: zero means the screen is up to date (tests and the bench wait on it)."""

    def __init__(self) -> None:
        self.n = 0

    def add(self, n: int) -> None:
        self.n += n

    def done(self, n: int) -> None:
        self.n -= n


async def each(stream: AsyncIterator[T]) -> AsyncIterator[list[T]]:
    """Items one at a time as one-item batches, for ``pump``."""
    async for item in stream:
        yield [item]


async def pump(
    stream: AsyncIterator[list[T]],
    deliver: Callable[[list[T]], None],
    *,
    interval: float = FLUSH_S,
    busy_batch: int = BUSY_BATCH,
    max_batch: int = 20_000,
    inflight: Inflight | None = None,
) -> None:
    """Read ``stream`` (batches of items, as they arrive) to its end, calling
    ``deliver(items)`` at most every ``interval`` (twice that while batches
    exceed ``busy_batch``; sooner when one reaches ``max_batch``) and once more
    at the end. Cancelled, it drops what it holds: whoever cancelled it no
    longer wants those items."""
    batch: list[T] = []
    loop = asyncio.get_running_loop()
    handle: asyncio.TimerHandle | None = None
    wait = interval

    def flush() -> None:
        nonlocal handle, wait
        if handle is not None:
            handle.cancel()
            handle = None
        if batch:
            wait = interval * BUSY_FACTOR if len(batch) > busy_batch else interval
            items = batch.copy()
            batch.clear()
            deliver(items)

    try:
        async for items in stream:
            batch.extend(items)
            if inflight is not None:
                inflight.add(len(items))
            if len(batch) >= max_batch:
                flush()
            elif handle is None and batch:
                handle = loop.call_later(wait, flush)
    except asyncio.CancelledError:
        if inflight is not None:
            inflight.done(len(batch))
        batch.clear()
        raise
    finally:
        flush()
