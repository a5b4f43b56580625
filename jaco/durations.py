"""Durations and times on the command line: ``30s``, ``10m``, ``1h``, ``7d``, or RFC 3339."""

from __future__ import annotations

import re
import time

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


def parse_duration(text: str) -> float:
    """Seconds in ``text``: ``90s``, ``10m``, ``1.5h``, ``30d``."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"expected a duration like 30s, 10m, 1h or 7d, got {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_since(text: str, now: float | None = None) -> int:
    """Unix nanoseconds for ``--since``: a duration ago, or an RFC 3339 time."""
    try:
        return int(((now if now is not None else time.time()) - parse_duration(text)) * 1e9)
    except ValueError:
        pass
    from datetime import datetime

    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            "expected a duration (10m, 1h) or an RFC 3339 time (2026-11-27T10:00:00Z), "
            f"got {text!r}"
        ) from None
    if dt.tzinfo is None:
        raise ValueError(f"RFC 3339 time needs a zone (Z or +01:00): {text!r}")
    return int(dt.timestamp() * 1e9)
