"""Rebasing a backup's state onto a new cluster (``jacod --restore FILE``)."""

from __future__ import annotations

import msgspec

from .model import State


def rebased(state: State, cluster_id: str) -> State:
    """The backup's deployments, tokens and whole audit log under a new cluster
    id, with no members and no replica placements: the old nodes are not part
    of the new cluster, and the scheduler places replicas afresh. A deployment
    that was being deleted is not restored: its replicas are gone with the old
    nodes, which is all its deletion was waiting for (its `delete` event stays)."""
    deployments = {name: d for name, d in state.deployments.items() if not d.deleting}
    return msgspec.structs.replace(
        state, cluster_id=cluster_id, nodes={}, replicas={}, deployments=deployments
    )
