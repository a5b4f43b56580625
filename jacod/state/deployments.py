"""Deployments and their replicas: ApplyDeployment, Rollback, AssignReplicas.

(Deleting one is `deletion.py`.)

Each handler validates everything first and mutates only once it can no
longer reject, so a rejection leaves the state untouched.
"""

from __future__ import annotations

from .audit import append_event
from .commands import ApplyDeployment, AssignReplicas, Rollback
from .deletion import APPLY_AGAIN, deleting_refusal
from .enums import AuditType, ReplicaState
from .model import Deployment, Replica, Revision, State, replica_id
from .results import (
    DeploymentRevision,
    Outcome,
    Result,
    failed_precondition,
    invalid,
    not_found,
)
from .spec import ServiceSpec, name_error, service_errors

# Revisions kept per deployment (oldest dropped first); rollback can reach these.
MAX_REVISIONS = 10


def _push_revision(
    state: State, cmd: ApplyDeployment | Rollback, dep: Deployment, rev: Revision
) -> None:
    dep.revisions.append(rev)
    del dep.revisions[:-MAX_REVISIONS]
    dep.updated_at_ns = cmd.ts_ns
    dep.updated_by = cmd.identity
    state.deployments[dep.name] = dep


def _new_revision(
    cmd: ApplyDeployment | Rollback,
    number: int,
    services: list[ServiceSpec],
    source: str,
    rolled_back_to: int = 0,
) -> Revision:
    return Revision(
        number=number,
        services=list(services),
        source=source,
        created_at_ns=cmd.ts_ns,
        created_by=cmd.identity,
        rolled_back_to=rolled_back_to,
    )


def apply_deployment(state: State, cmd: ApplyDeployment) -> Outcome:
    err = name_error("deployment name", cmd.name) or service_errors(cmd.services)
    if err:
        return invalid(err)
    dep = state.deployments.get(cmd.name)
    if dep is not None and (refusal := deleting_refusal(state, dep, APPLY_AGAIN)):
        return refusal
    if dep is not None and dep.current.services == cmd.services:
        # Re-applying the same file is a no-op: no revision, no event.
        return Result(
            changed=False, value=DeploymentRevision(deployment=dep.name, revision=dep.revision)
        )
    previous = 0
    if dep is None:
        dep = Deployment(name=cmd.name, revisions=[], created_at_ns=cmd.ts_ns)
    else:
        previous = dep.revision
    rev = _new_revision(cmd, previous + 1, cmd.services, cmd.source)
    _push_revision(state, cmd, dep, rev)
    payload = {
        "revision": rev.number,
        "previous_revision": previous,
        "services": [s.name for s in rev.services],
    }
    audit_id = append_event(state, cmd, AuditType.APPLY, payload, deployment=cmd.name)
    value = DeploymentRevision(deployment=cmd.name, revision=rev.number)
    return Result(changed=True, audit_id=audit_id, value=value)


def rollback(state: State, cmd: Rollback) -> Outcome:
    dep = state.deployments.get(cmd.name)
    if dep is None:
        return not_found(f"deployment {cmd.name!r} does not exist")
    if refusal := deleting_refusal(state, dep, f"it cannot be rolled back; {APPLY_AGAIN}"):
        return refusal
    if cmd.to_revision < 0:
        return invalid("to_revision must not be negative")
    current = dep.current
    if cmd.to_revision == 0:
        if len(dep.revisions) < 2:
            return failed_precondition(
                f"deployment {cmd.name!r} has no revision before {current.number} to roll back to"
            )
        target = dep.revisions[-2]
    else:
        found = dep.find_revision(cmd.to_revision)
        if found is None:
            kept = ", ".join(str(r.number) for r in dep.revisions)
            return not_found(
                f"deployment {cmd.name!r} has no revision {cmd.to_revision} (kept: {kept})"
            )
        if found.number == current.number:
            return failed_precondition(
                f"revision {current.number} of {cmd.name!r} is already the current revision"
            )
        target = found
    if target.services == current.services:
        # Same outcome as re-applying the current services: nothing to do.
        return Result(
            changed=False, value=DeploymentRevision(deployment=dep.name, revision=dep.revision)
        )
    # Like `kubectl rollout undo`: a new revision with the target's services,
    # so the history stays linear and the rollback itself can be undone.
    rev = _new_revision(cmd, current.number + 1, target.services, target.source, target.number)
    _push_revision(state, cmd, dep, rev)
    payload = {
        "from": current.number,
        "to": target.number,
        "revision": rev.number,
        "services": [s.name for s in rev.services],
    }
    audit_id = append_event(state, cmd, AuditType.ROLLBACK, payload, deployment=cmd.name)
    value = DeploymentRevision(deployment=cmd.name, revision=rev.number)
    return Result(changed=True, audit_id=audit_id, value=value)


def _assignment_errors(state: State, cmd: AssignReplicas, dep: Deployment) -> str | None:
    """Why the assignments are invalid (code invalid), or None."""
    seen: set[str] = set()
    for i, a in enumerate(cmd.assignments):
        if a.ordinal < 0:
            return f"assignments[{i}].ordinal must not be negative"
        rid = replica_id(dep.name, a.service, a.ordinal)
        if rid in seen:
            return f"assignments[{i}]: replica {rid} is assigned twice"
        seen.add(rid)
        rev = dep.find_revision(a.revision)
        if rev is not None and all(s.name != a.service for s in rev.services):
            return f"assignments[{i}]: revision {a.revision} has no service {a.service!r}"
    return None


def _assignment_preconditions(state: State, cmd: AssignReplicas, dep: Deployment) -> str | None:
    """What the scheduler's view missed (code failed_precondition), or None."""
    for i, a in enumerate(cmd.assignments):
        if a.node not in state.nodes:
            return f"assignments[{i}]: node {a.node!r} is not a member"
        if dep.find_revision(a.revision) is None:
            return f"assignments[{i}]: deployment {dep.name!r} has no revision {a.revision}"
    return None


def assign_replicas(state: State, cmd: AssignReplicas) -> Outcome:
    # Internal (leader scheduler): no audit event; the apply that caused it has one.
    dep = state.deployments.get(cmd.deployment)
    if dep is None:
        return not_found(f"deployment {cmd.deployment!r} does not exist")
    if refusal := deleting_refusal(state, dep, "its replicas are not placed any more"):
        return refusal
    err = _assignment_errors(state, cmd, dep)
    if err:
        return invalid(err)
    err = _assignment_preconditions(state, cmd, dep)
    if err:
        return failed_precondition(err)
    changed = False
    wanted: set[str] = set()
    for a in cmd.assignments:
        rid = replica_id(dep.name, a.service, a.ordinal)
        wanted.add(rid)
        old = state.replicas.get(rid)
        if old is not None and old.node == a.node and old.revision == a.revision:
            continue  # same incarnation: keep its observed state
        # New, moved or upgraded: a new incarnation, observed state starts over.
        state.replicas[rid] = Replica(
            id=rid,
            deployment=dep.name,
            service=a.service,
            ordinal=a.ordinal,
            revision=a.revision,
            node=a.node,
            state=ReplicaState.PENDING,
            updated_at_ns=cmd.ts_ns,
            traceparent=a.traceparent,
        )
        changed = True
    stale = sorted(
        rid for rid, r in state.replicas.items() if r.deployment == dep.name and rid not in wanted
    )
    for rid in stale:
        del state.replicas[rid]
    changed = changed or bool(stale)
    return Result(changed=changed)
