"""``JACO_OTLP_ENDPOINT`` and ``OTEL_EXPORTER_OTLP_*PROTOCOL`` -> exporter
settings. Pure (no OpenTelemetry import), so it is table-tested directly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

Protocol = Literal["grpc", "http/protobuf"]
PROTOCOLS: tuple[Protocol, ...] = ("grpc", "http/protobuf")


class InvalidEndpoint(ValueError):
    pass


class Exporters(NamedTuple):
    traces_protocol: Protocol
    traces_endpoint: str
    metrics_protocol: Protocol
    metrics_endpoint: str


def protocol(env: Mapping[str, str], signal: str) -> Protocol:
    """The signal-specific variable wins over the general one; gRPC by default."""
    for key in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = env.get(key, "").strip().lower()
        if value:
            if value not in PROTOCOLS:
                raise InvalidEndpoint(
                    f"{key}={value!r}: JACO exports with {' or '.join(PROTOCOLS)}"
                )
            return value  # type: ignore[return-value]
    return "grpc"


def base_url(endpoint: str) -> str:
    """``host:port`` means plaintext (``http://host:port``): the usual local
    collector. ``https://`` asks for TLS (``OTEL_EXPORTER_OTLP_CERTIFICATE``
    for a private CA)."""
    value = endpoint.strip()
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "http", value
    rest = rest.rstrip("/")
    if scheme not in ("http", "https") or not rest or rest.startswith("/"):
        raise InvalidEndpoint(
            f"JACO_OTLP_ENDPOINT={endpoint!r}: expected host:port or http(s)://host:port"
        )
    return f"{scheme}://{rest}"


def signal_url(base: str, proto: Protocol, signal: str) -> str:
    """gRPC takes the base (the exporter uses only host:port and the scheme);
    OTLP/HTTP posts to ``<base>/v1/<signal>``."""
    if proto == "grpc":
        return base
    return f"{base}/v1/{signal}"


def resolve(endpoint: str, env: Mapping[str, str]) -> Exporters:
    base = base_url(endpoint)
    tp, mp = protocol(env, "traces"), protocol(env, "metrics")
    return Exporters(tp, signal_url(base, tp, "traces"), mp, signal_url(base, mp, "metrics"))
