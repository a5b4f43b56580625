"""The contract of observability.md, as constants (no OpenTelemetry import).

These names are what operators query: never rename one. The tests assert
each arrives unchanged at a real OTLP receiver.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

# Set on jacod / jaco to enable telemetry; unset or empty means the SDK is
# never imported.
ENV: Final = "JACO_OTLP_ENDPOINT"

CLUSTER_ID: Final = "jaco.cluster_id"
NODE: Final = "jaco.node"
DEPLOYMENT: Final = "jaco.deployment"
SERVICE: Final = "jaco.service"
REPLICA_ID: Final = "jaco.replica_id"
IDENTITY: Final = "jaco.identity"

# Every span carries these six, "" where not applicable.
SPAN_ATTRIBUTES: Final = (CLUSTER_ID, NODE, DEPLOYMENT, SERVICE, REPLICA_ID, IDENTITY)

# The spec's chain for an apply (rollback and delete: cli.rollback, cli.delete).
CLI_APPLY: Final = "cli.apply"
CLI_ROLLBACK: Final = "cli.rollback"
CLI_DELETE: Final = "cli.delete"
RAFT_COMMIT: Final = "raft.commit"
RAFT_APPLY: Final = "raft.apply"


def reconcile_span(service: str) -> str:
    return f"scheduler.reconcile.{service}"


def runtime_span(op: str) -> str:
    return f"runtime.{op}"


Instrument = Literal["histogram", "counter", "observable_gauge"]


class Metric(NamedTuple):
    name: str
    instrument: Instrument
    unit: str
    labels: tuple[str, ...]
    description: str


# Units are UCUM ("s" for seconds; "{...}" annotations for counts). OTLP carries
# name and unit separately: no suffix is added on the wire. Names already end in
# the Prometheus suffix, so a collector's Prometheus exporter adds nothing either.
RAFT_COMMIT_LATENCY = Metric(
    "jaco_raft_commit_latency_seconds", "histogram", "s", (),
    "Propose to applied, on the proposing node (forwarding to the leader included).",
)  # fmt: skip
APPLY_DURATION = Metric(
    "jaco_apply_duration_seconds", "histogram", "s", (),
    "State-machine apply time of one command, on every node.",
)  # fmt: skip
RECONCILE_LAG = Metric(
    "jaco_scheduler_reconcile_lag_seconds", "histogram", "s", (),
    "From a change's commit (its proposer's timestamp) to the end of the reconcile it caused.",
)  # fmt: skip
REPLICA_STATE = Metric(
    "jaco_replica_state", "observable_gauge", "{replica}", ("service", "state"),
    "Replicas on this node by service and state.",
)  # fmt: skip
INGRESS_REQUESTS = Metric(
    "jaco_ingress_requests_total", "counter", "{request}", ("service", "method", "code"),
    "Requests proxied by this node's ingress.",
)  # fmt: skip
INGRESS_DURATION = Metric(
    "jaco_ingress_duration_seconds", "histogram", "s", ("service", "method", "code"),
    "Duration of one proxied ingress request.",
)  # fmt: skip
CERT_RENEWALS = Metric(
    "jaco_cert_renewals_total", "counter", "{renewal}", (),
    "Successful certificate renewals by this node.",
)  # fmt: skip
CONTAINER_STARTS = Metric(
    "jaco_runtime_container_starts_total", "counter", "{start}", ("service",),
    "Successful runtime starts of a replica on this node.",
)  # fmt: skip
TOKEN_REVOCATION_PROPAGATION = Metric(
    "jaco_token_revocation_propagation_seconds", "histogram", "s", (),
    "From a token revocation's commit (proposer's timestamp) to its apply on this node.",
)  # fmt: skip

METRICS: Final = (
    RAFT_COMMIT_LATENCY,
    APPLY_DURATION,
    RECONCILE_LAG,
    REPLICA_STATE,
    INGRESS_REQUESTS,
    INGRESS_DURATION,
    CERT_RENEWALS,
    CONTAINER_STARTS,
    TOKEN_REVOCATION_PROPAGATION,
)
METRIC_NAMES: Final = tuple(m.name for m in METRICS)

# Seconds, from a fast local apply (~1 ms) to a slow image pull (minutes). The
# SDK's default buckets are meant for milliseconds and would put every
# observation of ours in the first one.
SECONDS_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip
