"""JACO's OpenTelemetry layer (observability.md, "OpenTelemetry").

Off unless ``JACO_OTLP_ENDPOINT`` is set: then :func:`setup` returns None
before importing anything from ``opentelemetry``, and every function below is
a constant-time no-op (no provider, no exporter thread, no span object, no
metric collection). Product code calls this module the same way either way::

    from obs import telemetry

    telemetry.setup("jacod", node="a")                 # once, at start
    with telemetry.span("raft.commit"):                # a span, or a no-op
        cmd = replace(cmd, traceparent=telemetry.current_traceparent())
    with telemetry.span("raft.apply", traceparent=cmd.traceparent, identity=cmd.identity):
        ...                                            # continues the proposer's trace
    telemetry.record_commit_latency(0.012)             # the nine metrics
    grpc.aio.insecure_channel(t, interceptors=telemetry.client_interceptors())

Every span carries ``jaco.cluster_id``, ``jaco.node``, ``jaco.deployment``,
``jaco.service``, ``jaco.replica_id``, ``jaco.identity`` ("" where not
applicable), stamped by one span processor from :func:`bind` /
:func:`set_cluster` / :func:`set_identity_source`. Never bind a secret.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from obs.telemetry import binding, current, names
from obs.telemetry.names import ENV, METRIC_NAMES, SPAN_ATTRIBUTES
from obs.telemetry.record import (
    observe_replica_states,
    record_apply_duration,
    record_cert_renewal,
    record_commit_latency,
    record_container_start,
    record_ingress,
    record_reconcile_lag,
    record_token_revocation_propagation,
)
from obs.telemetry.spans import LiveSpan, NoopSpan
from obs.telemetry.tracing import (
    UNTRACED_RUNTIME_OPS,
    Span,
    bind,
    client_interceptors,
    context_from_traceparent,
    current_traceparent,
    extract,
    inject,
    runtime_span,
    server_interceptors,
    server_span,
    span,
    update,
    use_context,
)

if TYPE_CHECKING:
    from obs.telemetry.sdk import Telemetry

__all__ = [
    "ENV",
    "METRIC_NAMES",
    "SPAN_ATTRIBUTES",
    "UNTRACED_RUNTIME_OPS",
    "LiveSpan",
    "NoopSpan",
    "Span",
    "bind",
    "client_interceptors",
    "context_from_traceparent",
    "current_traceparent",
    "enabled",
    "extract",
    "get",
    "inject",
    "names",
    "observe_replica_states",
    "record_apply_duration",
    "record_cert_renewal",
    "record_commit_latency",
    "record_container_start",
    "record_ingress",
    "record_reconcile_lag",
    "record_token_revocation_propagation",
    "runtime_span",
    "server_interceptors",
    "server_span",
    "set_cluster",
    "set_identity_source",
    "setup",
    "shutdown",
    "span",
    "update",
    "use_context",
]

_atexit_registered = False


# -- lifecycle -------------------------------------------------------------------


def setup(
    service_name: str,
    *,
    cluster_id: str = "",
    node: str = "",
) -> Telemetry | None:
    """Enable telemetry if ``JACO_OTLP_ENDPOINT`` is set; None (and nothing
    imported) otherwise. ``service_name`` is ``jacod`` or ``jaco``.

    Also off when ``OTEL_SDK_DISABLED=true``. A malformed endpoint or protocol
    is logged (subsystem ``telemetry``) and leaves telemetry off: a typo in an
    observability setting must not stop a node or fail a CLI command.
    """
    global _atexit_registered
    environ = os.environ
    target = environ.get(ENV, "").strip()
    if not target or environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if current.tel is not None:
        set_cluster(cluster_id=cluster_id or None, node=node or None)
        return current.tel

    from obs.logging import get_logger
    from obs.telemetry import endpoint

    log = get_logger("telemetry")
    try:
        settings = endpoint.resolve(target, environ)
    except endpoint.InvalidEndpoint as exc:
        log.warning("telemetry disabled: invalid setting", extra={"error": str(exc)})
        return None

    from obs.telemetry.sdk import Telemetry

    binding.Process.cluster_id, binding.Process.node = cluster_id, node
    current.tel = Telemetry(service_name, target, cluster_id=cluster_id, node=node)
    if not _atexit_registered:
        atexit.register(shutdown)
        _atexit_registered = True
    log.info(
        "telemetry enabled",
        extra={
            "traces_endpoint": settings.traces_endpoint,
            "traces_protocol": settings.traces_protocol,
            "metrics_endpoint": settings.metrics_endpoint,
            "metrics_protocol": settings.metrics_protocol,
        },
    )
    return current.tel


def get() -> Telemetry | None:
    return current.tel


def enabled() -> bool:
    return current.tel is not None


def shutdown(timeout_s: float = 5.0) -> None:
    """Flush spans and metrics and stop the exporter threads (bounded by
    ``timeout_s``). Call it before a process exits: the CLI's spans are
    otherwise lost. Safe to call twice, or when telemetry is off."""
    tel, current.tel = current.tel, None
    if tel is not None:
        tel.shutdown(timeout_s)


def set_cluster(*, cluster_id: str | None = None, node: str | None = None) -> None:
    """Set ``jaco.cluster_id`` / ``jaco.node`` for spans started from now on
    (the cluster id is known once raft has started or the join answered).
    The resource keeps what :func:`setup` was given: it is immutable."""
    if cluster_id is not None:
        binding.Process.cluster_id = cluster_id
    if node is not None:
        binding.Process.node = node


def set_identity_source(source: Callable[[], str] | None, default: str = "") -> None:
    """Where ``jaco.identity`` comes from when no :func:`bind` set one (jacod:
    its request contextvar, ``jacod.api.context.identity.get``)."""
    binding.Process.identity_source = source
    binding.Process.default_identity = default
