"""`apply(state, command)`: the one entry point of the replicated state machine.

Pure and deterministic: no I/O, no clock, no randomness. Every node applies
the same commands in the same order and ends with byte-identical
`dump_state` output. A command either changes the state together with its
audit event, or is rejected and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .audit import append_event, json_payload
from .commands import (
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
    RevokeToken,
    Rollback,
    StopReplicas,
)
from .deletion import delete_deployment, purge_deployment, stop_replicas
from .deployments import apply_deployment, assign_replicas, rollback
from .enums import COMMAND_OWNED_TYPES, AuditType
from .model import State
from .nodes import bootstrap, node_join, node_leave, node_status_update
from .results import Outcome, Result, failed_precondition, invalid
from .tokens import create_token, revoke_token


def record_event(state: State, cmd: RecordEvent) -> Outcome:
    """An audit event that has no other state change (backup_taken, auth_denied, …)."""
    if cmd.type not in tuple(AuditType):
        return invalid(f"unknown audit event type {cmd.type!r}")
    kind = AuditType(cmd.type)
    if kind in COMMAND_OWNED_TYPES:
        return invalid(f"{kind.value} events are only written by their own command")
    payload, err = json_payload(cmd.payload)
    if err:
        return invalid(err)
    audit_id = append_event(state, cmd, kind, payload, deployment=cmd.deployment)
    return Result(changed=True, audit_id=audit_id)


# The handler of each command type. Typed loosely here only: each handler is
# called with exactly the type it is registered for.
_HANDLERS: dict[type[Envelope], Callable[[State, Any], Outcome]] = {
    Bootstrap: bootstrap,
    NodeJoin: node_join,
    NodeLeave: node_leave,
    NodeStatusUpdate: node_status_update,
    ApplyDeployment: apply_deployment,
    Rollback: rollback,
    DeleteDeployment: delete_deployment,
    AssignReplicas: assign_replicas,
    StopReplicas: stop_replicas,
    PurgeDeployment: purge_deployment,
    CreateToken: create_token,
    RevokeToken: revoke_token,
    RecordEvent: record_event,
}


def _envelope_error(cmd: Envelope) -> str | None:
    if cmd.ts_ns < 0:
        return "ts_ns must not be negative"
    if not cmd.identity:
        return "identity must not be empty"
    if cmd.peer_uid is not None and not 0 <= cmd.peer_uid < 2**32:
        return f"peer_uid must be a uid (0 to 2^32-1), got {cmd.peer_uid}"
    return None


def apply(state: State, cmd: Command) -> Outcome:
    """Apply `cmd` to `state` in place; return a `Result` or a `Rejected`.

    Every command except `Bootstrap` needs a bootstrapped cluster. The state
    takes ownership of the values inside `cmd` (the adapter applies freshly
    decoded commands, so nothing else holds them).
    """
    handler = _HANDLERS.get(type(cmd))
    if handler is None:
        return invalid(f"unknown command {type(cmd).__name__}")
    err = _envelope_error(cmd)
    if err:
        return invalid(err)
    if not state.cluster_id and not isinstance(cmd, Bootstrap):
        return failed_precondition("the cluster is not bootstrapped")
    return handler(state, cmd)
