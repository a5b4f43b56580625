"""Exporter behaviour: OTLP/HTTP when asked, the standard OTEL_* variables,
and the flush on shutdown that keeps a CLI's spans."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from obs import telemetry
from obs.telemetry import SPAN_ATTRIBUTES, names
from tests.helpers import clean_env, free_port
from tests.helpers.otlp import OtlpHttpReceiver, OtlpReceiver
from tests.telemetry.conftest import flush, reset_telemetry


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No telemetry yet and a clean OTEL_*/JACO_* environment; the test sets
    variables, then calls setup itself. Request it after the receiver, so the
    final flush at teardown still has somewhere to go."""
    reset_telemetry()
    import os

    for key in [k for k in os.environ if k.startswith(("OTEL_", "JACO_"))]:
        monkeypatch.delenv(key)
    try:
        yield monkeypatch
    finally:
        reset_telemetry()


def test_http_protobuf_protocol(otlp_http: OtlpHttpReceiver, fresh: pytest.MonkeyPatch) -> None:
    for key, value in otlp_http.env().items():
        fresh.setenv(key, value)
    tel = telemetry.setup("jaco", node="laptop")
    assert tel is not None and tel.settings.traces_protocol == "http/protobuf"
    with telemetry.span(names.CLI_APPLY, identity="alice"):
        pass
    telemetry.record_commit_latency(0.01)
    telemetry.shutdown()
    spans = otlp_http.wait_for_spans({names.CLI_APPLY})
    otlp_http.wait_for_metrics({"jaco_raft_commit_latency_seconds"})
    assert {"/v1/traces", "/v1/metrics"} <= set(otlp_http.paths)
    [span] = spans
    assert span.resource["service.name"] == "jaco"
    assert set(SPAN_ATTRIBUTES) <= set(span.attributes)
    assert all(h.get("content-type") == "application/x-protobuf" for h in otlp_http.headers)


def test_standard_otel_variables_keep_working(
    otlp: OtlpReceiver, fresh: pytest.MonkeyPatch
) -> None:
    for key, value in otlp.env().items():
        fresh.setenv(key, value)
    fresh.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-scope-orgid=team-a")
    fresh.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,host.name=n1")
    fresh.setenv("OTEL_SERVICE_NAME", "jacod-eu")
    assert telemetry.setup("jacod", node="a") is not None
    with telemetry.span("s"):
        pass
    telemetry.record_cert_renewal()
    flush()
    [span] = otlp.wait_for_spans({"s"})
    otlp.wait_for_metrics({"jaco_cert_renewals_total"})
    assert span.resource["deployment.environment"] == "prod"
    assert span.resource["host.name"] == "n1"
    assert span.resource["service.name"] == "jacod-eu"  # the operator's override wins
    assert span.resource[names.NODE] == "a"
    assert all(h.get("x-scope-orgid") == "team-a" for h in otlp.headers)


def test_sampler_variable(otlp: OtlpReceiver, fresh: pytest.MonkeyPatch) -> None:
    for key, value in otlp.env().items():
        fresh.setenv(key, value)
    fresh.setenv("OTEL_TRACES_SAMPLER", "always_off")
    assert telemetry.setup("jacod") is not None
    with telemetry.span("dropped") as s:
        # Not sampled, still propagated (flag 00) so downstream agrees.
        assert not s.recording
        assert int(telemetry.current_traceparent()[-2:], 16) & 0x01 == 0
    telemetry.record_cert_renewal()
    flush()
    otlp.wait_for_metrics({"jaco_cert_renewals_total"})
    assert otlp.spans == []


CLI = """
import json, sys, threading
from obs import telemetry
assert telemetry.setup("jaco", node="laptop") is not None
with telemetry.span("cli.apply", identity="local"):
    with telemetry.span("child"):
        pass
telemetry.record_commit_latency(0.5)
print(json.dumps({
    "sdk": "opentelemetry.sdk" in sys.modules,
    "threads": sorted(t.name for t in threading.enumerate()),
}))
if sys.argv[1] == "explicit":
    telemetry.shutdown()
"""


@pytest.mark.parametrize("how", ["explicit", "atexit"])
def test_a_short_lived_process_loses_nothing(otlp: OtlpReceiver, how: str) -> None:
    """Default intervals (5 s batch delay, 60 s metric interval): only the
    flush at shutdown can deliver these before the process is gone."""
    env = clean_env({"JACO_OTLP_ENDPOINT": otlp.endpoint})
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", CLI, how], env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["sdk"] is True and len(info["threads"]) > 1  # on: exporter threads exist
    # Received already: the process exported before exiting.
    names_now = {s.name for s in otlp.spans}
    assert names_now == {"cli.apply", "child"}, proc.stderr
    assert "jaco_raft_commit_latency_seconds" in otlp.metric_names()
    assert elapsed < 4.5  # did not wait for the 5 s batch delay
    [root] = otlp.spans_named("cli.apply")
    assert root.resource["service.name"] == "jaco"


def test_shutdown_is_bounded_when_the_collector_is_down(otlp: OtlpReceiver) -> None:
    code = (
        "import time\nfrom obs import telemetry\n"
        "telemetry.setup('jaco')\n"
        "with telemetry.span('cli.apply'):\n    pass\n"
        "t0 = time.monotonic()\ntelemetry.shutdown(timeout_s=1.0)\n"
        "print(time.monotonic() - t0)\n"
    )
    env = clean_env({"JACO_OTLP_ENDPOINT": f"127.0.0.1:{free_port()}"})  # nobody listens
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip()) < 2.0
    assert time.monotonic() - t0 < 10


SPANS_ONLY = """
import json, sys
from obs import telemetry
assert telemetry.setup("jaco") is not None
with telemetry.span("cli.apply", identity="local"):
    pass
loaded = sorted(sys.modules)
telemetry.shutdown()
print(json.dumps(loaded))
"""


def test_a_cli_that_records_no_metric_loads_only_the_trace_sdk(otlp: OtlpReceiver) -> None:
    """What `jaco` pays for at start: the trace SDK and JACO's own OTLP/gRPC
    exporter, not the metrics or logs SDKs (the SDK's OTLP exporter module
    imports both, ~25 ms); the MeterProvider starts on the first record."""
    env = clean_env({"JACO_OTLP_ENDPOINT": otlp.endpoint})
    proc = subprocess.run(
        [sys.executable, "-c", SPANS_ONLY], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout))
    assert "opentelemetry.sdk.trace" in loaded
    for heavy in ("opentelemetry.sdk.metrics", "opentelemetry.sdk._logs",
                  "opentelemetry.exporter.otlp.proto.grpc.exporter"):  # fmt: skip
        assert heavy not in loaded, heavy
    [span] = otlp.wait_for_spans({"cli.apply"})
    assert span.resource["service.name"] == "jaco"
    assert otlp.metric_names() == set()
