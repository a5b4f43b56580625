"""The enabled path: providers, exporters, propagation. Imported only by
:func:`obs.telemetry.setup` once ``JACO_OTLP_ENDPOINT`` is set.

The SDK reads the standard variables itself: ``OTEL_TRACES_SAMPLER(_ARG)``,
``OTEL_EXPORTER_OTLP_HEADERS`` / ``_TIMEOUT`` / ``_COMPRESSION`` /
``_CERTIFICATE`` / ``_INSECURE``, ``OTEL_BSP_*``, ``OTEL_METRIC_EXPORT_INTERVAL``
/ ``_TIMEOUT``, ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``,
``OTEL_PROPAGATORS``; ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``
override the resource defaults below. The endpoint is always
``JACO_OTLP_ENDPOINT``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from obs.telemetry import binding, endpoint, names
from obs.telemetry.metrics import Metrics
from obs.telemetry.processor import RequiredAttributes
from obs.telemetry.spans import LiveSpan, format_traceparent

KINDS = {
    "internal": SpanKind.INTERNAL,
    "server": SpanKind.SERVER,
    "client": SpanKind.CLIENT,
    "producer": SpanKind.PRODUCER,
    "consumer": SpanKind.CONSUMER,
}
_W3C = TraceContextTextMapPropagator()


def make_resource(service_name: str, cluster_id: str, node: str) -> Resource:
    """Our defaults, under whatever OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES set."""
    ours: dict[str, Any] = {"service.name": service_name, names.NODE: node}
    if cluster_id:
        ours[names.CLUSTER_ID] = cluster_id
    from_env = dict(OTELResourceDetector().detect().attributes)
    return Resource.create({**ours, **from_env})


def span_exporter(settings: endpoint.Exporters) -> SpanExporter:
    if settings.traces_protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        return HttpSpanExporter(endpoint=settings.traces_endpoint)
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=settings.traces_endpoint)


def metric_exporter(settings: endpoint.Exporters) -> MetricExporter:
    if settings.metrics_protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpMetricExporter,
        )

        return HttpMetricExporter(endpoint=settings.metrics_endpoint)
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter(endpoint=settings.metrics_endpoint)


class Telemetry:
    """One process's providers. Not installed as the OpenTelemetry globals:
    JACO's spans go through :mod:`obs.telemetry` only, and tests can run more
    than one in a process."""

    def __init__(
        self,
        service_name: str,
        otlp_endpoint: str,
        *,
        cluster_id: str = "",
        node: str = "",
    ):
        settings = endpoint.resolve(otlp_endpoint, os.environ)
        self.settings = settings
        self.service_name = service_name
        self.resource = make_resource(service_name, cluster_id, node)
        self.tracer_provider = TracerProvider(resource=self.resource, shutdown_on_exit=False)
        # First: on_start runs in order, and the attributes must be on the span
        # before any other processor looks at it.
        self.tracer_provider.add_span_processor(RequiredAttributes())
        self.tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter(settings)))
        self.tracer = self.tracer_provider.get_tracer("jaco")
        self.meter_provider = MeterProvider(
            resource=self.resource,
            metric_readers=[PeriodicExportingMetricReader(metric_exporter(settings))],
            shutdown_on_exit=False,
        )
        self.metrics = Metrics(self.meter_provider.get_meter("jaco"))
        self._closed = False
        self._lock = threading.Lock()

    # -- spans ---------------------------------------------------------------

    def span(
        self,
        name: str,
        *,
        parent: Context | None = None,
        kind: str = "internal",
        attributes: dict[str, Any] | None = None,
        bound: binding.Bound | None = None,
    ) -> LiveSpan:
        return LiveSpan(self.tracer, name, parent, KINDS[kind], attributes, bound)

    @staticmethod
    def has_trace(parent: Context | None) -> bool:
        """A valid parent span in ``parent`` (or, when None, the current context)."""
        return trace.get_current_span(parent).get_span_context().is_valid

    # -- propagation -------------------------------------------------------------

    @staticmethod
    def inject(carrier: dict[str, str]) -> dict[str, str]:
        """Current context -> ``traceparent``/``tracestate``/``baggage`` keys
        (``OTEL_PROPAGATORS`` decides which)."""
        propagate.inject(carrier)
        return carrier

    @staticmethod
    def extract(carrier: Mapping[str, str]) -> Context:
        return propagate.extract(carrier, context=Context())

    @staticmethod
    def current_traceparent() -> str:
        return format_traceparent(trace.get_current_span())

    @staticmethod
    def context_from_traceparent(traceparent: str, tracestate: str = "") -> Context:
        carrier = {"traceparent": traceparent}
        if tracestate:
            carrier["tracestate"] = tracestate
        return _W3C.extract(carrier, context=Context())

    # -- lifecycle -------------------------------------------------------------------

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        ok = self.tracer_provider.force_flush(int(timeout_s * 1000))
        return self.meter_provider.force_flush(int(timeout_s * 1000)) and ok

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Export what is buffered, stop the exporter threads. Bounded: an
        unreachable collector must not keep a CLI from exiting (the exporter's
        own retries can take ``OTEL_EXPORTER_OTLP_TIMEOUT``, 10 s by default).
        True if it finished in time."""
        with self._lock:
            if self._closed:
                return True
            self._closed = True

        def close() -> None:
            self.tracer_provider.shutdown()  # the batch processor exports what it holds
            self.meter_provider.shutdown(timeout_millis=int(timeout_s * 1000))

        worker = threading.Thread(target=close, name="otel-shutdown", daemon=True)
        worker.start()
        worker.join(timeout_s)
        return not worker.is_alive()
