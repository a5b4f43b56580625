"""JACO_OTLP_ENDPOINT and the protocol variables -> exporter settings (pure)."""

from __future__ import annotations

import pytest

from obs.telemetry.endpoint import Exporters, InvalidEndpoint, resolve

CASES = [
    # (endpoint, env, expected)
    ("collector:4317", {}, Exporters("grpc", "http://collector:4317", "grpc", "http://collector:4317")),
    ("127.0.0.1:4317", {}, Exporters("grpc", "http://127.0.0.1:4317", "grpc", "http://127.0.0.1:4317")),
    ("http://c:4317", {}, Exporters("grpc", "http://c:4317", "grpc", "http://c:4317")),
    ("https://c:4317/", {}, Exporters("grpc", "https://c:4317", "grpc", "https://c:4317")),
    (
        "c:4318",
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        Exporters("http/protobuf", "http://c:4318/v1/traces", "http/protobuf", "http://c:4318/v1/metrics"),
    ),
    (
        "https://c:4318/otlp",
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "HTTP/PROTOBUF"},
        Exporters("http/protobuf", "https://c:4318/otlp/v1/traces", "http/protobuf", "https://c:4318/otlp/v1/metrics"),
    ),
    # The signal-specific variable wins over the general one.
    (
        "c:4317",
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
         "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
        Exporters("grpc", "http://c:4317", "http/protobuf", "http://c:4317/v1/metrics"),
    ),
    (
        "c:4317",
        {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
        Exporters("grpc", "http://c:4317", "http/protobuf", "http://c:4317/v1/metrics"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "env", "expected"), CASES)
def test_resolve(endpoint: str, env: dict[str, str], expected: Exporters) -> None:
    assert resolve(endpoint, env) == expected


@pytest.mark.parametrize(
    ("endpoint", "env", "message"),
    [
        ("ftp://c:21", {}, "expected host:port or http(s)://host:port"),
        ("http://", {}, "expected host:port"),
        ("http:///v1", {}, "expected host:port"),
        ("c:4317", {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "grpc or http/protobuf"),
    ],
)
def test_invalid(endpoint: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidEndpoint, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve(endpoint, env)
