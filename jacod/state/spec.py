"""The desired shape of a service, as stored in a deployment revision.

Admission decodes deployment files (TOML/YAML/JSON) into `ServiceSpec`;
the FSM stores it unchanged and re-checks the few invariants the state itself
relies on (`service_errors`), so a bad command can never corrupt the state
even if it bypassed admission.
"""

from __future__ import annotations

import math

import msgspec

HEALTH_KINDS = ("http", "tcp", "exec")
RESTART_POLICIES = ("always", "on-failure", "never")


class Resources(msgspec.Struct, frozen=True, kw_only=True):
    cpu: float = 0.0  # cores
    memory_bytes: int = 0


class HealthCheck(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # http | tcp | exec
    path: str = ""  # http: URL path
    port: int = 0  # http, tcp
    command: list[str] = []  # exec
    interval_s: float = 10.0
    timeout_s: float = 2.0
    retries: int = 3


class Ingress(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    path: str = "/"
    port: int = 0  # replica port the ingress forwards to


class ServiceSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    image: str = ""  # docker runtime
    command: list[str] = []  # process runtime
    replicas: int = 1
    env: dict[str, str] = {}
    ports: list[int] = []
    resources: Resources = Resources()
    health: HealthCheck | None = None
    restart: str = "always"  # always | on-failure | never
    placement: dict[str, str] = {}  # required node labels
    ingress: Ingress | None = None
    workdir: str = ""


def _valid_port(port: int) -> bool:
    return 1 <= port <= 65535


def name_error(what: str, name: str) -> str | None:
    """Why `name` cannot name a deployment or service, or None."""
    # Names become path segments of replica ids (<deployment>/<service>/<ordinal>).
    if not name:
        return f"{what} must not be empty"
    if "/" in name:
        return f"{what} {name!r} must not contain '/'"
    return None


def _health_error(prefix: str, health: HealthCheck) -> str | None:
    if health.kind not in HEALTH_KINDS:
        return f"{prefix}.health.kind must be one of {', '.join(HEALTH_KINDS)}"
    if health.kind in ("http", "tcp") and not _valid_port(health.port):
        return f"{prefix}.health.port must be 1-65535"
    if health.kind == "exec" and not health.command:
        return f"{prefix}.health.command must not be empty"
    for field in ("interval_s", "timeout_s"):
        value = getattr(health, field)
        if not math.isfinite(value) or value <= 0:
            return f"{prefix}.health.{field} must be a positive number"
    if health.retries < 0:
        return f"{prefix}.health.retries must not be negative"
    return None


def service_errors(services: list[ServiceSpec]) -> str | None:
    """The first reason `services` cannot be a revision, naming the field, or None."""
    if not services:
        return "services: a deployment needs at least one service"
    seen: set[str] = set()
    for i, svc in enumerate(services):
        prefix = f"services[{i}]"
        err = name_error(f"{prefix}.name", svc.name)
        if err:
            return err
        if svc.name in seen:
            return f"{prefix}.name {svc.name!r} is used twice"
        seen.add(svc.name)
        if svc.replicas < 0:
            return f"{prefix}.replicas must not be negative"
        if not math.isfinite(svc.resources.cpu) or svc.resources.cpu < 0:
            return f"{prefix}.resources.cpu must be a non-negative number"
        if svc.resources.memory_bytes < 0:
            return f"{prefix}.resources.memory_bytes must not be negative"
        for port in svc.ports:
            if not _valid_port(port):
                return f"{prefix}.ports: {port} is not 1-65535"
        if svc.restart not in RESTART_POLICIES:
            return f"{prefix}.restart must be one of {', '.join(RESTART_POLICIES)}"
        if svc.health is not None:
            err = _health_error(prefix, svc.health)
            if err:
                return err
        if svc.ingress is not None and not _valid_port(svc.ingress.port):
            return f"{prefix}.ingress.port must be 1-65535"
    return None
