"""The pure, deterministic cluster state machine replicated through raft.

No I/O, no clock, no randomness: `apply(state, command)` is a function of
its inputs, so every node that applies the same commands in the same order
holds byte-identical state (`dump_state`).
"""

from __future__ import annotations

from .audit import trace_id_of
from .commands import (
    COMMAND_TYPES,
    ApplyDeployment,
    AssignReplicas,
    Bootstrap,
    Command,
    CreateToken,
    DeleteDeployment,
    Envelope,
    NodeJoin,
    NodeLeave,
    NodeStatusUpdate,
    PurgeDeployment,
    RecordEvent,
    ReplicaAssignment,
    ReplicaStatus,
    ReplicaStop,
    RevokeToken,
    Rollback,
    StopReplicas,
    decode_command,
    encode_command,
)
from .deletion import stopping
from .deployments import MAX_REVISIONS
from .enums import COMMAND_OWNED_TYPES, AuditType, RejectCode, ReplicaState, Role
from .fsm import apply
from .model import (
    AuditEvent,
    Deployment,
    Node,
    Pressure,
    Replica,
    Revision,
    State,
    Token,
    replica_id,
)
from .queries import active_token, last_audit_id, query_audit, replicas_of, replicas_on
from .results import DeploymentRevision, Outcome, Rejected, Result, ResultValue, StatusApplied
from .snapshot import SNAPSHOT_VERSION, dump_state, load_state
from .spec import HealthCheck, Ingress, Resources, ServiceSpec

__all__ = [
    "COMMAND_OWNED_TYPES",
    "COMMAND_TYPES",
    "MAX_REVISIONS",
    "SNAPSHOT_VERSION",
    "ApplyDeployment",
    "AssignReplicas",
    "AuditEvent",
    "AuditType",
    "Bootstrap",
    "Command",
    "CreateToken",
    "DeleteDeployment",
    "Deployment",
    "DeploymentRevision",
    "Envelope",
    "HealthCheck",
    "Ingress",
    "Node",
    "NodeJoin",
    "NodeLeave",
    "NodeStatusUpdate",
    "Outcome",
    "Pressure",
    "PurgeDeployment",
    "RecordEvent",
    "RejectCode",
    "Rejected",
    "Replica",
    "ReplicaAssignment",
    "ReplicaState",
    "ReplicaStatus",
    "ReplicaStop",
    "Resources",
    "Result",
    "ResultValue",
    "RevokeToken",
    "Revision",
    "Role",
    "Rollback",
    "ServiceSpec",
    "State",
    "StatusApplied",
    "StopReplicas",
    "Token",
    "active_token",
    "apply",
    "decode_command",
    "dump_state",
    "encode_command",
    "last_audit_id",
    "load_state",
    "query_audit",
    "replica_id",
    "replicas_of",
    "replicas_on",
    "stopping",
    "trace_id_of",
]
