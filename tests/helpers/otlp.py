"""Real OTLP receivers in the test process: what an OpenTelemetry collector
would get from jacod / jaco, flattened into plain dicts.

- :class:`OtlpReceiver`: the OTLP/gRPC collector services
  (``opentelemetry.proto.collector.{trace,metrics}.v1``) on ``127.0.0.1:0``.
- :class:`OtlpHttpReceiver`: OTLP/HTTP (``POST /v1/traces``, ``/v1/metrics``,
  protobuf bodies, gzip or not) on ``127.0.0.1:0``.

Both run on their own threads, so sync tests, asyncio tests and subprocesses
can all export to them. Use as a context manager or pytest fixture::

    with OtlpReceiver() as rx:
        env = clean_env(rx.env())            # JACO_OTLP_ENDPOINT + short intervals
        ... start jacod / run jaco with env ...
        spans = rx.wait_for_spans(lambda s: any(x.name == "cli.apply" for x in s))
        rx.wait_for_metrics({"jaco_raft_commit_latency_seconds"})

Every wait has a bounded timeout and fails with what did arrive.
"""

from __future__ import annotations

import gzip
import http.server
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

# Short intervals so tests see exports within ~0.1-0.3 s.
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "50", "OTEL_METRIC_EXPORT_INTERVAL": "200"}


def any_value(v: common_pb2.AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attributes(v.kvlist_value.values)
    return getattr(v, kind)


def attributes(kvs: Iterable[common_pb2.KeyValue]) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in kvs}


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_span_id: str  # "" for a root span
    kind: str  # "internal", "server", "client", "producer", "consumer"
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status: str  # "unset", "ok", "error"
    status_message: str
    start_ns: int
    end_ns: int
    scope: str
    events: list[str] = field(default_factory=list)

    @property
    def service(self) -> str:
        return str(self.resource.get("service.name", ""))

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-01"


@dataclass(frozen=True)
class ReceivedPoint:
    metric: str
    unit: str
    type: str  # "sum", "gauge", "histogram", "exponential_histogram", "summary"
    attributes: dict[str, Any]
    resource: dict[str, Any]
    value: float | None = None  # sum / gauge
    count: int | None = None  # histogram
    sum: float | None = None  # histogram
    bounds: tuple[float, ...] = ()
    monotonic: bool | None = None
    time_ns: int = 0


def flatten_spans(req: trace_service_pb2.ExportTraceServiceRequest) -> list[ReceivedSpan]:
    out = []
    for rs in req.resource_spans:
        resource = attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(
                    ReceivedSpan(
                        name=s.name,
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(),
                        kind=trace_pb2.Span.SpanKind.Name(s.kind)
                        .removeprefix("SPAN_KIND_")
                        .lower(),
                        attributes=attributes(s.attributes),
                        resource=resource,
                        status=trace_pb2.Status.StatusCode.Name(s.status.code)
                        .removeprefix("STATUS_CODE_")
                        .lower(),
                        status_message=s.status.message,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        scope=ss.scope.name,
                        events=[e.name for e in s.events],
                    )
                )
    return out


