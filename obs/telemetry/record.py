"""Recording the nine metrics of observability.md ("Metric names"). Each call
is a no-op when telemetry is off; the instruments live in ``metrics.py``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from obs.telemetry import current


def record_commit_latency(seconds: float) -> None:
    """``jaco_raft_commit_latency_seconds``: propose -> applied, on the proposer."""
    if (tel := current.tel) is not None:
        tel.metrics.commit_latency.record(seconds)


def record_apply_duration(seconds: float) -> None:
    """``jaco_apply_duration_seconds``: FSM apply of one command, every node."""
    if (tel := current.tel) is not None:
        tel.metrics.apply_duration.record(seconds)


def record_reconcile_lag(seconds: float) -> None:
    """``jaco_scheduler_reconcile_lag_seconds``: change committed -> reconcile done."""
    if (tel := current.tel) is not None:
        tel.metrics.reconcile_lag.record(seconds)


def record_token_revocation_propagation(seconds: float) -> None:
    """``jaco_token_revocation_propagation_seconds``: revoke committed -> applied here."""
    if (tel := current.tel) is not None:
        tel.metrics.token_revocation.record(seconds)


def record_ingress(service: str, method: str, code: int | str, seconds: float) -> None:
    """``jaco_ingress_requests_total`` +1 and ``jaco_ingress_duration_seconds``,
    both labelled {service, method, code}: one proxied request."""
    if (tel := current.tel) is not None:
        labels = {"service": service, "method": method, "code": str(code)}
        tel.metrics.ingress_requests.add(1, labels)
        tel.metrics.ingress_duration.record(seconds, labels)


def record_cert_renewal() -> None:
    """``jaco_cert_renewals_total`` +1: one successful renewal."""
    if (tel := current.tel) is not None:
        tel.metrics.cert_renewals.add(1)


def record_container_start(service: str) -> None:
    """``jaco_runtime_container_starts_total{service}`` +1: a successful start."""
    if (tel := current.tel) is not None:
        tel.metrics.container_starts.add(1, {"service": service})


def observe_replica_states(source: Callable[[], Mapping[tuple[str, str], int]]) -> None:
    """``jaco_replica_state{service, state}``: ``source`` (``Agent.state_counts``)
    is called on the metric reader's thread at each collection."""
    if (tel := current.tel) is not None:
        tel.metrics.add_state_source(source)
