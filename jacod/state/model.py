"""The replicated cluster state: plain msgspec Structs, no behaviour.

Everything here is written by `apply` only and serialised by `snapshot`.
Times are integer nanoseconds since the epoch taken from commands (`ts_ns`),
never from a clock. Dicts are keyed by name/id; snapshots sort their keys, so
insertion order never reaches the bytes.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .enums import AuditType, ReplicaState, Role
from .spec import ServiceSpec


class Pressure(msgspec.Struct, frozen=True, kw_only=True):
    """cgroup-v2 PSI averages: percent of time stalled over 10 s."""

    available: bool = True  # false where PSI is not readable
    cpu_some_avg10: float = 0.0
    memory_some_avg10: float = 0.0
    memory_full_avg10: float = 0.0
    io_some_avg10: float = 0.0
    io_full_avg10: float = 0.0
    sampled_at_ns: int = 0


class Node(msgspec.Struct, kw_only=True):
    name: str
    address: str  # gRPC host:port
    raft_address: str  # raft host:port
    labels: dict[str, str] = {}
    runtime: str = "process"  # process | docker
    joined_at_ns: int = 0
    # Node-to-node (mutual TLS) host:port; "" for a node recorded before it was
    # advertised: peers then assume the default, `address`'s port + 2.
    node_address: str = ""
    pressure: Pressure | None = None  # latest report with include_pressure
    last_status_ns: int = 0  # ts of the latest NodeStatusUpdate; 0 = never


class Revision(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    services: list[ServiceSpec]
    source: str = ""  # the spec as applied (TOML/YAML/JSON text)
    created_at_ns: int = 0
    created_by: str = ""
    rolled_back_to: int = 0  # for a rollback: the revision whose services were copied


class Deployment(msgspec.Struct, kw_only=True):
    name: str
    revisions: list[Revision]  # oldest first, never empty; the last one is current
    created_at_ns: int = 0
    updated_at_ns: int = 0
    updated_by: str = ""  # identity of the last apply/rollback
    # A tombstone: `DeleteDeployment` sets it, the leader's scheduler then asks
    # for every replica to be stopped and removed (`StopReplicas`) and drops the
    # deployment once they are (`PurgeDeployment`). No apply or rollback meanwhile.
    deleting: bool = False
    deleted_at_ns: int = 0
    deleted_by: str = ""  # identity of the delete

    @property
    def current(self) -> Revision:
        return self.revisions[-1]

    @property
    def revision(self) -> int:
        return self.revisions[-1].number

    def find_revision(self, number: int) -> Revision | None:
        for rev in self.revisions:
            if rev.number == number:
                return rev
        return None


def replica_id(deployment: str, service: str, ordinal: int) -> str:
    """The stable replica id: `<deployment>/<service>/<ordinal>`."""
    return f"{deployment}/{service}/{ordinal}"


class Replica(msgspec.Struct, kw_only=True):
    id: str  # <deployment>/<service>/<ordinal>
    deployment: str
    service: str
    ordinal: int
    revision: int
    node: str
    # Observed, reported by the node through NodeStatusUpdate.
    state: ReplicaState = ReplicaState.PENDING
    restarts: int = 0
    last_error: str = ""
    exit_code: int = 0
    started_at_ns: int = 0
    updated_at_ns: int = 0
    traceparent: str = ""  # of the reconcile that created this incarnation
    ports: tuple[tuple[int, int], ...] = ()  # (declared port, host port on `node`), reported
    # Desired: stop and remove it (its deployment is being deleted); `traceparent`
    # is then the reconcile that asked. The node reports `stopped` once it is removed.
    removing: bool = False


class Token(msgspec.Struct, kw_only=True):
    id: str
    identity: str
    role: Role
    secret_hash: str  # never leaves the state: not in events, not in logs
    created_at_ns: int = 0
    created_by: str = ""
    expires_at_ns: int | None = None  # None: never expires
    revoked: bool = False
    revoked_at_ns: int | None = None

    def active_at(self, now_ns: int) -> bool:
        if self.revoked:
            return False
        return self.expires_at_ns is None or now_ns < self.expires_at_ns


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: int  # strictly increasing from 1, never reused
    ts_ns: int  # non-decreasing in id order (see audit.append_event)
    type: AuditType
    identity: str  # token identity, `local` or `system`
    payload: dict[str, Any] = {}  # JSON-compatible; never logged
    deployment: str = ""  # empty when not about a deployment
    node: str = ""  # node that proposed the change
    trace_id: str = ""  # W3C trace id of the causing request, "" if none


# dict=True: room for derived caches that are never encoded (audit_index.py).
class State(msgspec.Struct, kw_only=True, dict=True):
    """The whole replicated state. Mutated in place by `apply` only."""

    cluster_id: str = ""  # "" until Bootstrap
    nodes: dict[str, Node] = {}
    deployments: dict[str, Deployment] = {}
    replicas: dict[str, Replica] = {}
    tokens: dict[str, Token] = {}
    # Append-only, sorted by id and (non-strictly) by ts_ns: both are indexes.
    audit: list[AuditEvent] = []
    # Kept apart from `audit` so ids are never reused even if events are ever
    # pruned from the front of the log.
    last_audit_id: int = 0
