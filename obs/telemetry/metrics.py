"""The nine instruments of observability.md, on one MeterProvider."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Meter, Observation

from obs.telemetry import names

# (service, state) -> replicas on this node: ``Agent.state_counts``.
StateCounts = Callable[[], Mapping[tuple[str, str], int]]


class Metrics:
    def __init__(self, meter: Meter):
        def histogram(m: names.Metric) -> Histogram:
            return meter.create_histogram(
                m.name, unit=m.unit, description=m.description,
                explicit_bucket_boundaries_advisory=names.SECONDS_BUCKETS,
            )  # fmt: skip

        def counter(m: names.Metric) -> Counter:
            return meter.create_counter(m.name, unit=m.unit, description=m.description)

        self.commit_latency = histogram(names.RAFT_COMMIT_LATENCY)
        self.apply_duration = histogram(names.APPLY_DURATION)
        self.reconcile_lag = histogram(names.RECONCILE_LAG)
        self.ingress_requests = counter(names.INGRESS_REQUESTS)
        self.ingress_duration = histogram(names.INGRESS_DURATION)
        self.cert_renewals = counter(names.CERT_RENEWALS)
        self.container_starts = counter(names.CONTAINER_STARTS)
        self.token_revocation = histogram(names.TOKEN_REVOCATION_PROPAGATION)

        self._lock = threading.Lock()
        self._state_sources: list[StateCounts] = []
        # Every (service, state) ever reported: reported as 0 once gone, so a
        # backend shows the drop instead of holding the last value until stale.
        self._seen: set[tuple[str, str]] = set()
        m = names.REPLICA_STATE
        meter.create_observable_gauge(
            m.name, callbacks=[self._observe_states], unit=m.unit, description=m.description
        )

    def add_state_source(self, source: StateCounts) -> None:
        with self._lock:
            self._state_sources.append(source)

    def _observe_states(self, options: CallbackOptions) -> Iterable[Observation]:
        # Runs on the metric reader's thread. Sources are expected to copy a
        # small dict (Agent.state_counts does), which is safe against the loop.
        totals: dict[tuple[str, str], int] = {}
        with self._lock:
            sources = list(self._state_sources)
        for source in sources:
            counts = _read(source)
            if counts is None:
                return []  # no point beats a false drop to 0
            for key, count in counts.items():
                totals[key] = totals.get(key, 0) + int(count)
        with self._lock:
            self._seen.update(totals)
            keys = sorted(self._seen)
        return [
            Observation(totals.get(key, 0), {"service": key[0], "state": key[1]}) for key in keys
        ]


def _read(source: StateCounts, attempts: int = 3) -> dict[tuple[str, str], int] | None:
    """A source iterating a dict the event loop mutates may raise "changed size
    during iteration": try again; after that, skip this collection."""
    for _ in range(attempts):
        try:
            return dict(source())
        except RuntimeError:
            continue
    return None
