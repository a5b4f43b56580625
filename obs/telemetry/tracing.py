"""Spans, attribute binding and W3C propagation: the half of the facade that
product code calls on every request. Each function checks :data:`current.tel`
first and returns a shared no-op when telemetry is off; OpenTelemetry is
imported only past that check."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from obs.telemetry import binding, current, names
from obs.telemetry.spans import NOOP, LiveSpan, NoopSpan

Span = LiveSpan | NoopSpan
Metadata = Mapping[str, Any] | Iterable[tuple[str, Any]]


# -- spans -----------------------------------------------------------------------------


def span(
    name: str,
    *,
    traceparent: str | None = None,
    context: object | None = None,
    kind: str = "internal",
    attributes: dict[str, Any] | None = None,
    deployment: str | None = None,
    service: str | None = None,
    replica_id: str | None = None,
    identity: str | None = None,
    only_in_trace: bool = False,
) -> Span:
    """A span, current inside the ``with`` (or ``async with``) block; or
    ``.start()`` / ``.end()`` it without making it current.

    Parent: ``context`` (from :func:`extract` / :func:`context_from_traceparent`),
    else a non-empty ``traceparent`` (a command envelope's), else the current
    span. ``only_in_trace``: no span at all unless that parent exists, for
    background work (periodic status reports, replays) that would otherwise
    start a trace of its own every few seconds.
    ``deployment``/``service``/``replica_id``/``identity`` are bound for this
    span and everything started inside it (see :func:`bind`).
    ``kind``: internal, server, client, producer, consumer. An exception leaving
    the block is recorded and marks the span failed.
    """
    tel = current.tel
    if tel is None:
        return NOOP
    parent: Any = context
    if parent is None and traceparent:
        parent = tel.context_from_traceparent(traceparent)
    if only_in_trace and not tel.has_trace(parent):
        return NOOP
    bound = None
    if (deployment, service, replica_id, identity) != (None, None, None, None):
        bound = binding.merged(deployment, service, replica_id, identity)
    return tel.span(name, parent=parent, kind=kind, attributes=attributes, bound=bound)


@contextlib.contextmanager
def _bind(bound: binding.Bound) -> Iterator[None]:
    token = binding.bound.set(bound)
    try:
        yield
    finally:
        binding.reset_token(token)


def bind(
    *,
    deployment: str | None = None,
    service: str | None = None,
    replica_id: str | None = None,
    identity: str | None = None,
) -> contextlib.AbstractContextManager[Any]:
    """Bind span attributes for everything started inside the block (None
    keeps the outer value). Values are exported: never a token, key or secret."""
    if current.tel is None:
        return NOOP
    return _bind(binding.merged(deployment, service, replica_id, identity))


def update(
    *,
    deployment: str | None = None,
    service: str | None = None,
    replica_id: str | None = None,
    identity: str | None = None,
) -> None:
    """Like :func:`bind` without a block: for the rest of the current context
    (an RPC's task, a worker task), and on the current span too."""
    if current.tel is None:
        return
    binding.bound.set(binding.merged(deployment, service, replica_id, identity))
    from opentelemetry import trace

    active_span = trace.get_current_span()
    if active_span.is_recording():
        pairs = ((names.DEPLOYMENT, deployment), (names.SERVICE, service),
                 (names.REPLICA_ID, replica_id), (names.IDENTITY, identity))  # fmt: skip
        for key, value in pairs:
            if value is not None:
                active_span.set_attribute(key, value)


@contextlib.contextmanager
def _use(ctx: Any) -> Iterator[None]:
    from opentelemetry import context as otel_context

    from obs.telemetry.spans import detach

    token = otel_context.attach(ctx)
    try:
        yield
    finally:
        detach(token)


def use_context(parent: object | str | None) -> contextlib.AbstractContextManager[Any]:
    """Make ``parent`` (a context from :func:`extract` /
    :func:`context_from_traceparent`, or a traceparent string) current for the
    block: spans started inside become its children. For work that runs later
    or elsewhere than the request that caused it (an agent's worker)."""
    tel = current.tel
    if tel is None or not parent:
        return NOOP
    if isinstance(parent, str):
        parent = tel.context_from_traceparent(parent)
    return _use(parent)


# The runtime's long-lived operations: a span would last as long as the
# container (wait) or the reader (followed logs).
UNTRACED_RUNTIME_OPS = frozenset({"container_logs", "container_wait"})


def runtime_span(op: str, replica_id: str) -> Span:
    """The runtime's ``observe(op, replica_id)`` hook: ``runtime.<op>``, with
    deployment/service/replica_id taken from the id
    (``<deployment>/<service>/<ordinal>``). Only inside a trace (an agent
    worker acting on an assignment re-enters it with :func:`use_context`), so
    periodic inspects do not each start a trace; never for
    :data:`UNTRACED_RUNTIME_OPS`."""
    if current.tel is None or op in UNTRACED_RUNTIME_OPS:
        return NOOP
    deployment, _, rest = replica_id.partition("/")
    service = rest.partition("/")[0]
    return span(
        names.runtime_span(op),
        deployment=deployment,
        service=service,
        replica_id=replica_id,
        only_in_trace=True,
    )


# -- propagation -------------------------------------------------------------------------


def inject(metadata: Metadata | None = None) -> tuple[tuple[str, Any], ...]:
    """``metadata`` plus the current context's ``traceparent``/``tracestate``/
    ``baggage`` (replacing any already there), as gRPC call metadata. Not
    needed on channels built with :func:`client_interceptors`."""
    items = tuple((metadata.items() if isinstance(metadata, Mapping) else metadata) or ())
    tel = current.tel
    if tel is None:
        return items
    carrier = tel.inject({})
    kept = tuple((k, v) for k, v in items if k.lower() not in carrier)
    return kept + tuple(carrier.items())


def extract(metadata: Metadata | None) -> object | None:
    """The remote parent carried by incoming gRPC metadata (None when off);
    pass it as ``span(..., context=...)`` or to :func:`use_context`."""
    tel = current.tel
    if tel is None:
        return None
    from obs.telemetry.rpc import metadata_dict

    return tel.extract(metadata_dict(metadata))


def current_traceparent() -> str:
    """The current span's W3C traceparent, "" when off or outside a span: what
    raft command envelopes carry so ``raft.apply`` joins the proposer's trace."""
    tel = current.tel
    return "" if tel is None else tel.current_traceparent()


def context_from_traceparent(traceparent: str, tracestate: str = "") -> object | None:
    """A parent context from a traceparent (None when off or empty)."""
    tel = current.tel
    if tel is None or not traceparent:
        return None
    return tel.context_from_traceparent(traceparent, tracestate)


# -- gRPC --------------------------------------------------------------------------------


def client_interceptors() -> list[Any]:
    """For ``grpc.aio.insecure_channel(..., interceptors=...)``: a client span
    per call and traceparent injection. ``[]`` when off."""
    tel = current.tel
    if tel is None:
        return []
    from obs.telemetry.rpc import StreamClientInterceptor, UnaryClientInterceptor

    return [UnaryClientInterceptor(tel.tracer), StreamClientInterceptor(tel.tracer)]


def server_interceptors() -> list[Any]:
    """For ``grpc.aio.server(interceptors=[*server_interceptors(), ...])``,
    first in the list so its span encloses auth and error mapping. ``[]`` when off."""
    tel = current.tel
    if tel is None:
        return []
    from obs.telemetry.rpc import ServerInterceptor

    return [ServerInterceptor(tel.tracer)]


def server_span(
    method: str, metadata: Metadata | None, servicer_context: Any = None
) -> contextlib.AbstractContextManager[Any]:
    """For an existing server interceptor: ``with server_span(method,
    metadata, ctx):`` around the handler (extract, SERVER span, current while
    the handler runs, status from ``ctx.code()``)."""
    tel = current.tel
    if tel is None:
        return NOOP
    from obs.telemetry.rpc import ServerSpan

    return ServerSpan(tel.tracer, method, metadata, servicer_context)
