"""On-disk layout of the process runtime and /proc probes (sync, cheap, no asyncio).

``<state_dir>/replicas/<key>/`` where ``key`` is the replica id with ``/`` → ``~``
and any other byte outside ``[A-Za-z0-9._-]`` as ``%XX`` (injective, readable):

- ``spec.json``   the ReplicaSpec (written by ``create``)
- ``run.json``    what the shim executes: argv, env, cwd, log limits, cgroup (mode 0600)
- ``state.json``  written only by the shim, atomically: pids, times, exit code, error
- ``stop.json``   the grace period of a requested stop
- ``current.log[.1..]`` this run's log, newest first; ``previous.log[.1..]`` the run before
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jacod.runtime.shim import CURRENT, PREVIOUS, SHIM_MARKER, STATE_FILE, proc_starttime

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def replica_key(replica_id: str) -> str:
    if not replica_id or replica_id in (".", ".."):
        raise ValueError(f"invalid replica id {replica_id!r}")
    out = []
    for ch in replica_id:
        if ch in _SAFE:
            out.append(ch)
        elif ch == "/":
            out.append("~")
        else:
            out.extend(f"%{b:02X}" for b in ch.encode())
    return "".join(out)


def log_paths(directory: Path, run: str, files: int) -> list[Path]:
    """One run's log files, oldest first."""
    base = directory / run
    return [Path(f"{base}.{k}") for k in range(files - 1, 0, -1)] + [base]


def chain(directory: Path, files: int) -> list[Path]:
    """Every log file of a replica in write order: the previous run, then this one."""
    return log_paths(directory, PREVIOUS, files) + log_paths(directory, CURRENT, files)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_state(directory: Path) -> dict[str, Any] | None:
    return read_json(directory / STATE_FILE)


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int | None, starttime: int | None) -> bool:
    """The process that had this pid and start time still exists (zombies count as gone)."""
    if not pid:
        return False
    fields = _stat_fields(pid)
    if fields is None or fields[0] in (b"Z", b"X"):
        return False
    return starttime is None or int(fields[19]) == starttime


def is_shim(pid: int | None, starttime: int | None, directory: Path) -> bool:
    """``pid`` is alive and is our supervisor for this replica directory."""
    if not pid or not alive(pid, starttime):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    marker = SHIM_MARKER.encode()
    return marker in args and os.fsencode(directory) in args


def group_members(sid: int, pgid: int) -> list[int]:
    """Live processes in session ``sid`` and process group ``pgid``.

    A session or group id is never reused while any member lives, so this finds
    a replica's leftovers even after its supervisor and leader are gone."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields and fields[0] != b"Z" and int(fields[2]) == pgid and int(fields[3]) == sid:
                found.append(int(name))
    return found


__all__ = [
    "alive",
    "chain",
    "group_members",
    "is_shim",
    "log_paths",
    "proc_starttime",
    "read_json",
    "read_state",
    "replica_key",
]
