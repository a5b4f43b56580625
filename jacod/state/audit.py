"""Appending to the audit log — the only way an event enters the state.

The log is append-only: nothing in `jacod/state` edits or removes an event.
Each audited command calls `append_event` exactly once, after it has fully
validated and just before it returns, so a rejected command never leaves an
event behind and an accepted one never lacks one.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .commands import Envelope
from .enums import AuditType
from .model import AuditEvent, State

_HEX2 = re.compile(r"[0-9a-f]{2}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_HEX32 = re.compile(r"[0-9a-f]{32}")


def trace_id_of(traceparent: str) -> str:
    """The 32-hex trace id of a W3C traceparent, or "" if absent or invalid.

    `version-traceid-parentid-flags`; version `ff` and all-zero ids are
    invalid; version 00 has exactly four fields, later versions may append more.
    """
    parts = traceparent.strip().split("-")
    if len(parts) < 4:
        return ""
    version, trace_id, parent_id, flags = parts[:4]
    if not _HEX2.fullmatch(version) or version == "ff":
        return ""
    if version == "00" and len(parts) != 4:
        return ""
    if not _HEX32.fullmatch(trace_id) or trace_id == "0" * 32:
        return ""
    if not _HEX16.fullmatch(parent_id) or parent_id == "0" * 16:
        return ""
    if not _HEX2.fullmatch(flags):
        return ""
    return trace_id


def json_payload(value: Any, path: str = "payload") -> tuple[Any, str | None]:
    """A deep copy of `value` as plain JSON data (dict/list/str/int/float/bool/None).

    Returns (copy, None), or (None, reason) if `value` is not JSON-compatible.
    Copying means the state never aliases a caller's mutable objects; tuples
    become lists so a decoded snapshot compares equal to the original.
    """
    if value is None or isinstance(value, bool | int | str):
        return value, None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None, f"{path}: {value} is not a finite number"
        return value, None
    if isinstance(value, list | tuple):
        items = []
        for i, item in enumerate(value):
            copied, err = json_payload(item, f"{path}[{i}]")
            if err:
                return None, err
            items.append(copied)
        return items, None
    if isinstance(value, dict):
        obj: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                return None, f"{path}: key {key!r} is not a string"
            copied, err = json_payload(item, f"{path}.{key}")
            if err:
                return None, err
            obj[key] = copied
        return obj, None
    return None, f"{path}: {type(value).__name__} is not JSON-compatible"


def append_event(
    state: State,
    cmd: Envelope,
    type: AuditType,
    payload: dict[str, Any],
    deployment: str = "",
) -> int:
    """Append one event for `cmd` and return its id.

    The event's ts is `max(cmd.ts_ns, ts of the last event)`. Proposers'
    clocks differ (the leader changes, clocks are skewed or step back), so
    commit order is not ts order; clamping keeps the ts column sorted in id
    order, which is what lets `query_audit(since_ns=...)` bisect instead of
    scan, and never reorders events: the log order is the authority.
    """
    ts_ns = cmd.ts_ns
    if state.audit and state.audit[-1].ts_ns > ts_ns:
        ts_ns = state.audit[-1].ts_ns
    state.last_audit_id += 1
    state.audit.append(
        AuditEvent(
            id=state.last_audit_id,
            ts_ns=ts_ns,
            type=type,
            identity=cmd.identity,
            payload=payload if cmd.peer_uid is None else {**payload, "peer_uid": cmd.peer_uid},
            deployment=deployment,
            node=cmd.node,
            trace_id=trace_id_of(cmd.traceparent),
        )
    )
    return state.last_audit_id
