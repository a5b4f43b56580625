"""Subsystem keys: the spec's list, ours, and where third-party loggers go.

Every record that leaves a handler carries exactly one of these in
``subsystem``. Loggers are created only through :func:`obs.logging.get_logger`,
which names them ``jaco.<subsystem>``; records from other libraries are mapped
by logger name below, and anything unknown lands in ``external``.
"""

from __future__ import annotations

# The spec's keys (observability.md, "Subsystem keys"), verbatim.
SPEC_SUBSYSTEMS = (
    "raft",
    "scheduler",
    "scheduler/rebalance",
    "scheduler/pressure",
    "runtime",
    "discovery",
    "ingress",
    "controlplane",
    "admission",
    "bootstrap",
    "wgmesh",
    "firewall",
    "dns",
    "health",
)

# Keys we add: the daemon's own lifecycle, the agent that converges replicas,
# the PKI, the audit trail, telemetry itself, the CLI, and unmapped libraries.
JACO_SUBSYSTEMS = (
    "daemon",
    "agent",
    "pki",
    "audit",
    "telemetry",
    "cli",
    "tui",
    "external",
)

SUBSYSTEMS = frozenset(SPEC_SUBSYSTEMS + JACO_SUBSYSTEMS)

LOGGER_PREFIX = "jaco."

# Third-party logger name (or dotted prefix) -> subsystem.
THIRD_PARTY = {
    "grpc": "controlplane",
    "grpc._cython": "controlplane",
    "pysyncobj": "raft",
    "asyncio": "daemon",
    "opentelemetry": "telemetry",
    "textual": "tui",
    "aiodocker": "runtime",
    "aiohttp.access": "ingress",
    "aiohttp": "ingress",
    "concurrent.futures": "daemon",
}


def subsystem_for(logger_name: str) -> str:
    """The subsystem of a record emitted by ``logger_name``."""
    if logger_name.startswith(LOGGER_PREFIX):
        key = logger_name[len(LOGGER_PREFIX) :]
        return key if key in SUBSYSTEMS else "external"
    name = logger_name
    while name:
        mapped = THIRD_PARTY.get(name)
        if mapped is not None:
            return mapped
        name = name.rpartition(".")[0]
    return "external"
