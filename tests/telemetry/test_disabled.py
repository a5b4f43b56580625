"""JACO_OTLP_ENDPOINT unset: the SDK is never imported, no thread is started,
no span object exists — however much the product calls the facade.

Each check runs in a fresh interpreter so nothing this test process imported
leaks in."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.helpers import clean_env

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

# Every call product code makes, with telemetry off.
EXERCISE = f"""
import json, sys, threading
threads_before = {{t.ident for t in threading.enumerate()}}
from obs import telemetry
tel = telemetry.setup("jacod", cluster_id="c", node="a")
assert tel is None and not telemetry.enabled() and telemetry.get() is None
telemetry.set_cluster(cluster_id="c2", node="b")
telemetry.set_identity_source(lambda: "system")
spans = []
with telemetry.span("cli.apply", identity="alice") as s:
    spans.append(s)
    s.set_attribute("k", 1); s.add_event("e"); s.set_error("x")
    assert s.traceparent == "" and not s.recording
    with telemetry.bind(deployment="d", service="web", replica_id="d/web/0", identity="bob"):
        telemetry.update(identity="carol")
        with telemetry.span("raft.commit", traceparent={TP!r}, kind="client") as s2:
            spans.append(s2)
            assert telemetry.current_traceparent() == ""
with telemetry.use_context({TP!r}):
    with telemetry.runtime_span("image_pull", "d/web/0") as s4:
        spans.append(s4)
s5 = telemetry.span("scheduler.reconcile.web", service="web", only_in_trace=True).start()
spans.append(s5)
s5.end()
assert telemetry.context_from_traceparent({TP!r}) is None
assert telemetry.inject([("x-a", "b")]) == (("x-a", "b"),)
assert telemetry.extract({{"traceparent": {TP!r}}}) is None
assert telemetry.client_interceptors() == [] and telemetry.server_interceptors() == []
with telemetry.server_span("/jaco.v1.Control/Apply", {{"traceparent": {TP!r}}}, None) as s3:
    spans.append(s3)
telemetry.record_commit_latency(0.1)
telemetry.record_apply_duration(0.1)
telemetry.record_reconcile_lag(0.1)
telemetry.record_token_revocation_propagation(0.1)
telemetry.record_ingress("web", "GET", 200, 0.1)
telemetry.record_cert_renewal()
telemetry.record_container_start("web")
called = []
telemetry.observe_replica_states(lambda: called.append(1) or {{}})
telemetry.shutdown()
new_threads = [t.name for t in threading.enumerate() if t.ident not in threads_before]
print(json.dumps({{
    "otel": sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"),
    "grpc": "grpc" in sys.modules,
    "new_threads": new_threads,
    "distinct_spans": len({{id(s) for s in spans}}),
    "noop": all(s is telemetry.spans.NOOP for s in spans),
    "state_source_called": bool(called),
}}))
"""


def run(code: str, env: dict[str, str | None]) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"JACO_OTLP_ENDPOINT": ""},
        {"JACO_OTLP_ENDPOINT": "   "},
        # The standard kill switch wins over the endpoint.
        {"JACO_OTLP_ENDPOINT": "127.0.0.1:4317", "OTEL_SDK_DISABLED": "true"},
        # A malformed endpoint is reported and leaves telemetry off, SDK unloaded.
        {"JACO_OTLP_ENDPOINT": "ftp://collector:4317"},
        {"JACO_OTLP_ENDPOINT": "127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
    ],
    ids=["unset", "empty", "blank", "otel-sdk-disabled", "bad-scheme", "bad-protocol"],
)
def test_disabled_facade_imports_nothing_starts_nothing(env: dict[str, str | None]) -> None:
    result = run(EXERCISE, env)
    assert result["otel"] == []
    assert result["grpc"] is False  # the facade itself does not pull grpc in either
    assert result["new_threads"] == []
    assert result["distinct_spans"] == 1 and result["noop"] is True
    assert result["state_source_called"] is False


def test_malformed_endpoint_is_logged() -> None:
    code = (
        "import obs.logging as l, logging\n"
        "l.setup_cli(logging.INFO)\n"
        "from obs import telemetry\n"
        "assert telemetry.setup('jaco') is None\n"
        "l.shutdown()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env({"JACO_OTLP_ENDPOINT": "ftp://collector:4317"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "telemetry disabled" in proc.stderr and "JACO_OTLP_ENDPOINT" in proc.stderr
    assert "[telemetry]" in proc.stderr


def test_import_alone_is_light() -> None:
    code = "import json, sys\nimport obs.telemetry\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stdout))
    heavy = {m for m in modules if m.split(".")[0] in ("opentelemetry", "grpc", "google")}
    assert heavy == set()


def test_disabled_span_cost_is_negligible() -> None:
    """Generous bound (CI machines vary): the point is no SDK work per call."""
    from obs import telemetry

    assert not telemetry.enabled()
    n = 100_000
    t0 = time.perf_counter()
    for _ in range(n):
        with telemetry.span("runtime.container_start", replica_id="d/web/0"):
            pass
        telemetry.record_apply_duration(0.001)
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 20e-6, f"{per_call * 1e6:.2f} µs per span+metric with telemetry off"
