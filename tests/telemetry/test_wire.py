"""The hand encoder (obs/telemetry/wire.py) and the gRPC exporter's settings
(obs/telemetry/export.py): the same bytes and the same configuration as the
SDK's OTLP exporter, which the receivers in the other tests then parse."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from obs.telemetry import binding, export, names
from obs.telemetry.processor import RequiredAttributes
from obs.telemetry.wire import SpanEncoder, Unsupported

REMOTE = trace.set_span_in_context(
    NonRecordingSpan(
        SpanContext(
            0x0AF7651916CD43DD8448EB211C80319C,
            0xB7AD6B7169203331,
            is_remote=True,
            trace_flags=TraceFlags(1),
            trace_state=TraceState([("vendor", "v1"), ("other", "x")]),
        )
    )
)


@pytest.fixture
def recorded() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "jacod", names.NODE: "a", "pid": 7, "f": 0.5})
    )
    provider.add_span_processor(RequiredAttributes())
    provider.add_span_processor(SimpleSpanProcessor(memory))
    binding.Process.cluster_id, binding.Process.node = "c-1", "a"
    try:
        yield provider, memory
    finally:
        binding.Process.cluster_id = binding.Process.node = ""
        provider.shutdown()


def sdk_bytes(spans: Sequence[ReadableSpan]) -> bytes:
    return encode_spans(spans).SerializeToString()


def test_same_bytes_as_the_sdk_encoder(
    recorded: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = recorded
    tracer = provider.get_tracer("jaco")
    other = provider.get_tracer("lib", "1.2", schema_url="https://schema", attributes={"a": "b"})
    rpc = {"rpc.system": "grpc", "rpc.service": "jaco.v1.Control", "rpc.method": "Apply"}
    with tracer.start_as_current_span("jaco.v1.Control/Apply", kind=SpanKind.SERVER,
                                      attributes=rpc) as server:  # fmt: skip
        server.set_attribute("rpc.grpc.status_code", 0)
        with tracer.start_as_current_span(names.RAFT_COMMIT):
            with other.start_as_current_span("child", kind=SpanKind.CLIENT) as child:
                child.add_event("retry", {"attempt": 2, "why": ""})
                child.set_status(Status(StatusCode.ERROR, "boom"))
        with pytest.raises(ValueError), tracer.start_as_current_span("fails"):
            raise ValueError("bad spec")  # an exception event and an error status
        with tracer.start_as_current_span("ok") as ok:
            ok.set_status(Status(StatusCode.OK))
    values = {"s": "ünï∂", "empty": "", "t": True, "f": False, "i": -3, "big": 2**63 - 1,
              "zero": 0, "d": 2.5, "dz": 0.0, "b": b"\x00\x01", "strs": ["a", ""],
              "ints": [1, -1], "none": [], "mixed_ok": (True, False)}  # fmt: skip
    with tracer.start_as_current_span("values", attributes=values):
        pass
    same_scope = provider.get_tracer("jaco")  # another object, equal: one ScopeSpans
    for kind in SpanKind:
        with same_scope.start_as_current_span(f"remote.{kind.name}", context=REMOTE, kind=kind):
            pass
    spans = memory.get_finished_spans()
    encoder = SpanEncoder()
    assert encoder.request(spans) == sdk_bytes(spans)
    assert encoder.request(spans) == sdk_bytes(spans)  # from the caches, too
    for span in spans:
        assert encoder.request([span]) == sdk_bytes([span]), span.name


def test_what_it_leaves_to_the_sdk(
    recorded: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, memory = recorded
    tracer = provider.get_tracer("jaco")
    link = Link(trace.get_current_span(REMOTE).get_span_context())
    with tracer.start_as_current_span("linked", links=[link]):
        pass
    with tracer.start_as_current_span("huge", attributes={"n": 2**64}):
        pass
    linked, huge = memory.get_finished_spans()
    encoder = SpanEncoder()
    for span in (linked, huge):
        with pytest.raises(Unsupported):
            encoder.request([span])
    # The exporter then uses the SDK's encoder: same bytes either way.
    exporter = export.GrpcSpanExporter("http://127.0.0.1:1", {})
    try:
        assert exporter.encode([linked, huge]) == sdk_bytes([linked, huge])
    finally:
        exporter.shutdown()


S = export.Settings
NONE = grpc.Compression.NoCompression


@pytest.mark.parametrize(
    ("endpoint", "env", "expected"),
    [
        ("http://c:4317", {},
         S("c:4317", True, (None, None, None), (), 10.0, NONE, export.RETRYABLE)),
        ("https://c:4317", {"OTEL_EXPORTER_OTLP_INSECURE": "true"},
         S("c:4317", False, (None, None, None), (), 10.0, NONE, export.RETRYABLE)),
        ("http://c:4317", {"OTEL_EXPORTER_OTLP_INSECURE": "false",
                           "OTEL_EXPORTER_OTLP_CERTIFICATE": "/ca.pem",
                           "OTEL_EXPORTER_OTLP_CLIENT_KEY": "/k.pem",
                           "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "/c.pem"},
         S("c:4317", False, ("/ca.pem", "/k.pem", "/c.pem"), (), 10.0, NONE, export.RETRYABLE)),
        ("https://c:4317", {"OTEL_EXPORTER_OTLP_CERTIFICATE": "/ca.pem",
                            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": "/t-ca.pem"},
         S("c:4317", False, ("/t-ca.pem", None, None), (), 10.0, NONE, export.RETRYABLE)),
        ("https://c:4317", {"OTEL_EXPORTER_OTLP_CLIENT_KEY": "/k.pem"},  # no CA file: ignored
         S("c:4317", False, (None, None, None), (), 10.0, NONE, export.RETRYABLE)),
        ("http://c:4317", {"OTEL_EXPORTER_OTLP_TRACES_INSECURE": "false",
                           "OTEL_EXPORTER_OTLP_INSECURE": "true"},
         S("c:4317", False, (None, None, None), (), 10.0, NONE, export.RETRYABLE)),
        ("http://c:4317", {"OTEL_EXPORTER_OTLP_HEADERS": "x-scope-orgid=team-a,b=c%20d",
                           "OTEL_EXPORTER_OTLP_TIMEOUT": "2.5",
                           "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"},
         S("c:4317", True, (None, None, None), (("x-scope-orgid", "team-a"), ("b", "c d")),
           2.5, grpc.Compression.Gzip, export.RETRYABLE)),
        ("http://c:4317", {"OTEL_EXPORTER_OTLP_HEADERS": "a=1",
                           "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "t=2",
                           "OTEL_EXPORTER_OTLP_TIMEOUT": "3",
                           "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "4",
                           export.RETRYABLE_CODES_ENV: "unavailable, aborted"},
         S("c:4317", True, (None, None, None), (("t", "2"),), 4.0, NONE,
           frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED}))),
    ],
)  # fmt: skip
def test_settings_read_the_variables_as_the_sdk_exporter_does(
    endpoint: str, env: dict[str, str], expected: export.Settings
) -> None:
    assert export.settings(endpoint, env) == expected


def test_invalid_compression_is_refused() -> None:
    with pytest.raises(export.InvalidCompression):
        export.settings("http://c:4317", {"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"})


def test_credential_providers_use_the_sdk_exporter() -> None:
    assert not export.needs_sdk_exporter({})
    assert export.needs_sdk_exporter({export.CREDENTIAL_PROVIDERS[0]: "vault"})
