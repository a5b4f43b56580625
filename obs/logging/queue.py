"""The non-blocking front: every logger writes into a queue; one listener
thread renders and writes. This is also the single place that stamps each
record with its subsystem."""

from __future__ import annotations

import copy
import logging
import logging.handlers
import queue

from obs.logging.subsystems import SUBSYSTEMS, subsystem_for

# Bounded, so a wedged sink cannot grow memory without limit; when full the
# record is dropped and counted rather than blocking the caller.
QUEUE_SIZE = 10_000


class SubsystemQueueHandler(logging.handlers.QueueHandler):
    dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # Unlike the stock prepare(), keep the caller's attributes and the
        # bare message apart: the sinks render them as fields, not text.
        record = copy.copy(record)
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        record.stack_info = None
        subsystem = getattr(record, "subsystem", None)
        if subsystem not in SUBSYSTEMS:
            record.subsystem = subsystem_for(record.name)
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            SubsystemQueueHandler.dropped += 1


class Listener(logging.handlers.QueueListener):
    def enqueue_sentinel(self) -> None:
        # The stock put_nowait raises queue.Full on a full queue at shutdown,
        # losing everything queued; wait for the sink to make room instead.
        try:
            self.queue.put(self._sentinel, timeout=5)  # type: ignore[attr-defined]
        except queue.Full:
            pass


def start(sink: logging.Handler) -> tuple[SubsystemQueueHandler, logging.handlers.QueueListener]:
    q: queue.Queue[logging.LogRecord] = queue.Queue(QUEUE_SIZE)
    front = SubsystemQueueHandler(q)
    listener = Listener(q, sink, respect_handler_level=False)
    listener.start()
    return front, listener
