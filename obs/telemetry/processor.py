"""The one place the six required attributes are put on spans."""

from __future__ import annotations

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
        present = span.attributes or {}
        for key, value in binding.attributes().items():
            if not present.get(key):
                span.set_attribute(key, value)

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
