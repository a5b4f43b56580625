"""The pure deletion decision: which replicas of a deleting deployment to stop,
and whether it is over.

``jaco delete`` only marks the deployment (``deleting``). The leader then
commits, per service, ``StopReplicas`` for every replica not yet marked
(``to_stop``); the node running one stops and removes it and reports it
``stopped``. The deployment is dropped (``PurgeDeployment``) once nothing
holds it (``holding``). A replica holds the deletion until

- its node reported it ``stopped`` after it was marked (stopped and removed), or
- its node is silent: no ``NodeStatusUpdate`` from it for ``abandon_after_s``
  (the agent sends a full report every 30 s even when nothing changes, so a
  live node is never silent that long). Its container is then torn down by
  the node's agent whenever it comes back, as for any replica no longer
  assigned to it, but outside the delete's trace and after ``--wait`` returned.

A replica whose node left the cluster (``jaco node remove``) is gone from the
state with it, so it holds nothing either. A node that is up but cannot stop a
replica (its container engine is down) keeps reporting, so the deletion waits
for it: its container still exists. Removing that node gives up on it.
"""

from __future__ import annotations

from jacod.state import ReplicaState, State
from jacod.state.model import Replica

S = 1_000_000_000
# Three full agent reports (30 s apart) missed in a row.
ABANDON_AFTER_S = 90.0


def to_stop(state: State, deployment: str) -> dict[str, list[str]]:
    """Service -> ids of its replicas not yet marked for removal (sorted); {} if none
    or the deployment is not being deleted."""
    dep = state.deployments.get(deployment)
    if dep is None or not dep.deleting:
        return {}
    out: dict[str, list[str]] = {}
    for r in sorted(state.replicas.values(), key=lambda r: r.id):
        if r.deployment == deployment and not r.removing:
            out.setdefault(r.service, []).append(r.id)
    return out


def silent(state: State, node: str, now_ns: int, abandon_after_s: float) -> bool:
    """No status from ``node`` for ``abandon_after_s`` (counted from its join
    when it never reported)."""
    n = state.nodes.get(node)
    if n is None:
        return True
    last = max(n.last_status_ns, n.joined_at_ns)
    return now_ns - last >= abandon_after_s * S


def _gone(state: State, r: Replica, now_ns: int, abandon_after_s: float) -> bool:
    if r.removing and r.state == ReplicaState.STOPPED:
        return True
    return silent(state, r.node, now_ns, abandon_after_s)


def holding(
    state: State, deployment: str, now_ns: int, abandon_after_s: float = ABANDON_AFTER_S
) -> list[str] | None:
    """Ids of the replicas the deletion of ``deployment`` still waits for
    ([]: it is over); None if the deployment is not being deleted."""
    dep = state.deployments.get(deployment)
    if dep is None or not dep.deleting:
        return None
    return sorted(
        r.id
        for r in state.replicas.values()
        if r.deployment == deployment and not _gone(state, r, now_ns, abandon_after_s)
    )


def abandoned(
    state: State, deployment: str, now_ns: int, abandon_after_s: float = ABANDON_AFTER_S
) -> list[str]:
    """Replicas of ``deployment`` given up on (their node is silent), for the log."""
    return sorted(
        r.id
        for r in state.replicas.values()
        if r.deployment == deployment
        and not (r.removing and r.state == ReplicaState.STOPPED)
        and silent(state, r.node, now_ns, abandon_after_s)
    )
