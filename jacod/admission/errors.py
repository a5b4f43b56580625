"""Admission's error types and the collector that gathers every error of a file.

Operators read these during incidents, so each error names the field path in
the file's own terms (`services.web.replicas`) and the form that was expected.
"""

from __future__ import annotations

import datetime
import json

import msgspec

from jacod.errors import InvalidArgument

_MAX_SHOWN = 60


class FieldError(msgspec.Struct, frozen=True):
    path: str  # `services.web.replicas`, `line 3, column 7`, or "" for the whole file
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class AdmissionError(InvalidArgument):
    """A deployment file was rejected; `errors` holds every reason, in file order."""

    def __init__(self, errors: list[FieldError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def show(value: object) -> str:
    """A value as the operator wrote it: JSON-like, strings quoted, long ones cut."""
    if isinstance(value, datetime.date | datetime.time):  # TOML/YAML dates: not strings
        return value.isoformat()
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # circular YAML anchors, exotic keys
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


class Errors:
    """Collects errors and remembers which paths failed, so later checks that
    depend on a failed field stay quiet instead of piling on a second error."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []
        self._failed: set[str] = set()  # every failed path and all its parents

    def add(self, path: str, message: str) -> None:
        self.items.append(FieldError(path, message))
        self._failed.add(path)
        self._failed.update(path[:i] for i, ch in enumerate(path) if ch in ".[")

    def failed(self, path: str) -> bool:
        """Whether `path` or anything under it had an error."""
        return path in self._failed

    def __bool__(self) -> bool:
        return bool(self.items)
