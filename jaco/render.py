"""Output helpers: protobuf -> plain dicts with short enum names, JSON, tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message


def enum_short(field: FieldDescriptor, number: int) -> str:
    """``RAFT_ROLE_LEADER`` -> ``leader`` (the prefix is the enum's type name)."""
    enum = field.enum_type
    value = enum.values_by_number.get(number)
    if value is None:
        return str(number)
    prefix = "".join("_" + c if c.isupper() else c for c in enum.name).lstrip("_").upper() + "_"
    name = value.name
    return (name[len(prefix) :] if name.startswith(prefix) else name).lower()


def to_dict(msg: Message) -> dict[str, Any]:
    """Every field (zero values included), timestamps as RFC 3339, enums short."""
    out: dict[str, Any] = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        out[field.name] = _value(field, value)
    return out


def _is_repeated(field: FieldDescriptor) -> bool:
    if hasattr(field, "is_repeated"):  # protobuf >= 6 dropped `label` in favour of this
        return bool(field.is_repeated)
    return bool(field.label == FieldDescriptor.LABEL_REPEATED)


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        vfield = field.message_type.fields_by_name["value"]
        return {k: _scalar(vfield, v) for k, v in value.items()}
    if _is_repeated(field):
        return [_scalar(field, v) for v in value]
    return _scalar(field, value)


def _scalar(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return enum_short(field, value)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            return value.ToJsonString() if (value.seconds or value.nanos) else None
        return to_dict(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return value.hex()
    return value


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)
