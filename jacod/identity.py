"""This node's persistent identity in its data dir (``node.json``).

The cluster id is born here on the first start and never changes; once raft
state lands it is also recorded there by the bootstrap command.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import msgspec


class NodeIdentity(msgspec.Struct, kw_only=True):
    cluster_id: str
    node_name: str


def load_or_create(data_dir: Path, node_name: str) -> NodeIdentity:
    path = data_dir / "node.json"
    try:
        ident = msgspec.json.decode(path.read_bytes(), type=NodeIdentity)
    except FileNotFoundError:
        ident = NodeIdentity(cluster_id=str(uuid.uuid4()), node_name=node_name)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(msgspec.json.encode(ident))
        os.replace(tmp, path)
    return ident
