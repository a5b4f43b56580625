"""The base of every high-rate message: a batch that a later batch of the same
stream absorbs while both wait in the queue (``can_replace``), so a backlog
of batches becomes one repaint and no item is lost on the way."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual.message import Message

T = TypeVar("T")


class Batched(Message, Generic[T]):
    def __init__(self, items: list[T], generation: int) -> None:
        super().__init__()
        self.items = items
        self.generation = generation  # which stream (the pane bumps it on retarget)

    def can_replace(self, message: Message) -> bool:
        # Textual drops *this* message in favour of the queued ``message``:
        # hand it our items first (ours are older, so they go in front).
        if type(message) is type(self) and message.generation == self.generation:  # type: ignore[attr-defined]
            message.items[:0] = self.items  # type: ignore[attr-defined]
            return True
        return False
