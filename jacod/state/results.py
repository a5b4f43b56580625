"""What `apply` returns: a `Result` or a `Rejected`, never an exception.

A rejection is an ordinary, replicated outcome (every node rejects the same
command the same way), so it is a value, not an exception: the raft adapter
hands it back to the proposer and the API layer maps `Rejected.code` to a
gRPC status (not_found → NOT_FOUND, already_exists → ALREADY_EXISTS,
invalid → INVALID_ARGUMENT, failed_precondition → FAILED_PRECONDITION).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from .enums import RejectCode


class DeploymentRevision(msgspec.Struct, frozen=True, kw_only=True, tag="deployment_revision"):
    """Value of ApplyDeployment and Rollback: the deployment's current revision."""

    deployment: str
    revision: int


class StatusApplied(msgspec.Struct, frozen=True, kw_only=True, tag="status_applied"):
    """Value of NodeStatusUpdate: replica ids that were not taken into account."""

    applied: int
    ignored: list[str] = []  # not assigned to the node (or to that revision) any more


ResultValue = DeploymentRevision | StatusApplied | None


class Result(msgspec.Struct, frozen=True, kw_only=True, tag="result"):
    """The command was accepted.

    `changed` is False for idempotent no-ops (re-applying the same services, a
    re-join with the same raft address); those write no audit event.
    `audit_id` is the id of the event the command appended, 0 if none.
    """

    changed: bool
    audit_id: int = 0
    value: ResultValue = None

    @property
    def ok(self) -> Literal[True]:
        return True


class Rejected(msgspec.Struct, frozen=True, kw_only=True, tag="rejected"):
    """The command was refused; the state (and the audit log) is unchanged."""

    code: RejectCode
    message: str

    @property
    def ok(self) -> Literal[False]:
        return False


Outcome = Result | Rejected


def not_found(message: str) -> Rejected:
    return Rejected(code=RejectCode.NOT_FOUND, message=message)


def already_exists(message: str) -> Rejected:
    return Rejected(code=RejectCode.ALREADY_EXISTS, message=message)


def invalid(message: str) -> Rejected:
    return Rejected(code=RejectCode.INVALID, message=message)


def failed_precondition(message: str) -> Rejected:
    return Rejected(code=RejectCode.FAILED_PRECONDITION, message=message)
