"""The one place the six required attributes are put on spans."""

from __future__ import annotations

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from obs.telemetry import binding


class RequiredAttributes(SpanProcessor):
    """Stamps ``jaco.cluster_id``, ``jaco.node``, ``jaco.deployment``,
    ``jaco.service``, ``jaco.replica_id`` and ``jaco.identity`` on every span
    at its start, from :mod:`obs.telemetry.binding`. A value the span was
    created with is kept (so an explicit attribute wins over a binding);
    missing values are the empty string, never absent."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        values = binding.attributes()
        if fast_set(span, values):
            return
        if created := span.attributes:
            values = {k: v for k, v in values.items() if not created.get(k)}
        span.set_attributes(values)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def fast_set(span: Span, values: dict[str, str]) -> bool:
    """Put ``values`` straight into the new span's attribute dict when the
    public path would change nothing: all values are strings (nothing to
    clean), no length limit to truncate them to, room under the count limit.

    Why: ``set_attributes`` validates every value through isinstance checks on
    abstract base classes, ~4 µs a span, and every request makes three or more
    spans. The SDK's ``BoundedAttributes`` internals used here (``_dict``,
    ``_lock``) are checked; anything else takes the public path (False).
    """
    attrs = getattr(span, "_attributes", None)
    if type(attrs) is not BoundedAttributes:
        return False
    store, lock = getattr(attrs, "_dict", None), getattr(attrs, "_lock", None)
    if type(store) is not dict or lock is None or attrs.max_value_len is not None:
        return False
    if attrs.maxlen is not None and len(store) + len(values) > attrs.maxlen:
        return False
    for value in values.values():
        if type(value) is not str:
            return False
    with lock:
        for key, value in values.items():
            if not store.get(key):
                store.pop(key, None)  # as the SDK does: a replaced key moves to the end
                store[key] = value
    return True
