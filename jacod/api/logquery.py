"""What a log request asks for, the records a log stream carries, and which
applied changes matter to a stream."""

from __future__ import annotations

import asyncio
from operator import itemgetter

import msgspec

from jaco.v1 import control_pb2
from jacod import errors
from jacod.cluster.bus import Applied, Event, Resync
from jacod.runtime.base import LogEntry
from jacod.state import (
    ApplyDeployment,
    AssignReplicas,
    CreateToken,
    DeleteDeployment,
    NodeStatusUpdate,
    RecordEvent,
    RevokeToken,
    Rollback,
)

_QUIET = (NodeStatusUpdate, CreateToken, RevokeToken, RecordEvent)  # never move replicas

# A log line while it is merged: (ts_ns, replica_id, node, stream, line). A
# plain tuple: hundreds of thousands a second go through the merge.
Record = tuple[int, str, str, str, str]
ts_of = itemgetter(0)


class LogQuery(msgspec.Struct, frozen=True, kw_only=True):
    deployment: str
    service: str
    replica_id: str = ""
    follow: bool = False
    since_ns: int = 0
    tail: int = 0
    previous: bool = False

    @classmethod
    def from_pb(cls, req: control_pb2.LogsRequest) -> LogQuery:
        dep, svc, rid = req.deployment, req.service, req.replica_id
        if rid:
            parts = rid.split("/")
            if len(parts) != 3 or not all(parts):
                raise errors.InvalidArgument(
                    f"replica_id: expected DEPLOYMENT/SERVICE/ORDINAL, got {rid!r}"
                )
            dep, svc = dep or parts[0], svc or parts[1]
            if (parts[0], parts[1]) != (dep, svc):
                raise errors.InvalidArgument(f"replica {rid} is not a replica of {dep}/{svc}")
        if not dep or not svc:
            raise errors.InvalidArgument("deployment and service are required (or a replica_id)")
        if req.previous and req.follow:
            raise errors.InvalidArgument("previous cannot be combined with follow: that run ended")
        since = req.since.ToNanoseconds() if req.HasField("since") else 0
        return cls(deployment=dep, service=svc, replica_id=rid, follow=req.follow,
                   since_ns=max(since, 0), tail=req.tail, previous=req.previous)  # fmt: skip

    def to_pb(self) -> control_pb2.LogsRequest:
        req = control_pb2.LogsRequest(
            deployment=self.deployment, service=self.service, replica_id=self.replica_id,
            follow=self.follow, tail=self.tail, previous=self.previous,
        )  # fmt: skip
        if self.since_ns:
            req.since.FromNanoseconds(self.since_ns)
        return req

    def matches(self, deployment: str, service: str, replica_id: str) -> bool:
        if self.replica_id:
            return replica_id == self.replica_id
        return deployment == self.deployment and service == self.service

    def after(self, since_ns: int) -> LogQuery:
        """The same stream from ``since_ns`` on, untailed: for late or resumed sources."""
        return msgspec.structs.replace(self, since_ns=max(self.since_ns, since_ns), tail=0)

    @property
    def name(self) -> str:
        return self.replica_id or f"{self.deployment}/{self.service}"


def records(entries: list[LogEntry], node: str) -> list[Record]:
    return [(e.ts_ns, e.replica_id, node, e.stream, e.line) for e in entries]


def system_record(ts_ns: int, replica_id: str, node: str, text: str) -> Record:
    """A line of jacod's own (a source lost, the deployment deleted)."""
    return (ts_ns, replica_id, node, "system", text)


def relevant(event: Event, q: LogQuery) -> bool:
    """Whether ``event`` may change which replicas (or nodes) the stream covers."""
    if isinstance(event, Resync):
        return True
    if not isinstance(event, Applied):
        return False
    cmd = event.command
    if isinstance(cmd, _QUIET):
        return False
    if isinstance(cmd, AssignReplicas):
        return cmd.deployment == q.deployment
    if isinstance(cmd, ApplyDeployment | Rollback | DeleteDeployment):
        return cmd.name == q.deployment
    return True  # a restore (None), a node joining or leaving


async def next_relevant(q: LogQuery, events: asyncio.Queue[Event], timeout: float | None) -> bool:
    """Wait for an event that matters (True) or ``timeout`` (False); bursts count once."""
    try:
        async with asyncio.timeout(timeout):
            while not relevant(await events.get(), q):
                pass
    except TimeoutError:
        return False
    while not events.empty():
        events.get_nowait()
    return True
