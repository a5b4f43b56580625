"""The nine metric names of observability.md arrive unchanged at a real OTLP
receiver, with the instrument kind, unit and labels docs/telemetry.md lists."""

from __future__ import annotations

import pytest

from obs import telemetry
from obs.telemetry import METRIC_NAMES, names
from tests.helpers.otlp import OtlpReceiver, ReceivedPoint
from tests.telemetry.conftest import flush

SPEC_NAMES = (  # verbatim from the spec page; the constants must not drift
    "jaco_raft_commit_latency_seconds",
    "jaco_apply_duration_seconds",
    "jaco_scheduler_reconcile_lag_seconds",
    "jaco_replica_state",
    "jaco_ingress_requests_total",
    "jaco_ingress_duration_seconds",
    "jaco_cert_renewals_total",
    "jaco_runtime_container_starts_total",
    "jaco_token_revocation_propagation_seconds",
)

OTLP_TYPE = {"histogram": "histogram", "counter": "sum", "observable_gauge": "gauge"}


def record_everything() -> None:
    telemetry.record_commit_latency(0.012)
    telemetry.record_apply_duration(0.0003)
    telemetry.record_reconcile_lag(0.05)
    telemetry.record_token_revocation_propagation(0.02)
    telemetry.record_ingress("web", "GET", 200, 0.004)
    telemetry.record_ingress("web", "GET", 200, 0.006)
    telemetry.record_ingress("web", "POST", 502, 1.5)
    telemetry.record_cert_renewal()
    telemetry.record_container_start("web")
    telemetry.record_container_start("web")
    telemetry.record_container_start("db")
    telemetry.observe_replica_states(lambda: {("web", "running"): 2, ("db", "starting"): 1})


def latest(rx: OtlpReceiver, name: str) -> list[ReceivedPoint]:
    points = rx.points_of(name)
    last = max(p.time_ns for p in points)
    return [p for p in points if p.time_ns == last]


def test_the_constants_are_the_spec() -> None:
    assert METRIC_NAMES == SPEC_NAMES


def test_nine_names_arrive_unchanged(telemetry_on: OtlpReceiver) -> None:
    record_everything()
    flush()
    got = telemetry_on.wait_for_metrics(SPEC_NAMES)
    # Exactly our names: no unit suffix, no rename, nothing extra from us.
    assert {n for n in got if n.startswith("jaco")} == set(SPEC_NAMES)
    for metric in names.METRICS:
        for p in telemetry_on.points_of(metric.name):
            assert p.unit == metric.unit, metric.name
            assert set(p.attributes) == set(metric.labels), metric.name
            assert p.resource["service.name"] == "jacod"
            assert p.resource[names.NODE] == "node-a"
            assert p.type == OTLP_TYPE[metric.instrument], metric.name
            if p.type == "sum":
                assert p.monotonic is True
            if p.type == "histogram":
                assert p.bounds == names.SECONDS_BUCKETS  # seconds, not the SDK's ms buckets


def test_values_and_labels(telemetry_on: OtlpReceiver) -> None:
    record_everything()
    flush()
    telemetry_on.wait_for_metrics(SPEC_NAMES)
    [commit] = latest(telemetry_on, "jaco_raft_commit_latency_seconds")
    assert (commit.count, commit.sum) == (1, pytest.approx(0.012))
    requests = {
        (p.attributes["method"], p.attributes["code"]): p.value
        for p in latest(telemetry_on, "jaco_ingress_requests_total")
    }
    assert requests == {("GET", "200"): 2, ("POST", "502"): 1}
    durations = {
        p.attributes["code"]: p.count for p in latest(telemetry_on, "jaco_ingress_duration_seconds")
    }
    assert durations == {"200": 2, "502": 1}
    starts = {
        p.attributes["service"]: p.value
        for p in latest(telemetry_on, "jaco_runtime_container_starts_total")
    }
    assert starts == {"web": 2, "db": 1}
    states = {
        (p.attributes["service"], p.attributes["state"]): p.value
        for p in latest(telemetry_on, "jaco_replica_state")
    }
    assert states == {("web", "running"): 2, ("db", "starting"): 1}


def test_replica_state_drops_to_zero(telemetry_on: OtlpReceiver) -> None:
    counts = {("web", "starting"): 1}
    telemetry.observe_replica_states(lambda: dict(counts))
    flush()
    telemetry_on.wait_for_metrics({"jaco_replica_state"})
    counts.clear()
    counts[("web", "running")] = 1
    flush()
    states = {
        (p.attributes["service"], p.attributes["state"]): p.value
        for p in latest(telemetry_on, "jaco_replica_state")
    }
    assert states == {("web", "starting"): 0, ("web", "running"): 1}


def test_a_source_racing_the_loop_skips_one_collection(telemetry_on: OtlpReceiver) -> None:
    calls = {"n": 0}

    def racy() -> dict[tuple[str, str], int]:
        calls["n"] += 1
        if calls["n"] <= 3:  # every attempt of the first collection
            raise RuntimeError("dictionary changed size during iteration")
        return {("web", "running"): 1}

    telemetry.observe_replica_states(racy)
    telemetry.record_cert_renewal()
    flush()
    # The failed collection still exported everything else.
    telemetry_on.wait_for_metrics({"jaco_cert_renewals_total"})
    flush()
    telemetry_on.wait_for_metrics({"jaco_replica_state"})
    assert calls["n"] >= 4
    assert {p.value for p in telemetry_on.points_of("jaco_replica_state")} == {1}
