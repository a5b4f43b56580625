"""``cluster.json`` in the data dir: what this node needs to (re)start raft.

Written once at bootstrap or join, updated when membership changes; mode 0600
because it holds the cluster secret (raft encryption key). Never logged.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

FILENAME = "cluster.json"


class ClusterFile(msgspec.Struct, kw_only=True):
    version: int = 1
    cluster_id: str
    secret: str  # hex; PySyncObj `password` and peer-auth HMAC key
    node_name: str
    raft_address: str  # this node's raft host:port (its raft identity)
    address: str  # this node's gRPC host:port ("" = unix socket only)
    peers: list[str] = []  # other nodes' raft addresses, last known


def path_in(data_dir: Path) -> Path:
    return data_dir / FILENAME


def load(data_dir: Path) -> ClusterFile | None:
    try:
        return msgspec.json.decode(path_in(data_dir).read_bytes(), type=ClusterFile)
    except FileNotFoundError:
        return None


def save(data_dir: Path, cf: ClusterFile) -> None:
    path = path_in(data_dir)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(msgspec.json.encode(cf))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
