"""OTLP ``ExportTraceServiceRequest`` bytes, encoded by hand.

The SDK's encoder builds a protobuf message object per span, attribute and
value, then serialises it: ~20 µs a span, on the exporter thread but holding
the GIL, so a busy node paid it on every request it served. The same bytes
are assembled here from cached pieces: the six required attributes (and the
``rpc.*`` ones) repeat on nearly every span with the same values, so each
distinct key/value pair is encoded once; resource and scope once per batch.

Equivalence with the SDK's encoder is tested byte for byte
(``tests/telemetry/test_wire.py``). A batch this module does not handle (span
links, map-valued or out-of-range attributes) raises :class:`Unsupported`;
the exporter then encodes it with the SDK. No OpenTelemetry import here.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Field numbers, from opentelemetry/proto/{common,resource,trace}/v1/*.proto.
_LEN, _VARINT = 2, 0  # wire types
# SpanKind (API, by value) -> Span.SpanKind (proto): INTERNAL=1 ... CONSUMER=5.
_KINDS = {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
_FLAGS_HAS_IS_REMOTE, _FLAGS_IS_REMOTE = 0x100, 0x200
_INT64 = 1 << 64
# Distinct (key, value) pairs kept: far more than spans carry (ids are not attributes).
_CACHE_MAX = 4096
_U64, _U32 = struct.Struct("<Q"), struct.Struct("<I")


class Unsupported(Exception):
    """A span or value the hand encoder leaves to the SDK's encoder."""


def varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def tag(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def length_delimited(field: int, payload: bytes) -> bytes:
    return tag(field, _LEN) + varint(len(payload)) + payload


def string(field: int, value: str | None) -> bytes:
    """A proto3 ``string`` field: absent when empty."""
    return length_delimited(field, value.encode()) if value else b""


def uint(field: int, value: int) -> bytes:
    return tag(field, _VARINT) + varint(value) if value else b""


def any_value(value: Any) -> bytes:
    """``AnyValue``: a oneof, so even ``""``, ``0`` and ``False`` are written."""
    if value is None:
        return b""
    if isinstance(value, bool):  # before int: bool is an int
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return length_delimited(1, value.encode())
    if isinstance(value, int):
        if not -(1 << 63) <= value < (1 << 63):
            raise Unsupported("int outside int64")
        return b"\x18" + varint(value % _INT64)
    if isinstance(value, float):
        return b"\x21" + struct.pack("<d", value)
    if isinstance(value, bytes):
        return length_delimited(7, value)
    if isinstance(value, Sequence):
        items = b"".join(length_delimited(1, any_value(v)) for v in value)
        return length_delimited(5, items)  # ArrayValue{repeated AnyValue values = 1}
    raise Unsupported(f"attribute value of type {type(value).__name__}")


def key_value(key: str, value: Any) -> bytes:
    """One ``KeyValue`` message (key = 1, value = 2)."""
    return length_delimited(1, key.encode()) + length_delimited(2, any_value(value))


class SpanEncoder:
    """Encodes batches of finished SDK spans (``ReadableSpan``). One per
    exporter; used from the exporter's thread only."""

    def __init__(self) -> None:
        # (field, key, value) -> the whole repeated-KeyValue field, str values only.
        self._attributes: dict[tuple[int, str, str], bytes] = {}
        # (name, kind) -> the encoded name and kind fields
        self._names: dict[tuple[str, Any], bytes] = {}
        # id(resource or scope) -> (the object, its encoded message)
        self._messages: dict[int, tuple[object, bytes]] = {}

    def request(self, spans: Iterable[Any]) -> bytes:
        """The serialised ``ExportTraceServiceRequest`` for ``spans``,
        grouped by resource then instrumentation scope in first-seen order,
        as the SDK's encoder does."""
        by_id: dict[tuple[int, int], list[bytes]] = {}
        objects: dict[tuple[int, int], tuple[Any, Any]] = {}
        for span in spans:
            resource, scope = span.resource, span.instrumentation_scope
            key = (id(resource), id(scope))
            if key not in by_id:
                by_id[key], objects[key] = [], (resource, scope)
            by_id[key].append(self.span(span))
        # Equal resources (scopes) from distinct objects share one entry, as
        # the SDK's encoder keys them by value; a few objects, compared once.
        groups: list[tuple[Any, list[tuple[Any, list[bytes]]]]] = []
        for key, encoded in by_id.items():
            resource, scope = objects[key]
            scopes = next((g[1] for g in groups if g[0] == resource), None)
            if scopes is None:
                scopes = []
                groups.append((resource, scopes))
            same = next((g[1] for g in scopes if g[0] == scope), None)
            if same is None:
                scopes.append((scope, encoded))
            else:
                same.extend(encoded)
        out = []
        for resource, scopes in groups:
            scope_spans = [
                length_delimited(
                    2,  # ResourceSpans.scope_spans
                    length_delimited(1, self._scope(scope))  # ScopeSpans.scope
                    + b"".join(length_delimited(2, s) for s in encoded)  # .spans
                    + string(3, scope.schema_url if scope else None),  # .schema_url
                )
                for scope, encoded in scopes
            ]
            body = (
                length_delimited(1, self._resource(resource))  # ResourceSpans.resource
                + b"".join(scope_spans)
                + string(3, resource.schema_url)
            )
            out.append(length_delimited(1, body))  # ExportTraceServiceRequest.resource_spans
        return b"".join(out)

    def span(self, span: Any) -> bytes:
        """One ``Span`` message, fields in number order."""
        if span.links:
            raise Unsupported("span links")
        ctx = span.get_span_context()
        parent = span.parent
        parts = [b"\x0a\x10" + ctx.trace_id.to_bytes(16, "big"),  # 1 trace_id
                 b"\x12\x08" + ctx.span_id.to_bytes(8, "big")]  # 2 span_id  # fmt: skip
        state = ctx.trace_state
        if state:
            parts.append(string(3, ",".join(f"{k}={v}" for k, v in state.items())))
        flags = _FLAGS_HAS_IS_REMOTE
        if parent is not None:
            parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))  # 4 parent_span_id
            if parent.is_remote:
                flags |= _FLAGS_IS_REMOTE
        head = self._names.get((span.name, span.kind))
        if head is None:  # 5 name, 6 kind
            if len(self._names) >= _CACHE_MAX:
                self._names.clear()
            head = string(5, span.name) + uint(6, _KINDS[span.kind.value])
            self._names[(span.name, span.kind)] = head
        parts.append(head)
        start, end = span.start_time, span.end_time
        if start:
            parts.append(b"\x39" + _U64.pack(start))  # 7 start_time_unix_nano
        if end:
            parts.append(b"\x41" + _U64.pack(end))  # 8 end_time_unix_nano
        parts.append(self._attribute_fields(9, span.attributes))
        parts.append(uint(10, span.dropped_attributes))
        for event in span.events:
            parts.append(length_delimited(11, self._event(event)))
        parts.append(uint(12, span.dropped_events))
        parts.append(uint(14, span.dropped_links))
        status = span.status
        if status is not None:  # the SDK always sets one, so it is always written
            # Status: message = 2, code = 3 (1 is the retired deprecated_code).
            body = string(2, status.description) + uint(3, status.status_code.value)
            parts.append(length_delimited(15, body))
        parts.append(b"\x85\x01" + _U32.pack(flags))  # 16 flags (fixed32)
        return b"".join(parts)

    def _event(self, event: Any) -> bytes:
        return (
            (b"\x09" + _U64.pack(event.timestamp) if event.timestamp else b"")
            + string(2, event.name)
            + self._attribute_fields(3, event.attributes)
            + uint(4, event.dropped_attributes)
        )

    def _attribute_fields(self, field: int, attributes: Mapping[str, Any] | None) -> bytes:
        if not attributes:
            return b""
        cache = self._attributes
        parts = []
        for key, value in attributes.items():
            if type(value) is str:
                cached = cache.get((field, key, value))
                if cached is None:
                    if len(cache) >= _CACHE_MAX:
                        cache.clear()
                    cached = cache[(field, key, value)] = length_delimited(
                        field, key_value(key, value)
                    )
                parts.append(cached)
            else:
                parts.append(length_delimited(field, key_value(key, value)))
        return b"".join(parts)

    def _resource(self, resource: Any) -> bytes:
        """``Resource`` (attributes = 1)."""
        return self._message(resource, lambda: self._attribute_fields(1, resource.attributes))

    def _scope(self, scope: Any) -> bytes:
        """``InstrumentationScope`` (name = 1, version = 2, attributes = 3)."""
        if scope is None:
            return b""
        return self._message(
            scope,
            lambda: (
                string(1, scope.name)
                + string(2, scope.version)
                + self._attribute_fields(3, scope.attributes)
            ),
        )

    def _message(self, obj: object, encode: Any) -> bytes:
        entry = self._messages.get(id(obj))
        if entry is None or entry[0] is not obj:
            if len(self._messages) >= 64:
                self._messages.clear()
            entry = self._messages[id(obj)] = (obj, encode())
        return entry[1]
