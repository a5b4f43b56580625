"""Closed vocabularies of the cluster state.

Values are the spec's short names: the lower-cased suffix of the proto enum
(`AUDIT_EVENT_TYPE_TOKEN_REVOKE` is `token_revoke`). They are what is stored in
the raft log and in snapshots, so renaming a value is a format change.
"""

from __future__ import annotations

from enum import StrEnum


class AuditType(StrEnum):
    """The closed set of audit event types (proto `AuditEventType`)."""

    APPLY = "apply"
    ROLLBACK = "rollback"
    DELETE = "delete"
    TOKEN_CREATE = "token_create"
    TOKEN_REVOKE = "token_revoke"
    NODE_JOIN = "node_join"
    NODE_LEAVE = "node_leave"
    BACKUP_TAKEN = "backup_taken"
    CERTIFICATE_RENEWED = "certificate_renewed"
    CERTIFICATE_RENEWAL_FAILED = "certificate_renewal_failed"
    ISOLATION_RULESET_RECONCILED = "isolation_ruleset_reconciled"
    ISOLATION_DRIFT_DETECTED = "isolation_drift_detected"
    AUTH_DENIED = "auth_denied"


# Types emitted by a dedicated command together with its state change. A
# `RecordEvent` may not forge them: an `apply` event without an apply would
# break "no event without its change".
COMMAND_OWNED_TYPES: frozenset[AuditType] = frozenset(
    {
        AuditType.APPLY,
        AuditType.ROLLBACK,
        AuditType.DELETE,
        AuditType.TOKEN_CREATE,
        AuditType.TOKEN_REVOKE,
        AuditType.NODE_JOIN,
        AuditType.NODE_LEAVE,
    }
)


class ReplicaState(StrEnum):
    """Observed lifecycle state of one replica (proto `ReplicaState`)."""

    PENDING = "pending"
    PULLING = "pulling"
    STARTING = "starting"
    RUNNING = "running"
    UNHEALTHY = "unhealthy"
    EXITED = "exited"
    FAILED = "failed"
    STOPPED = "stopped"


class Role(StrEnum):
    """Token roles, each including the rights of the one before."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class RejectCode(StrEnum):
    """Why the FSM refused a command; the API layer maps each to a gRPC status."""

    NOT_FOUND = "not_found"  # NOT_FOUND
    ALREADY_EXISTS = "already_exists"  # ALREADY_EXISTS
    INVALID = "invalid"  # INVALID_ARGUMENT
    FAILED_PRECONDITION = "failed_precondition"  # FAILED_PRECONDITION
