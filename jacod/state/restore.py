"""Rebasing a backup's state onto a new cluster (``jacod --restore FILE``)."""

from __future__ import annotations

import msgspec

from .model import State


def rebased(state: State, cluster_id: str) -> State:
    """The backup's deployments, tokens and whole audit log under a new cluster
    id, with no members and no replica placements: the old nodes are not part
    of the new cluster, and the scheduler places replicas afresh."""
    return msgspec.structs.replace(state, cluster_id=cluster_id, nodes={}, replicas={})
