"""Deleting a deployment: DeleteDeployment, StopReplicas, PurgeDeployment.

A delete is a tombstone, not a removal. `DeleteDeployment` (the operator's,
audited) marks the deployment `deleting` and keeps its replicas, so that the
leader's scheduler can ask for each one to be stopped (`StopReplicas`, carrying
the traceparent of its `scheduler.reconcile.<service>` span: the nodes' stop and
remove join the delete's trace) and drop the deployment once the nodes report
them `stopped` (`PurgeDeployment`). Meanwhile the deployment refuses apply,
rollback and new placements (`deleting_refusal`). The two scheduler commands
are not audited: the closed set has no type for them, and the `delete` event
already records the operator's decision.

Each handler validates everything first and mutates only once it can no
longer reject, so a rejection leaves the state untouched.
"""

from __future__ import annotations

from .audit import append_event
from .commands import DeleteDeployment, PurgeDeployment, StopReplicas
from .enums import AuditType, ReplicaState
from .model import Deployment, State
from .results import Outcome, Rejected, Result, failed_precondition, invalid, not_found

# What an apply refused meanwhile should do next.
APPLY_AGAIN = "apply again once `jaco status` no longer lists it"


def stopping(state: State, deployment: str) -> int:
    """Replicas of ``deployment`` not yet reported stopped and removed."""
    return sum(
        1
        for r in state.replicas.values()
        if r.deployment == deployment and not (r.removing and r.state == ReplicaState.STOPPED)
    )


def deleting_refusal(state: State, dep: Deployment, refused: str) -> Rejected | None:
    """FAILED_PRECONDITION for ``refused`` (what the caller wanted) while ``dep`` is
    being deleted, or None when it is not."""
    if not dep.deleting:
        return None
    left = stopping(state, dep.name)
    return failed_precondition(
        f"deployment {dep.name} is being deleted ({left} "
        f"replica{'' if left == 1 else 's'} still stopping); {refused}"
    )


def delete_deployment(state: State, cmd: DeleteDeployment) -> Outcome:
    dep = state.deployments.get(cmd.name)
    if dep is None:
        return not_found(f"deployment {cmd.name!r} does not exist")
    if dep.deleting:
        # Already on its way out: the first delete has the event.
        return Result(changed=False)
    dep.deleting = True
    dep.deleted_at_ns = cmd.ts_ns
    dep.deleted_by = cmd.identity
    replicas = sum(1 for r in state.replicas.values() if r.deployment == cmd.name)
    payload = {"revision": dep.revision, "replicas_removed": replicas}
    audit_id = append_event(state, cmd, AuditType.DELETE, payload, deployment=cmd.name)
    return Result(changed=True, audit_id=audit_id)


def _deleting(state: State, name: str) -> Deployment | Rejected:
    dep = state.deployments.get(name)
    if dep is None:
        return not_found(f"deployment {name!r} does not exist")
    if not dep.deleting:
        return failed_precondition(f"deployment {name!r} is not being deleted")
    return dep


def stop_replicas(state: State, cmd: StopReplicas) -> Outcome:
    # Internal (leader scheduler): no audit event; the delete that caused it has one.
    dep = _deleting(state, cmd.deployment)
    if isinstance(dep, Rejected):
        return dep
    ids = [s.id for s in cmd.replicas]
    if len(set(ids)) != len(ids):
        return invalid("a replica is listed twice")
    for i, rid in enumerate(ids):
        r = state.replicas.get(rid)
        if r is None or r.deployment != dep.name:
            return failed_precondition(f"replicas[{i}]: {rid} is not a replica of {dep.name!r}")
    changed = False
    for stop in cmd.replicas:
        r = state.replicas[stop.id]
        if r.removing:
            continue  # asked already: the first request's trace stays
        r.removing = True
        r.traceparent = stop.traceparent
        r.updated_at_ns = cmd.ts_ns
        changed = True
    return Result(changed=changed)


def purge_deployment(state: State, cmd: PurgeDeployment) -> Outcome:
    # Internal (leader scheduler): whether the replicas are gone is its rule
    # (reported stopped, or their node silent too long: jacod/scheduler/deletion.py).
    dep = _deleting(state, cmd.deployment)
    if isinstance(dep, Rejected):
        return dep
    for rid in sorted(rid for rid, r in state.replicas.items() if r.deployment == dep.name):
        del state.replicas[rid]
    del state.deployments[dep.name]
    return Result(changed=True)
