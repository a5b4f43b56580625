"""Audit events for people: the closed type set, filters, one-line rendering.
Shared by `jaco audit` and the console; imports no UI toolkit."""

from __future__ import annotations

import json
from typing import Any

from jaco.v1 import entities_pb2 as pb

PREFIX = "AUDIT_EVENT_TYPE_"
# The closed set, as `--type` takes it (short names from entities.proto).
TYPES = tuple(
    v.name.removeprefix(PREFIX).lower()
    for v in pb.AuditEventType.DESCRIPTOR.values
    if v.number != 0
)
HIGH_SIGNAL = frozenset(
    {"token_revoke", "certificate_renewal_failed", "isolation_drift_detected", "auth_denied"}
)


def parse_types(text: str) -> list[int]:
    """``apply,delete`` -> enum numbers; ValueError listing the valid set."""
    out = []
    for raw in (t.strip().lower() for t in text.split(",") if t.strip()):
        if raw not in TYPES:
            raise ValueError(f"unknown audit event type {raw!r}; valid types: {', '.join(TYPES)}")
        out.append(pb.AuditEventType.Value(PREFIX + raw.upper()))
    return out


def render(e: dict[str, Any], colour: bool = False) -> str:
    kind = e["type"]
    payload = e.get("payload") or ""
    try:
        summary = " ".join(f"{k}={json.dumps(v)}" for k, v in json.loads(payload).items())
    except (ValueError, AttributeError):
        summary = payload
    where = f" {e['deployment']}" if e.get("deployment") else ""
    line = f"{e['ts'] or '-':<30} #{e['id']:<6} {kind:<28} {e['identity']:<12}{where} {summary}"
    if colour and kind in HIGH_SIGNAL:
        return f"\x1b[1;31m{line}\x1b[0m"
    return line
