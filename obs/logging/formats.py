"""The three renderings of a record: human text, one JSON object a line, and
journald fields. Pure functions of a prepared record (see ``queue.py``)."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

# Level names as the spec writes them.
LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}

# journald PRIORITY values (syslog severities), as the spec fixes them.
PRIORITIES = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}

# Everything a stock LogRecord carries; the rest are the caller's attributes.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "subsystem",
    "taskName",
}


def level_name(levelno: int) -> str:
    for threshold in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if levelno >= threshold:
            return LEVEL_NAMES[threshold]
    return "debug"


def priority(levelno: int) -> int:
    for threshold in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if levelno >= threshold:
            return PRIORITIES[threshold]
    return 7


def attributes(record: logging.LogRecord) -> dict[str, Any]:
    """The caller's attributes (``extra=``), in the order they were given."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def timestamp(record: logging.LogRecord) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        + f".{int(record.msecs):03d}Z"
    )


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text == "" or any(c in ' ="' or not c.isprintable() for c in text):
        return json.dumps(text)  # quoted, control characters escaped
    return text


def _one_line(message: str) -> str:
    """A text record is one line: newlines and other controls are escaped."""
    if message.isprintable():
        return message
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in message)


def render_text(record: logging.LogRecord) -> str:
    """``2026-11-27T02:40:01.123Z info  [raft] leader elected term=5``"""
    parts = [
        timestamp(record),
        f"{level_name(record.levelno):<5}",
        f"[{record.subsystem}]",  # type: ignore[attr-defined]
        _one_line(record.getMessage()),
    ]
    parts += [f"{k}={_text_value(v)}" for k, v in attributes(record).items()]
    line = " ".join(parts)
    if record.exc_text:
        line += "\n" + record.exc_text
    return line


_JSON_BASE = ("ts", "level", "subsystem", "msg", "logger")


def render_json(record: logging.LogRecord) -> str:
    """One JSON object, no newlines inside: ``jq 'select(.subsystem=="raft")'``."""
    obj: dict[str, Any] = {
        "ts": timestamp(record),
        "level": level_name(record.levelno),
        "subsystem": record.subsystem,  # type: ignore[attr-defined]
        "msg": record.getMessage(),
        "logger": record.name,
    }
    for key, value in attributes(record).items():
        obj[f"attr_{key}" if key in _JSON_BASE else key] = value
    if record.exc_text:
        obj["exc"] = record.exc_text
    return json.dumps(obj, default=str, ensure_ascii=False)


_FIELD_BAD = re.compile(r"[^A-Z0-9_]")


def journal_field(name: str) -> str:
    """A journald field name: ``[A-Z0-9_]``, at most 64 chars, no leading ``_``
    (those are trusted fields set by journald itself) and no leading digit."""
    field = _FIELD_BAD.sub("_", name.upper()).lstrip("_")
    if not field or field[0].isdigit():
        field = "X_" + field
    return field[:64]


_RESERVED_JOURNAL = frozenset(
    {
        "MESSAGE",
        "PRIORITY",
        "SYSLOG_IDENTIFIER",
        "SUBSYSTEM",
        "LOGGER",
        "CODE_FILE",
        "CODE_LINE",
        "CODE_FUNC",
        "EXCEPTION",
        "MESSAGE_ID",
    }
)


def journal_fields(record: logging.LogRecord, identifier: str) -> dict[str, str]:
    """Every attribute becomes a queryable field: ``journalctl SUBSYSTEM=raft``."""
    fields = {
        "MESSAGE": record.getMessage(),
        "PRIORITY": str(priority(record.levelno)),
        "SYSLOG_IDENTIFIER": identifier,
        "SUBSYSTEM": record.subsystem,  # type: ignore[attr-defined]
        "LOGGER": record.name,
        "CODE_FILE": record.pathname,
        "CODE_LINE": str(record.lineno),
        "CODE_FUNC": record.funcName,
    }
    for key, value in attributes(record).items():
        field = journal_field(key)
        if field in _RESERVED_JOURNAL:
            field = "ATTR_" + field
        fields[field] = value if isinstance(value, str) else json.dumps(value, default=str)
    if record.exc_text:
        fields["EXCEPTION"] = record.exc_text
    return fields
