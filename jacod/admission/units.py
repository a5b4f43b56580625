"""Quantities as operators write them: sizes, CPU cores, durations — and back."""

from __future__ import annotations

import math
import re

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T|P)?$")
_SIZE_UNITS = {
    None: 1,
    "k": 1000,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "P": 1000**5,
    "Ki": 1 << 10,
    "Mi": 1 << 20,
    "Gi": 1 << 30,
    "Ti": 1 << 40,
    "Pi": 1 << 50,
}
_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _positive(x: float) -> bool:
    return math.isfinite(x) and x > 0


def parse_size(value: int | str) -> int | None:
    """Bytes from 268435456, "256Mi", "1Gi", "512M", "100k"; None unless > 0."""
    if isinstance(value, int):
        return value if value > 0 else None
    m = _SIZE.match(value.strip())
    if m is None:
        return None
    size = round(float(m[1]) * _SIZE_UNITS[m[2]])
    return size if size > 0 else None


def parse_cpu(value: float | str) -> float | None:
    """Cores from 0.5, 2, "0.5", "500m"; None unless > 0."""
    if isinstance(value, str):
        m = _CPU.match(value.strip())
        if m is None:
            return None
        value = float(m[1]) / (1000 if m[2] else 1)
    return float(value) if _positive(value) else None


def parse_duration(value: float | str) -> float | None:
    """Seconds from 10, 0.5, "500ms", "10s", "1m", "1m30s"; None unless > 0."""
    if isinstance(value, str):
        text = value.strip()
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            return None
        value = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    return float(value) if _positive(value) else None


def format_size(n: int) -> str:
    for unit, scale in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"
