"""What the console reads, and from where: the one interface between the app
and a cluster. ``ClientSource`` adapts the real ``Client``; ``FakeSource``
scripts the same thing for tests. Neither this module nor its types import
textual, so the data layer can be tested (and benchmarked) on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from jaco.logview import Line
from jaco.tui.pump import Inflight

Status = dict[str, Any]  # jaco.render.to_dict(GetStatusResponse): what `jaco status -o json` prints
AuditEvent = dict[str, Any]  # jaco.render.to_dict(AuditEvent)

ConnKind = Literal["connecting", "connected", "reconnecting", "error"]


@dataclass(frozen=True)
class ConnState:
    kind: ConnKind
    detail: str = ""


@dataclass(frozen=True)
class LogRequest:
    """A service's merged lines (or one replica's): backlog, then follow."""

    deployment: str
    service: str
    replica_id: str = ""  # empty: every replica of the service
    since_ns: int = 0
    tail: int = 0

    @property
    def label(self) -> str:
        if self.replica_id:
            return self.replica_id
        return f"{self.deployment}/{self.service}"


@dataclass(frozen=True)
class AuditFilter:
    """Which audit events the pane tails; applied by the server."""

    types: frozenset[str] = field(default_factory=frozenset)  # short names; empty: every type
    identity: str = ""
    deployment: str = ""

    def matches(self, event: AuditEvent) -> bool:
        return (
            (not self.types or event["type"] in self.types)
            and (not self.identity or event["identity"] == self.identity)
            and (not self.deployment or event["deployment"] == self.deployment)
        )

    def describe(self) -> str:
        parts = []
        if self.deployment:
            parts.append(f"deployment {self.deployment}")
        if self.types:
            parts.append("type " + ",".join(sorted(self.types)))
        if self.identity:
            parts.append(f"identity {self.identity}")
        return " · ".join(parts)


class DataSource(Protocol):
    """Streams the console consumes. Every stream rides out a dropped
    connection by itself (status: a fresh snapshot; audit: after the last id;
    logs: since the last timestamp, deduplicated), so the app never sees a
    gap or a duplicate, only ``connection()`` saying what is going on."""

    @property
    def target(self) -> str: ...

    def now(self) -> float:
        """Wall clock, seconds (fixed in tests)."""
        ...

    def connection(self) -> AsyncIterator[ConnState]: ...

    def status(self) -> AsyncIterator[Status]: ...

    def logs(self, request: LogRequest) -> AsyncIterator[list[Line]]:
        """Batches of lines, as they arrive (never empty)."""
        ...

    def audit(self, flt: AuditFilter) -> AsyncIterator[AuditEvent]: ...

    def idle(self) -> bool:
        """Nothing is on its way right now (tests wait for this)."""
        ...

    async def close(self) -> None: ...


class Host(Protocol):
    """What panes need from the app that hosts them (the source can be
    switched at run time, so panes look it up rather than keep it)."""

    source: DataSource
    inflight: Inflight
    flush_s: float
    buffer_lines: int


class ConnectionTracker:
    """The latest connection state, fanned out to every ``watch()``er."""

    def __init__(self) -> None:
        self.state = ConnState("connecting")
        self._queues: list[asyncio.Queue[ConnState]] = []

    def set(self, state: ConnState) -> None:
        if state == self.state:
            return
        self.state = state
        for q in self._queues:
            q.put_nowait(state)

    async def watch(self) -> AsyncIterator[ConnState]:
        q: asyncio.Queue[ConnState] = asyncio.Queue()
        self._queues.append(q)
        try:
            yield self.state
            while True:
                yield await q.get()
        finally:
            self._queues.remove(q)
