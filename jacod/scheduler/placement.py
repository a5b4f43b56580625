"""The pure placement decision: a deployment's desired replicas -> nodes.

``plan(state, deployment)`` returns the full list of assignments the leader
should commit (``AssignReplicas``), or None when nothing needs to change. It
reads the state only; the reconcile loop commits what it returns.

- Stable ids: a replica is ``<deployment>/<service>/<ordinal>``; ordinals
  ``0..replicas-1`` exist, higher ones are removed (scale down from the top).
- A replica stays where it is while its node is a member and still satisfies
  the service's placement labels; otherwise it is placed again.
- Placement: among nodes whose labels match, the one with the fewest replicas
  of this service (spread), then the fewest replicas overall, then by name.
- Rolling update gated on health (max unavailable 1, no surge: an ordinal is
  one replica): a replica is moved to the current revision only while every
  other replica of the service is running; one at a time, lowest ordinal first.
  A replica that is not running yet (new, or failing) is updated at once — it
  serves nothing, so replacing it costs no availability.
"""

from __future__ import annotations

from collections import Counter

from jacod.state import ReplicaAssignment, ReplicaState, State
from jacod.state.spec import ServiceSpec

AVAILABLE = {ReplicaState.RUNNING}


def _eligible(state: State, spec: ServiceSpec) -> list[str]:
    return sorted(
        name
        for name, node in state.nodes.items()
        if all(node.labels.get(k) == v for k, v in spec.placement.items())
    )


def plan(state: State, deployment: str) -> list[ReplicaAssignment] | None:
    dep = state.deployments.get(deployment)
    if dep is None or dep.deleting:
        return None  # a deletion only stops replicas (deletion.py)
    revision = dep.revision
    current = {r.id: r for r in state.replicas.values() if r.deployment == deployment}
    load = Counter(r.node for r in state.replicas.values())
    out: list[ReplicaAssignment] = []
    for spec in dep.current.services:
        eligible = _eligible(state, spec)
        if not eligible:
            continue  # nowhere to run: stays unplaced (reported by `jaco status`)
        per_node: Counter[str] = Counter()
        mine = [current.get(f"{deployment}/{spec.name}/{i}") for i in range(spec.replicas)]
        # Keep the replicas whose node is still fine, counting them first.
        keep: dict[int, str] = {}
        for i, r in enumerate(mine):
            if r is not None and r.node in eligible:
                keep[i] = r.node
                per_node[r.node] += 1
        # The rolling update budget: one replica may be down at a time.
        unavailable = sum(
            1 for i, r in enumerate(mine) if r is None or r.state not in AVAILABLE or i not in keep
        )
        budget = 1 if unavailable == 0 else 0
        for i in range(spec.replicas):
            r = mine[i]
            if i in keep:
                node = keep[i]
                rev = r.revision if r is not None else revision
                if rev != revision:
                    if r is None or r.state not in AVAILABLE:
                        rev = revision
                    elif budget > 0:
                        rev, budget = revision, budget - 1
                out.append(ReplicaAssignment(service=spec.name, ordinal=i, revision=rev, node=node))
                continue
            node = min(eligible, key=lambda n: (per_node[n], load[n], n))
            per_node[node] += 1
            load[node] += 1
            out.append(
                ReplicaAssignment(service=spec.name, ordinal=i, revision=revision, node=node)
            )
    wanted = {(f"{deployment}/{a.service}/{a.ordinal}", a.node, a.revision) for a in out}
    have = {(r.id, r.node, r.revision) for r in current.values()}
    return None if wanted == have else out
