"""Span handles: the real one (SDK loaded) and the shared no-op.

Both are context managers (sync and async) with the same small surface, so
product code never asks whether telemetry is on.
"""

from __future__ import annotations

import asyncio
import contextvars
from types import TracebackType
from typing import TYPE_CHECKING, Any

from obs.telemetry import binding

if TYPE_CHECKING:  # the no-op path must not import OpenTelemetry
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanKind, Tracer


class NoopSpan:
    """What every span call returns when telemetry is off: one shared object,
    no allocation, no contextvar write."""

    __slots__ = ()

    def __enter__(self) -> NoopSpan:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    async def __aenter__(self) -> NoopSpan:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def start(self, start_time_ns: int | None = None) -> NoopSpan:
        return self

    def end(self, exc: BaseException | None = None) -> None:
        pass

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        pass

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        pass

    def set_error(self, description: str) -> None:
        pass

    @property
    def recording(self) -> bool:
        return False

    @property
    def traceparent(self) -> str:
        return ""


NOOP = NoopSpan()

# Ended by the caller, not failures of the work inside the span.
_NOT_ERRORS = (GeneratorExit, asyncio.CancelledError, KeyboardInterrupt)


class LiveSpan:
    """A started span, current while the ``with`` block runs; ended (with the
    exception recorded as an error) on exit."""

    __slots__ = ("_tracer", "_name", "_parent", "_kind", "_attributes", "_bound",
                 "span", "_token", "_bound_token")  # fmt: skip

    def __init__(
        self,
        tracer: Tracer,
        name: str,
        parent: Context | None,
        kind: SpanKind,
        attributes: dict[str, Any] | None,
        bound: binding.Bound | None,
    ):
        self._tracer, self._name, self._parent, self._kind = tracer, name, parent, kind
        self._attributes, self._bound = attributes, bound
        self._token: contextvars.Token[Any] | None = None
        self._bound_token: contextvars.Token[binding.Bound] | None = None
        self.span: Span | None = None

    def __enter__(self) -> LiveSpan:
        from opentelemetry import context, trace

        if self._bound is not None:
            self._bound_token = binding.bound.set(self._bound)
        self.span = span = self._tracer.start_span(
            self._name, context=self._parent, kind=self._kind, attributes=self._attributes
        )
        self._token = context.attach(trace.set_span_in_context(span, self._parent))
        return self

    def start(self, start_time_ns: int | None = None) -> LiveSpan:
        """Start without making it current (several sibling spans at once, e.g.
        one ``scheduler.reconcile.<service>`` per service of a deployment);
        pass ``.traceparent`` on and call :meth:`end`. ``start_time_ns``
        (``time.time_ns()``) backdates it to when the work began."""
        token = binding.bound.set(self._bound) if self._bound is not None else None
        try:
            self.span = self._tracer.start_span(
                self._name,
                context=self._parent,
                kind=self._kind,
                attributes=self._attributes,
                start_time=start_time_ns,
            )
        finally:
            if token is not None:
                binding.reset_token(token)
        return self

    def end(self, exc: BaseException | None = None) -> None:
        span = self.span
        if span is not None:
            if exc is not None and not isinstance(exc, _NOT_ERRORS):
                record_error(span, exc)
            span.end()

    def __exit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.end(exc)
        if self._token is not None:
            detach(self._token)
        if self._bound_token is not None:
            binding.reset_token(self._bound_token)

    async def __aenter__(self) -> LiveSpan:
        return self.__enter__()

    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(et, exc, tb)

    def set_attribute(self, key: str, value: Any) -> None:
        if self.span is not None:
            self.span.set_attribute(key, value)

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        if self.span is not None:
            self.span.set_attributes(attributes)

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        if self.span is not None:
            self.span.add_event(name, attributes)

    def set_error(self, description: str) -> None:
        """Mark the span failed without an exception (e.g. a rejected command)."""
        if self.span is not None:
            from opentelemetry.trace import Status, StatusCode

            self.span.set_status(Status(StatusCode.ERROR, description))

    @property
    def recording(self) -> bool:
        return self.span is not None and self.span.is_recording()

    @property
    def traceparent(self) -> str:
        """This span's W3C traceparent ("" before it starts)."""
        if self.span is None:
            return ""
        return format_traceparent(self.span)


def record_error(span: Span, exc: BaseException) -> None:
    from opentelemetry.trace import Status, StatusCode

    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def format_traceparent(span: Span) -> str:
    sc = span.get_span_context()
    if not sc.is_valid:
        return ""
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{int(sc.trace_flags):02x}"


def detach(token: object) -> None:
    """Undo ``context.attach``; quiet when the context is not the one attached
    in (see :func:`binding.reset_token`), where the SDK would log an error."""
    if isinstance(token, contextvars.Token):
        binding.reset_token(token)
    else:  # another runtime context (OTEL_PYTHON_CONTEXT)
        from opentelemetry import context

        context.detach(token)  # type: ignore[arg-type]
