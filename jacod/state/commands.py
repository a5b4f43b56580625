"""Commands on the raft log: a msgspec tagged union, msgpack on the wire.

Each command carries everything its apply needs — notably the time (`ts_ns`,
chosen by the proposer: the FSM never reads a clock), the resolved caller
(`identity`: a token identity, `local` or `system`), the proposing node and
the W3C `traceparent`, so the trace continues on every node.

The tag (map key `cmd`) is the snake_case class name (`apply_deployment`)
and is part of the log format: never rename a command, add a new one instead. Unknown fields are
ignored when decoding, so adding a field with a default is compatible.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .enums import AuditType, ReplicaState, Role
from .model import Pressure
from .spec import ServiceSpec


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Envelope(msgspec.Struct, frozen=True, kw_only=True, tag_field="cmd", tag=_snake):
    """Fields every command carries. Not a command itself."""

    ts_ns: int  # wall clock of the proposer, ns since the epoch
    identity: str  # resolved caller: token identity, `local` or `system`
    node: str  # proposing node
    traceparent: str = ""  # W3C traceparent of the causing request
    # A unix-socket caller's uid (SO_PEERCRED); None for token callers and
    # the daemon itself. Recorded in audit payloads as `peer_uid`.
    peer_uid: int | None = None


# --- cluster membership ---------------------------------------------------


class Bootstrap(Envelope, frozen=True):
    """First command of a new cluster: names it and adds its first node."""

    cluster_id: str
    node_name: str
    address: str
    raft_address: str
    labels: dict[str, str] = {}
    runtime: str = "process"
    node_address: str = ""  # the mutual-TLS node port; "" without one


class NodeJoin(Envelope, frozen=True):
    name: str
    address: str
    raft_address: str
    labels: dict[str, str] = {}
    runtime: str = "process"
    node_address: str = ""


class NodeLeave(Envelope, frozen=True):
    name: str


class ReplicaStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A node's observation of one of its replicas."""

    id: str
    state: ReplicaState
    revision: int = 0  # revision the node runs; 0 = not reported
    restarts: int = 0
    last_error: str = ""
    exit_code: int = 0
    started_at_ns: int = 0
    # (declared port, the host port it is reachable at on the replica's node),
    # sorted; the ingress, DNS SRV answers and discovery use it. Pairs, not a
    # dict: commands are encoded deterministically, which needs str keys.
    ports: tuple[tuple[int, int], ...] = ()


class NodeStatusUpdate(Envelope, frozen=True):
    """Observed replica states (and PSI pressure) of one node. Not audited."""

    node_name: str
    include_pressure: bool = False
    pressure: Pressure | None = None
    replicas: list[ReplicaStatus] = []


# --- deployments ----------------------------------------------------------


class ApplyDeployment(Envelope, frozen=True):
    name: str
    services: list[ServiceSpec]
    source: str = ""  # the spec as submitted, kept with the revision


class Rollback(Envelope, frozen=True):
    name: str
    to_revision: int = 0  # 0: the revision before the current one


class DeleteDeployment(Envelope, frozen=True):
    """Marks the deployment `deleting` (audited); its replicas stay until stopped."""

    name: str


class ReplicaAssignment(msgspec.Struct, frozen=True, kw_only=True):
    """One desired replica; its id is `<deployment>/<service>/<ordinal>`."""

    service: str
    ordinal: int
    revision: int
    node: str
    # The scheduler.reconcile span that placed it: the agent's runtime.<op>
    # spans for this incarnation continue that trace.
    traceparent: str = ""


class AssignReplicas(Envelope, frozen=True):
    """The leader scheduler's full desired placement of one deployment. Not audited."""

    deployment: str
    assignments: list[ReplicaAssignment] = []


class ReplicaStop(msgspec.Struct, frozen=True, kw_only=True):
    """One replica of a deleting deployment to stop and remove."""

    id: str
    # The scheduler.reconcile span that asked: the agent's runtime.<op> spans
    # stopping and removing it continue that trace.
    traceparent: str = ""


class StopReplicas(Envelope, frozen=True):
    """The leader scheduler marks replicas of a deleting deployment for removal. Not audited."""

    deployment: str
    replicas: list[ReplicaStop] = []


class PurgeDeployment(Envelope, frozen=True):
    """The leader scheduler drops a deleting deployment whose replicas are gone.

    Not audited: the `delete` event was written when the deletion began."""

    deployment: str


# --- tokens and standalone events ----------------------------------------


class CreateToken(Envelope, frozen=True):
    token_id: str
    token_identity: str
    role: Role
    secret_hash: str  # only a hash of the secret is ever stored
    expires_at_ns: int | None = None  # None: never expires


class RevokeToken(Envelope, frozen=True):
    token_id: str


class RecordEvent(Envelope, frozen=True):
    """An audit event with no state change of its own (backups, certificates, auth…)."""

    type: AuditType
    deployment: str = ""
    payload: dict[str, Any] = {}


Command = (
    Bootstrap
    | NodeJoin
    | NodeLeave
    | NodeStatusUpdate
    | ApplyDeployment
    | Rollback
    | DeleteDeployment
    | AssignReplicas
    | StopReplicas
    | PurgeDeployment
    | CreateToken
    | RevokeToken
    | RecordEvent
)

COMMAND_TYPES: tuple[type[Envelope], ...] = (
    Bootstrap,
    NodeJoin,
    NodeLeave,
    NodeStatusUpdate,
    ApplyDeployment,
    Rollback,
    DeleteDeployment,
    AssignReplicas,
    StopReplicas,
    PurgeDeployment,
    CreateToken,
    RevokeToken,
    RecordEvent,
)

_encoder = msgspec.msgpack.Encoder(order="deterministic")
_decoder: msgspec.msgpack.Decoder[Command] = msgspec.msgpack.Decoder(Command)


def encode_command(cmd: Command) -> bytes:
    return _encoder.encode(cmd)


def decode_command(data: bytes) -> Command:
    """Decode and type-check a command; raises msgspec.DecodeError (a ValueError)."""
    return _decoder.decode(data)
