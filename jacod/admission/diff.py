"""What `jaco apply --dry-run` shows: a short, line-per-change diff of two
revisions' services, in the deployment file's terms (memory as 256Mi, not
bytes)."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from jacod.state.spec import ServiceSpec

from .units import format_duration, format_size

# Domain field -> (file field, how to show its value).
_RENAMED = {
    "resources.memory_bytes": ("resources.memory", lambda v: format_size(v)),
    "health.interval_s": ("health.interval", lambda v: format_duration(v)),
    "health.timeout_s": ("health.timeout", lambda v: format_duration(v)),
}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif value is not None:
        out[prefix] = value
    return out


def _fields(svc: ServiceSpec) -> dict[str, Any]:
    flat = _flatten(msgspec.to_builtins(svc), "", {})
    flat.pop("name", None)
    return flat


def _show(key: str, value: Any) -> tuple[str, str]:
    name, render = _RENAMED.get(key, (key, None))
    if render is not None and isinstance(value, int | float):
        return name, render(value)
    return name, json.dumps(value, ensure_ascii=False)


def _empty(value: Any) -> bool:
    return value in ("", [], {}, 0)


def _replicas(n: int) -> str:
    return f"{n} replica" if n == 1 else f"{n} replicas"


def diff(current: list[ServiceSpec] | None, new: list[ServiceSpec]) -> str:
    """`+ service web (3 replicas)`, `~ web.replicas: 2 → 3`, `- service old`;
    "" when nothing changes. `current` None: the deployment is new."""
    old = {s.name: s for s in current or []}
    lines: list[str] = []
    for svc in new:
        before = old.get(svc.name)
        if before is None:
            lines.append(f"+ service {svc.name} ({_replicas(svc.replicas)})")
            continue
        a, b = _fields(before), _fields(svc)
        for key in [*b, *(k for k in a if k not in b)]:
            if a.get(key) == b.get(key):
                continue
            if key not in a and _empty(b[key]) or key not in b and _empty(a[key]):
                continue  # e.g. an unused health.command [] appearing with a new check
            name = _show(key, b.get(key, a.get(key)))[0]
            if key not in a:
                lines.append(f"+ {svc.name}.{name}: {_show(key, b[key])[1]}")
            elif key not in b:
                lines.append(f"- {svc.name}.{name}: {_show(key, a[key])[1]}")
            else:
                lines.append(
                    f"~ {svc.name}.{name}: {_show(key, a[key])[1]} → {_show(key, b[key])[1]}"
                )
    names = {s.name for s in new}
    lines += [f"- service {s.name}" for s in current or [] if s.name not in names]
    return "\n".join(lines)
