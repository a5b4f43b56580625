"""Taking backups: on request (`jaco backup FILE`) and periodically (leader)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from jacod.cluster import backup
from jacod.cluster.cluster import Cluster
from jacod.state import AuditType, RecordEvent, dump_state, last_audit_id
from obs.logging import get_logger

log = get_logger("raft")


async def take(cluster: Cluster, requested_by: str, destination: str) -> tuple[bytes, int]:
    """A consistent snapshot (state + audit log, read under the apply lock) and
    its ``backup_taken`` event (identity ``system``; the requester in the payload).
    Returns the backup bytes and the event's audit id."""
    await cluster.barrier()
    state, cluster_id, last_id = cluster.read(
        lambda s: (dump_state(s), s.cluster_id, last_audit_id(s))
    )
    now = time.time_ns()
    data = backup.encode(cluster_id, now, last_id, state)
    result = await cluster.propose(
        RecordEvent(
            ts_ns=now,
            identity="system",
            node=cluster.node_name,
            type=AuditType.BACKUP_TAKEN,
            payload={
                "requested_by": requested_by,
                "destination": destination,
                "bytes": len(data),
                "last_audit_id": last_id,
            },
        )
    )
    return data, result.audit_id


async def periodic(cluster: Cluster, directory: Path, interval_s: float, keep: int) -> None:
    """Every ``interval_s`` on the leader: a backup file in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    while True:
        await asyncio.sleep(interval_s)
        if not cluster.is_leader():
            continue
        name = time.strftime("backup-%Y%m%dT%H%M%SZ.jacobak", time.gmtime())
        try:
            data, audit_id = await take(cluster, "system", str(directory / name))
            await asyncio.to_thread(backup.write_atomic, directory / name, data)
            await asyncio.to_thread(backup.prune, directory, keep)
            log.info(
                "periodic backup written",
                extra={"file": str(directory / name), "bytes": len(data), "audit_id": audit_id},
            )
        except Exception as exc:  # noqa: BLE001 - a failed backup must not stop the next
            log.error("periodic backup failed", extra={"error": str(exc)})
