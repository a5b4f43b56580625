"""Filters, as pure values: the logs pane's text filter (plain or regex,
inverse, case), the audit pane's filter text, error-line detection and the
``since`` presets. No textual here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from jaco.auditview import TYPES
from jaco.logview import Line
from jaco.tui.source import AuditFilter, LogRequest

_ERROR = re.compile(
    r"\b(error|fatal|panic|critical|exception|traceback)\b|\blevel=(error|fatal)\b", re.I
)


def is_error(line: Line) -> bool:
    return line.stream != "system" and _ERROR.search(line.line) is not None


@dataclass(frozen=True)
class LogFilter:
    text: str = ""
    regex: bool = False
    invert: bool = False
    case: bool = False  # True: case-sensitive
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    error: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.text:
            return
        flags = 0 if self.case else re.IGNORECASE
        source = self.text if self.regex else re.escape(self.text)
        try:
            pattern, error = re.compile(source, flags), ""
        except re.error as exc:
            pattern, error = None, f"bad regex: {exc}"
        object.__setattr__(self, "_pattern", pattern)
        object.__setattr__(self, "error", error)

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def toggled(self, what: str) -> LogFilter:
        if what == "regex":
            return replace(self, regex=not self.regex)
        if what == "case":
            return replace(self, case=not self.case)
        if what == "invert":
            return replace(self, invert=not self.invert)
        raise ValueError(f"no such filter flag: {what}")

    def with_text(self, text: str) -> LogFilter:
        return replace(self, text=text)

    def keep(self, text: str) -> bool:
        if self._pattern is None:
            return True
        return (self._pattern.search(text) is None) is self.invert

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where ``text`` matches (to highlight); none for an inverse filter."""
        if self._pattern is None or self.invert:
            return []
        return [m.span() for m in self._pattern.finditer(text) if m.end() > m.start()]

    def describe(self) -> str:
        if not self.text:
            return ""
        flags = [n for n, on in (("regex", self.regex), ("case", self.case)) if on]
        shown = f"/{self.text}/" if self.regex else repr(self.text)
        lead = "not " if self.invert else ""
        return f"{lead}{shown}" + (f" ({', '.join(flags)})" if flags else "")


def parse_audit_filter(text: str, base: AuditFilter) -> AuditFilter:
    """``type:apply,auth_denied identity:alice deployment:shop`` (each part
    optional, ``id:`` and ``dep:`` for short); anything else is a ValueError
    naming what is accepted. An empty text keeps only ``base.deployment``."""
    types: set[str] = set()
    identity = ""
    deployment = base.deployment
    for word in text.split():
        key, sep, value = word.partition(":")
        if not sep or not value:
            raise ValueError(f"expected type:T[,T] identity:NAME deployment:DEP, got {word!r}")
        key = key.lower()
        if key in ("type", "types", "t"):
            for t in (v.strip().lower() for v in value.split(",") if v.strip()):
                if t not in TYPES:
                    raise ValueError(f"unknown type {t!r}; one of: {', '.join(TYPES)}")
                types.add(t)
        elif key in ("identity", "id", "who"):
            identity = value
        elif key in ("deployment", "dep", "d"):
            deployment = "" if value == "*" else value
        else:
            raise ValueError(f"unknown filter {key!r}: use type:, identity: or deployment:")
    return AuditFilter(frozenset(types), identity, deployment)


def audit_filter_text(flt: AuditFilter) -> str:
    parts = []
    if flt.types:
        parts.append("type:" + ",".join(sorted(flt.types)))
    if flt.identity:
        parts.append(f"identity:{flt.identity}")
    return " ".join(parts)


# -- since presets -------------------------------------------------------------

TAIL_LINES = 1000
SINCE_PRESETS: dict[str, float | None] = {
    "tail": None,  # the last TAIL_LINES lines across replicas
    "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 6 * 3600, "24h": 86400,
    "all": 0,
}  # fmt: skip


def log_request(
    deployment: str, service: str, replica_id: str, since: str, now: float
) -> LogRequest:
    seconds = SINCE_PRESETS[since]
    if seconds is None:
        return LogRequest(deployment, service, replica_id, tail=TAIL_LINES)
    since_ns = int((now - seconds) * 1e9) if seconds else 0
    return LogRequest(deployment, service, replica_id, since_ns=since_ns)
