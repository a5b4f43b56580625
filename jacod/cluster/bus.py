"""The event bus: applied changes, fanned out to watchers on the asyncio loop.

Each subscriber has a bounded queue. A subscriber that falls behind is not
waited for: its queue is cleared and it gets one ``Resync`` marker, on which
it re-reads a fresh snapshot (``WatchStatus``, ``FollowAudit`` and the console
all do). Nothing a watcher does can slow raft or another watcher.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from jacod.state import Command, Outcome

QUEUE_SIZE = 1024


@dataclass(frozen=True)
class Applied:
    command: Command | None  # None: the whole state was replaced (restore)
    outcome: Outcome
    traceparent: str = ""  # of the raft.apply span, when traced


@dataclass(frozen=True)
class Resync:
    """You missed events: re-read the state."""


@dataclass(frozen=True)
class LeaderChanged:
    leader: str


Event = Applied | Resync | LeaderChanged


@dataclass(eq=False)  # identity-hashed: kept in a set
class Subscription:
    queue: asyncio.Queue[Event] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    lagged: int = 0

    async def events(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()


class EventBus:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()

    def publish(self, event: Event) -> None:
        for sub in self._subs:
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.lagged += 1
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                sub.queue.put_nowait(Resync())

    def subscribe(self) -> Subscription:
        sub = Subscription()
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"EventBus(subscribers={len(self._subs)})"
