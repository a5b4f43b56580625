"""Backup files: a consistent snapshot of the state, audit log included.

Format: msgpack ``{"format": "jaco-backup", "version": 1, "cluster_id", "taken_at_ns",
"last_audit_id", "state": <dump_state bytes>}``. The state bytes are the same
versioned encoding raft snapshots use, so a backup restores exactly.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from jacod.errors import InvalidArgument
from jacod.state import State, load_state

FORMAT = "jaco-backup"
VERSION = 1


class BackupFile(msgspec.Struct, kw_only=True):
    format: str = FORMAT
    version: int = VERSION
    cluster_id: str
    taken_at_ns: int
    last_audit_id: int
    state: bytes


def encode(cluster_id: str, taken_at_ns: int, last_audit_id: int, state: bytes) -> bytes:
    return msgspec.msgpack.encode(
        BackupFile(
            cluster_id=cluster_id, taken_at_ns=taken_at_ns, last_audit_id=last_audit_id, state=state
        )
    )


def decode(data: bytes) -> tuple[BackupFile, State]:
    try:
        backup = msgspec.msgpack.decode(data, type=BackupFile)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidArgument(f"not a JACO backup file: {exc}") from None
    if backup.format != FORMAT or backup.version != VERSION:
        raise InvalidArgument(
            f"unsupported backup {backup.format!r} version {backup.version} "
            f"(this jacod reads {VERSION})"
        )
    try:
        return backup, load_state(backup.state)
    except ValueError as exc:
        raise InvalidArgument(f"backup state: {exc}") from None


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def prune(directory: Path, keep: int) -> None:
    files = sorted(directory.glob("backup-*.jacobak"))
    for old in files[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
