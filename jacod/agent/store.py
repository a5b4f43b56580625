"""What the agent must remember across jacod restarts, per replica on this node.

One small JSON file, ``<state dir>/agent.json``, rewritten atomically on each
change: the replica's host ports (stable for its life on the node) and, for
its current incarnation (replica id + revision), the restart count and the
backoff streak. The replicas themselves are remembered by the runtime.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import msgspec
from msgspec.structs import replace

from jacod.agent.env import allocate
from obs.logging import get_logger

log = get_logger("agent")

FILE = "agent.json"


class Record(msgspec.Struct, kw_only=True, frozen=True):
    revision: int = 0  # the incarnation the counters belong to
    restarts: int = 0
    streak: int = 0  # quick restarts in a row: the backoff exponent
    ports: dict[int, int] = {}  # container port -> host port


class _File(msgspec.Struct, kw_only=True):
    replicas: dict[str, Record] = {}


class AgentStore:
    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.dir / FILE
        self._records: dict[str, Record] = {}
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        try:
            self._records = dict(msgspec.json.decode(data, type=_File).replicas)
        except msgspec.DecodeError as exc:
            # Losing it costs restart counts and port stability, never a replica.
            log.warning("agent state unreadable; starting afresh",
                        extra={"path": str(self.path), "error": str(exc)})  # fmt: skip

    def get(self, replica_id: str) -> Record:
        return self._records.get(replica_id, Record())

    def ids(self) -> list[str]:
        return sorted(self._records)

    def incarnation(self, replica_id: str, revision: int, restarts_hint: int = 0) -> Record:
        """The record of ``replica_id`` at ``revision``; counters restart with a new revision."""
        rec = self.get(replica_id)
        if rec.revision != revision:
            rec = self.put(replica_id, revision=revision, restarts=restarts_hint, streak=0)
        return rec

    def put(self, replica_id: str, **changes: object) -> Record:
        old = self.get(replica_id)
        rec = replace(old, **changes)
        if rec != old or replica_id not in self._records:
            self._records[replica_id] = rec
            self._save()
        return rec

    def ports(self, replica_id: str, declared: list[int]) -> dict[int, int]:
        """Host ports of ``replica_id`` for ``declared``, allocating the missing ones."""
        rec = self.get(replica_id)
        if all(p in rec.ports for p in declared):
            return dict(rec.ports)
        taken = {hp for r in self._records.values() for hp in r.ports.values()}
        rec = self.put(replica_id, ports=allocate(rec.ports, declared, taken))
        return dict(rec.ports)

    def forget(self, replica_id: str) -> None:
        if self._records.pop(replica_id, None) is not None:
            self._save()

    def _save(self) -> None:
        data = msgspec.json.encode(_File(replicas=self._records))
        tmp = self.path.with_name(f".{FILE}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            log.warning("cannot save agent state",
                        extra={"path": str(self.path), "error": str(exc)})  # fmt: skip
