"""Sink handlers. They run on the queue listener's thread, never on the event
loop, so a slow stderr or journald costs the daemon nothing but memory."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TextIO

from obs.logging.formats import journal_fields, render_json, render_text

Sender = Callable[..., object]


class StreamLineHandler(logging.Handler):
    """Writes one rendered line per record to a text stream (stderr)."""

    def __init__(self, render: Callable[[logging.LogRecord], str], stream: TextIO | None = None):
        super().__init__()
        self._render = render
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self._stream or sys.stderr
            stream.write(self._render(record) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def text_handler(stream: TextIO | None = None) -> StreamLineHandler:
    return StreamLineHandler(render_text, stream)


def json_handler(stream: TextIO | None = None) -> StreamLineHandler:
    return StreamLineHandler(render_json, stream)


class JournaldHandler(logging.Handler):
    """Native journald protocol through systemd-python's ``journal.send``.

    The sender is injectable (as in python-systemd's own ``JournalHandler``)
    so the field mapping is testable without a journal.
    """

    def __init__(self, identifier: str, sender: Sender | None = None):
        super().__init__()
        self._identifier = identifier
        if sender is None:
            from systemd import journal  # raises ImportError where not installed

            sender = journal.send
        self._send = sender

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, object] = dict(journal_fields(record, self._identifier))
            message = fields.pop("MESSAGE")
            # systemd.journal.send formats CODE_LINE with {:d}: it must be an int.
            fields["CODE_LINE"] = record.lineno
            self._send(message, **fields)
        except Exception:
            self.handleError(record)