def flatten_metrics(req: metrics_service_pb2.ExportMetricsServiceRequest) -> list[ReceivedPoint]:
    out: list[ReceivedPoint] = []
    for rm in req.resource_metrics:
        resource = attributes(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data") or ""
                if not kind:
                    continue
                data = getattr(m, kind)
                for p in data.data_points:
                    common: dict[str, Any] = {
                        "metric": m.name,
                        "unit": m.unit,
                        "type": kind,
                        "attributes": attributes(p.attributes),
                        "resource": resource,
                        "time_ns": p.time_unix_nano,
                    }
                    if kind in ("sum", "gauge"):
                        value = p.as_double if p.WhichOneof("value") == "as_double" else p.as_int
                        monotonic = data.is_monotonic if kind == "sum" else None
                        out.append(ReceivedPoint(**common, value=value, monotonic=monotonic))
                    elif kind == "histogram":
                        out.append(
                            ReceivedPoint(
                                **common,
                                count=p.count,
                                sum=p.sum,
                                bounds=tuple(p.explicit_bounds),
                            )
                        )
                    else:
                        out.append(ReceivedPoint(**common))
    return out


class Collected:
    """What arrived, thread-safe; the waits poll it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self._points: list[ReceivedPoint] = []
        self.headers: list[dict[str, str]] = []  # request metadata / HTTP headers, per export
        self.trace_exports = 0
        self.metric_exports = 0

    # -- receiving (called from server threads) --------------------------------

    def add_spans(self, spans: list[ReceivedSpan], headers: Mapping[str, str]) -> None:
        with self._lock:
            self._spans.extend(spans)
            self.headers.append(dict(headers))
            self.trace_exports += 1

    def add_points(self, points: list[ReceivedPoint], headers: Mapping[str, str]) -> None:
        with self._lock:
            self._points.extend(points)
            self.headers.append(dict(headers))
            self.metric_exports += 1

    # -- reading --------------------------------------------------------------------

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    @property
    def points(self) -> list[ReceivedPoint]:
        with self._lock:
            return list(self._points)

    def metric_names(self) -> set[str]:
        return {p.metric for p in self.points}

    def points_of(self, name: str) -> list[ReceivedPoint]:
        return [p for p in self.points if p.metric == name]

    def spans_named(self, name: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.name == name]

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [s for s in self.spans if s.trace_id == trace_id]

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()
            self._points.clear()
            self.headers.clear()

    # -- waiting -----------------------------------------------------------------------

    def wait_until(
        self, check: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}; received spans "
                    f"{sorted({s.name for s in self.spans})}, metrics {sorted(self.metric_names())}"
                )
            time.sleep(0.02)

    def wait_for_spans(
        self,
        names: Iterable[str] | Callable[[list[ReceivedSpan]], bool],
        timeout: float = 10.0,
    ) -> list[ReceivedSpan]:
        """All spans received once every name in ``names`` has arrived (or the
        predicate over all spans holds)."""
        if callable(names):
            pred = names
            what = "spans matching a predicate"
        else:
            wanted = set(names)
            what = f"spans {sorted(wanted)}"

            def pred(spans: list[ReceivedSpan]) -> bool:
                return wanted <= {s.name for s in spans}

        return self.wait_until(lambda: (s := self.spans) and pred(s) and s, timeout, what)  # type: ignore[no-any-return]

    def wait_for_metrics(self, names: Iterable[str], timeout: float = 10.0) -> set[str]:
        wanted = set(names)
        self.wait_until(lambda: wanted <= self.metric_names(), timeout, f"metrics {sorted(wanted)}")
        return self.metric_names()


# -- OTLP/gRPC -------------------------------------------------------------------------


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink: Collected):
        self._sink = sink

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802 - gRPC
        self._sink.add_spans(flatten_spans(request), dict(context.invocation_metadata()))
        return trace_service_pb2.ExportTraceServiceResponse()


class _MetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, sink: Collected):
        self._sink = sink

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802 - gRPC
        self._sink.add_points(flatten_metrics(request), dict(context.invocation_metadata()))
        return metrics_service_pb2.ExportMetricsServiceResponse()


class OtlpReceiver(Collected):
    """OTLP/gRPC on 127.0.0.1 (an ephemeral port), plaintext."""

    protocol = "grpc"

    def __init__(self) -> None:
        super().__init__()
        self._server: grpc.Server | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        """What JACO_OTLP_ENDPOINT takes: host:port (plaintext)."""
        return f"127.0.0.1:{self.port}"

    def env(self, **overrides: str) -> dict[str, str]:
        """Variables that make a jacod / jaco export here, quickly."""
        return {"JACO_OTLP_ENDPOINT": self.endpoint, **FAST_EXPORT, **overrides}

    def start(self) -> OtlpReceiver:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="otlp-rx")
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsService(self), server)
        self.port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait(5)
            self._server = None

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- OTLP/HTTP ----------------------------------------------------------------------------


class OtlpHttpReceiver(Collected):
    """OTLP/HTTP with protobuf bodies on 127.0.0.1 (an ephemeral port)."""

    protocol = "http/protobuf"

    def __init__(self) -> None:
        super().__init__()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.paths: list[str] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "JACO_OTLP_ENDPOINT": self.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            **FAST_EXPORT,
            **overrides,
        }

    def start(self) -> OtlpHttpReceiver:
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                sink.paths.append(self.path)
                if self.path == "/v1/traces":
                    req = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                    sink.add_spans(flatten_spans(req), headers)
                    reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                elif self.path == "/v1/metrics":
                    mreq = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                    sink.add_points(flatten_metrics(mreq), headers)
                    reply = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="otlp-http-rx",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> OtlpHttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- trace shape helpers -----------------------------------------------------------------------


def by_id(spans: Iterable[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.span_id: s for s in spans}


def ancestors(span: ReceivedSpan, spans: Iterable[ReceivedSpan]) -> list[ReceivedSpan]:
    """Parent, grandparent, ... as far as the received spans go."""
    index = by_id(spans)
    out, cur = [], span
    while cur.parent_span_id and cur.parent_span_id in index:
        cur = index[cur.parent_span_id]
        out.append(cur)
    return out


def chain(span: ReceivedSpan, spans: Iterable[ReceivedSpan]) -> list[str]:
    """Names from the root down to ``span``."""
    return [s.name for s in reversed(ancestors(span, spans))] + [span.name]


def without_rpc(names: Iterable[str], spans: Iterable[ReceivedSpan]) -> list[str]:
    """``chain`` minus RPC client/server spans (``rpc.system`` set): what the
    spec's chain (cli.apply -> raft.commit -> ...) is compared with."""
    rpc_names = {s.name for s in spans if "rpc.system" in s.attributes}
    return [n for n in names if n not in rpc_names]
