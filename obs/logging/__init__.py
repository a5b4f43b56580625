"""JACO's logging convention (observability.md, "Logs").

- :func:`get_logger` is the one place loggers are created: ``get_logger("raft")``.
  Every record leaving a sink carries ``subsystem``; third-party records are
  mapped (``subsystems.py``). Attributes go in ``extra=`` and become journald
  fields / JSON keys / ``k=v`` text. Never pass a token, key or audit payload.
- :func:`setup_daemon` picks the sink as the spec says: ``INVOCATION_ID`` set and
  the journal socket reachable -> journald; ``INVOCATION_ID`` set, no socket ->
  JSON lines on stderr; otherwise text on stderr.
- :func:`setup_cli`: text on stderr at the level from :func:`resolve_level`.
- Sinks run behind a queue listener: writes never block the event loop.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import socket
import stat
from collections.abc import Mapping

from obs.logging import queue as _queue
from obs.logging.handlers import JournaldHandler, Sender, json_handler, text_handler
from obs.logging.subsystems import LOGGER_PREFIX, SUBSYSTEMS, subsystem_for

__all__ = [
    "JOURNAL_SOCKET",
    "LEVELS",
    "MODES",
    "InvalidLevel",
    "SUBSYSTEMS",
    "flush",
    "get_logger",
    "resolve_level",
    "select_daemon_mode",
    "setup_cli",
    "setup_daemon",
    "shutdown",
    "subsystem_for",
]

JOURNAL_SOCKET = "/run/systemd/journal/socket"
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
MODES = ("journald", "json", "text")


class InvalidLevel(ValueError):
    """A log level outside ``LEVELS``; the CLI turns this into exit code 2."""

    def __init__(self, value: str, source: str):
        self.value, self.source = value, source
        super().__init__(
            f"invalid log level {value!r} from {source}: expected one of {', '.join(LEVELS)}"
        )


def get_logger(subsystem: str) -> logging.Logger:
    if subsystem not in SUBSYSTEMS:
        raise ValueError(f"unknown subsystem {subsystem!r}; add it to obs/logging/subsystems.py")
    return logging.getLogger(LOGGER_PREFIX + subsystem)


def parse_level(value: str, source: str) -> int:
    try:
        return LEVELS[value.strip().lower()]
    except KeyError:
        raise InvalidLevel(value, source) from None


def resolve_level(
    flag: str | None, verbose: bool, env_value: str | None, default: int = logging.WARNING
) -> int:
    """``--log-level`` > ``--verbose`` > ``JACO_LOG`` > default (warn for the CLI)."""
    if flag is not None:
        return parse_level(flag, "--log-level")
    if verbose:
        return logging.DEBUG
    if env_value:
        return parse_level(env_value, "JACO_LOG")
    return default


def journal_reachable(path: str = JOURNAL_SOCKET) -> bool:
    """True when ``path`` is a socket that accepts a datagram connection."""
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(path)
        return True
    except OSError:
        return False


def select_daemon_mode(
    env: Mapping[str, str] | None = None, socket_path: str = JOURNAL_SOCKET
) -> str:
    env = os.environ if env is None else env
    if env.get("INVOCATION_ID"):
        return "journald" if journal_reachable(socket_path) else "json"
    return "text"


_listener: logging.handlers.QueueListener | None = None


def _install(sink: logging.Handler, level: int) -> None:
    global _listener
    shutdown()
    front, _listener = _queue.start(sink)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(front)
    root.setLevel(level)
    logging.captureWarnings(True)
    # py.warnings goes to the daemon subsystem, not "external".
    logging.getLogger("py.warnings").addFilter(_tag("daemon"))


def _tag(subsystem: str) -> logging.Filter:
    class _Tag(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.subsystem = subsystem
            # formatwarning() appends the offending source line: keep "file:line: Cat: msg".
            record.msg = str(record.getMessage()).strip().splitlines()[0]
            record.args = None
            return True

    return _Tag()


def setup_daemon(
    level: int = logging.INFO,
    mode: str = "auto",
    *,
    identifier: str = "jacod",
    sender: Sender | None = None,
) -> str:
    """Install the daemon's sink; returns the mode actually in use."""
    chosen = select_daemon_mode() if mode == "auto" else mode
    if chosen not in MODES:
        raise ValueError(f"invalid log format {mode!r}: expected auto or one of {', '.join(MODES)}")
    fallback_reason = None
    sink: logging.Handler
    if chosen == "journald":
        try:
            sink = JournaldHandler(identifier, sender)
        except ImportError:
            chosen, fallback_reason = "json", "systemd-python is not installed"
            sink = json_handler()
    elif chosen == "json":
        sink = json_handler()
    else:
        sink = text_handler()
    _install(sink, level)
    if fallback_reason:
        get_logger("daemon").warning(
            "journald selected but unavailable; logging JSON to stderr instead",
            extra={"reason": fallback_reason},
        )
    return chosen


def setup_cli(level: int) -> None:
    _install(text_handler(), level)


def flush(timeout: float = 1.0) -> None:
    """Wait (bounded) until every queued record has been written: before
    printing to the same stream directly, so lines never interleave."""
    import time

    listener = _listener
    if listener is None:
        return
    deadline = time.monotonic() + timeout
    while listener.queue.unfinished_tasks and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.001)


def shutdown() -> None:
    """Flush and stop the listener (also run at exit)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(shutdown)
