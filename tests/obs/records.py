"""Records as the sinks see them: made by a real Logger, prepared by the
product's queue handler (which stamps the subsystem)."""

from __future__ import annotations

import logging
import queue
from datetime import UTC, datetime
from typing import Any

from obs.logging.queue import SubsystemQueueHandler

# 2026-11-27T02:40:01.123Z
FIXED = datetime(2026, 11, 27, 2, 40, 1, 123000, tzinfo=UTC).timestamp()


def record(
    msg: str = "leader elected",
    *,
    name: str = "jaco.raft",
    level: int = logging.INFO,
    extra: dict[str, Any] | None = None,
    args: tuple[Any, ...] = (),
    exc: BaseException | None = None,
) -> logging.LogRecord:
    logger = logging.getLogger(name)
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    rec = logger.makeRecord(name, level, "/src/raft.py", 42, msg, args, exc_info, "elect", extra)
    rec.created, rec.msecs = FIXED, 123.0
    return SubsystemQueueHandler(queue.Queue()).prepare(rec)


def raised(exc: BaseException) -> BaseException:
    """``exc`` with a traceback, as a logged exception has."""
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - re-returned on purpose
        return caught
