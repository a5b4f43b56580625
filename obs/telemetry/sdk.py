"""The enabled path: providers, exporters, propagation. Imported only by
:func:`obs.telemetry.setup` once ``JACO_OTLP_ENDPOINT`` is set.

The SDK reads the standard variables itself: ``OTEL_TRACES_SAMPLER(_ARG)``,
``OTEL_EXPORTER_OTLP_HEADERS`` / ``_TIMEOUT`` / ``_COMPRESSION`` /
``_CERTIFICATE`` / ``_INSECURE``, ``OTEL_BSP_*``, ``OTEL_METRIC_EXPORT_INTERVAL``
/ ``_TIMEOUT``, ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``,
``OTEL_PROPAGATORS``; ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``
override the resource defaults below. The endpoint is always
``JACO_OTLP_ENDPOINT``. Spans over OTLP/gRPC go through
:mod:`obs.telemetry.export`, which reads the exporter variables the same way.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from obs.telemetry import binding, endpoint, names
from obs.telemetry.processor import RequiredAttributes
from obs.telemetry.spans import LiveSpan, format_traceparent

if TYPE_CHECKING:  # the metrics SDK is imported on first use (a CLI records none)
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter

    from obs.telemetry.metrics import Metrics

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
    from obs.telemetry import export

    if export.needs_sdk_exporter(os.environ):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.traces_endpoint)
    return export.GrpcSpanExporter(settings.traces_endpoint, os.environ)


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
        self.meter_provider: MeterProvider | None = None
        self._metrics: Metrics | None = None
        self._closed = False
        self._lock = threading.Lock()

    # -- metrics ---------------------------------------------------------------

    @property
    def metrics(self) -> Metrics:
        """The nine instruments, on a MeterProvider with a periodic reader
        started on first use: jacod registers its replica-state source at
        start; a CLI records nothing and so never loads the metrics SDK."""
        metrics = self._metrics
        if metrics is None:
            with self._lock:
                if self._metrics is None:
                    self._metrics = self._start_metrics()
                metrics = self._metrics
        return metrics

    def _start_metrics(self) -> Metrics:
        from obs.telemetry.metrics import Metrics

        if self._closed:  # a late record racing shutdown: no new exporter thread
            from opentelemetry.metrics import NoOpMeter

            return Metrics(NoOpMeter("jaco"))
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        self.meter_provider = MeterProvider(
            resource=self.resource,
            metric_readers=[PeriodicExportingMetricReader(metric_exporter(self.settings))],
            shutdown_on_exit=False,
        )
        return Metrics(self.meter_provider.get_meter("jaco"))

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
        with self._lock:
            meter_provider = self.meter_provider
        if meter_provider is None:
            return ok
        return meter_provider.force_flush(int(timeout_s * 1000)) and ok

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Export what is buffered, stop the exporter threads. Bounded: an
        unreachable collector must not keep a CLI from exiting (the exporter's
        own retries can take ``OTEL_EXPORTER_OTLP_TIMEOUT``, 10 s by default).
        True if it finished in time."""
        with self._lock:
            if self._closed:
                return True
            self._closed = True
            meter_provider = self.meter_provider

        def close() -> None:
            self.tracer_provider.shutdown()  # the batch processor exports what it holds
            if meter_provider is not None:
                meter_provider.shutdown(timeout_millis=int(timeout_s * 1000))

        worker = threading.Thread(target=close, name="otel-shutdown", daemon=True)
        worker.start()
        worker.join(timeout_s)
        return not worker.is_alive()
