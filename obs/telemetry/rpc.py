"""gRPC (grpc.aio) spans and W3C propagation, per the OpenTelemetry RPC
conventions: span name ``<package>.<Service>/<Method>``, ``rpc.system=grpc``,
``rpc.service``, ``rpc.method``, ``rpc.grpc.status_code`` (the numeric code).

- :class:`UnaryClientInterceptor`, :class:`StreamClientInterceptor`
  (unary-unary, unary-stream): a CLIENT span per call, its context injected
  into the call's metadata.
- :class:`ServerSpan`: extract from the incoming metadata, a SERVER span
  around the handler, current while it runs (and across a stream's yields).
- :class:`ServerInterceptor`: ServerSpan around every unary-unary and
  unary-stream handler, for ``grpc.aio.server(interceptors=[...])``.

Imported only when telemetry is enabled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from obs.telemetry import binding, names
from obs.telemetry.spans import detach, record_error

# Server side, only these make a span an error (the convention: the others are
# the caller's problem, not the server's).
_SERVER_ERRORS = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DATA_LOSS,
}
_PROPAGATION_KEYS = frozenset({"traceparent", "tracestate", "baggage"})


def split_method(method: str | bytes) -> tuple[str, str, str]:
    """``/jaco.v1.Control/Apply`` -> (span name, rpc.service, rpc.method)."""
    text = method.decode() if isinstance(method, bytes) else method
    text = text.lstrip("/")
    service, _, name = text.rpartition("/")
    return text, service, name


def rpc_attributes(method: str | bytes) -> tuple[str, dict[str, Any]]:
    span_name, service, name = split_method(method)
    return span_name, {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}


def metadata_dict(metadata: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> dict[str, str]:
    """Text metadata as a dict (keys lower-case, as gRPC sends them; binary
    ``-bin`` values are skipped)."""
    if metadata is None:
        return {}
    items = metadata.items() if isinstance(metadata, Mapping) else metadata
    return {str(k).lower(): v for k, v in items if isinstance(v, str)}


def finish(span: Span, code: grpc.StatusCode, *, server: bool = False) -> None:
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code is not grpc.StatusCode.OK and (not server or code in _SERVER_ERRORS):
        span.set_status(Status(StatusCode.ERROR, code.name))
    span.end()


# -- client ------------------------------------------------------------------------


class _ClientSpans:
    def __init__(self, tracer: trace.Tracer):
        self._tracer = tracer

    def _start(
        self, details: grpc.aio.ClientCallDetails
    ) -> tuple[Span, grpc.aio.ClientCallDetails]:
        span_name, attributes = rpc_attributes(details.method)
        span = self._tracer.start_span(span_name, kind=SpanKind.CLIENT, attributes=attributes)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        kept = [(k, v) for k, v in (details.metadata or ()) if k not in _PROPAGATION_KEYS]
        metadata = grpc.aio.Metadata(*kept, *carrier.items())
        new = grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials,
            details.wait_for_ready,
        )  # fmt: skip
        return span, new


# Two classes: a grpc.aio channel files each interceptor under the first call
# type it matches, so one class implementing both would never see a stream.
class UnaryClientInterceptor(_ClientSpans, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        span, details = self._start(client_call_details)
        try:
            call = await continuation(details, request)
            await call
        except grpc.aio.AioRpcError as err:
            finish(span, err.code())
            raise
        except asyncio.CancelledError:
            finish(span, grpc.StatusCode.CANCELLED)
            raise
        except BaseException as exc:
            record_error(span, exc)
            span.end()
            raise
        finish(span, grpc.StatusCode.OK)
        return call


class StreamClientInterceptor(_ClientSpans, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        span, details = self._start(client_call_details)
        try:
            call = await continuation(details, request)
        except BaseException as exc:
            record_error(span, exc)
            span.end()
            raise
        ended = False

        def end(code: grpc.StatusCode) -> None:
            nonlocal ended
            if not ended:
                ended = True
                finish(span, code)

        # A reader that stops early and cancels the call never finishes the
        # iterator below: the call's own completion ends the span then.
        call.add_done_callback(lambda c: end(grpc.StatusCode.CANCELLED) if c.cancelled() else None)

        async def responses() -> AsyncIterator[Any]:
            try:
                async for response in call:
                    yield response
            except grpc.aio.AioRpcError as err:
                end(err.code())
                raise
            except (asyncio.CancelledError, GeneratorExit):
                end(grpc.StatusCode.CANCELLED)
                raise
            end(await call.code())

        return responses()


# -- server --------------------------------------------------------------------------


class ServerSpan:
    """``with ServerSpan(tracer, method, metadata, ctx):`` around a handler."""

    __slots__ = ("_tracer", "_method", "_metadata", "_ctx", "span", "_token")

    def __init__(
        self,
        tracer: trace.Tracer,
        method: str,
        metadata: Mapping[str, Any] | Iterable[tuple[str, Any]] | None,
        servicer_context: grpc.aio.ServicerContext | None,
    ):
        self._tracer, self._method, self._ctx = tracer, method, servicer_context
        self._metadata = metadata
        self.span: Span | None = None
        self._token: object | None = None

    def __enter__(self) -> ServerSpan:
        parent = propagate.extract(metadata_dict(self._metadata), context=otel_context.Context())
        span_name, attributes = rpc_attributes(self._method)
        self.span = span = self._tracer.start_span(
            span_name, context=parent, kind=SpanKind.SERVER, attributes=attributes
        )
        self._token = otel_context.attach(trace.set_span_in_context(span, parent))
        return self

    def __exit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        span = self.span
        assert span is not None
        # The identity is resolved by auth, inside this span: read it again.
        span.set_attribute(names.IDENTITY, binding.current_identity(binding.bound.get()[3]))
        code = self._code(exc)
        if exc is not None and code is grpc.StatusCode.UNKNOWN:
            record_error(span, exc)
        finish(span, code, server=True)
        if self._token is not None:
            detach(self._token)

    def _code(self, exc: BaseException | None) -> grpc.StatusCode:
        set_code = None
        if self._ctx is not None:
            try:
                set_code = self._ctx.code()
            except Exception:  # noqa: BLE001 - older servicer contexts lack code()
                set_code = None
        if isinstance(set_code, grpc.StatusCode):
            return set_code
        if exc is None:
            return grpc.StatusCode.OK
        if isinstance(exc, asyncio.CancelledError | GeneratorExit):
            return grpc.StatusCode.CANCELLED
        return grpc.StatusCode.UNKNOWN


class ServerInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, tracer: trace.Tracer):
        self._tracer = tracer

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        tracer, method = self._tracer, details.method
        metadata = metadata_dict(details.invocation_metadata)

        if handler.unary_unary is not None:
            inner = handler.unary_unary

            async def unary(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
                with ServerSpan(tracer, method, metadata, ctx):
                    return await inner(request, ctx)

            return grpc.unary_unary_rpc_method_handler(
                unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            async def stream(request: Any, ctx: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                with ServerSpan(tracer, method, metadata, ctx):
                    async for item in inner_stream(request, ctx):
                        yield item

            return grpc.unary_stream_rpc_method_handler(
                stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
