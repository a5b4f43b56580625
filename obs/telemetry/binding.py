"""What the span processor stamps on every span, kept in contextvars.

Process-wide: ``jaco.cluster_id`` and ``jaco.node`` (settable later: the
cluster id is known only once raft has started or the node has joined).
Per context: ``deployment``, ``service``, ``replica_id``, ``identity``, bound
by product code with :func:`obs.telemetry.bind` (or ``span(..., service=...)``)
and inherited by every span started below. No OpenTelemetry import here.

Never bind a secret: these values are exported to whoever runs the collector.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from obs.telemetry import names

# (deployment, service, replica_id, identity); None = not bound here.
Bound = tuple[str | None, str | None, str | None, str | None]
FIELDS = ("deployment", "service", "replica_id", "identity")
_UNBOUND: Bound = (None, None, None, None)

bound: contextvars.ContextVar[Bound] = contextvars.ContextVar(
    "jaco_telemetry_bound", default=_UNBOUND
)


class Process:
    """Process-wide values; read on every span start, written rarely."""

    cluster_id: str = ""
    node: str = ""
    # Where the identity comes from when none is bound (jacod: its request
    # contextvar, whose default is `system`).
    identity_source: Callable[[], str] | None = None
    default_identity: str = ""


def merged(
    deployment: str | None = None,
    service: str | None = None,
    replica_id: str | None = None,
    identity: str | None = None,
) -> Bound:
    d, s, r, i = bound.get()
    return (
        d if deployment is None else deployment,
        s if service is None else service,
        r if replica_id is None else replica_id,
        i if identity is None else identity,
    )


def current_identity(explicit: str | None) -> str:
    if explicit is not None:
        return explicit
    source = Process.identity_source
    if source is not None:
        try:
            return str(source())
        except Exception:  # noqa: BLE001 - a broken source must not break a span
            return Process.default_identity
    return Process.default_identity


def attributes() -> dict[str, str]:
    """The six required attributes for a span starting in this context."""
    d, s, r, i = bound.get()
    return {
        names.CLUSTER_ID: Process.cluster_id,
        names.NODE: Process.node,
        names.DEPLOYMENT: d or "",
        names.SERVICE: s or "",
        names.REPLICA_ID: r or "",
        names.IDENTITY: current_identity(i),
    }


def reset_token(token: contextvars.Token[Any]) -> None:
    """Reset a contextvar token, tolerating a different context: an async
    generator closed by the garbage collector runs its ``finally`` elsewhere,
    and that context is being thrown away anyway."""
    try:
        token.var.reset(token)
    except ValueError:
        pass
