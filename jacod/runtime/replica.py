"""One replica directory, read and tidied synchronously (a few small files and /proc).

This is where re-adoption happens: a replica's status is rebuilt from
``spec.json`` and the shim's ``state.json`` alone, so any ``ProcessRuntime``
on the same state dir sees the same thing.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import msgspec
from msgspec.structs import replace

from jacod.runtime import shim
from jacod.runtime.base import ContainerInfo, ReplicaSpec
from jacod.runtime.layout import group_members, is_shim, log_paths, read_state


def read_spec(d: Path) -> ReplicaSpec | None:
    try:
        return msgspec.json.decode((d / shim.SPEC_FILE).read_bytes(), type=ReplicaSpec)
    except (OSError, msgspec.DecodeError):
        return None


def container_info(d: Path) -> ContainerInfo | None:
    spec = read_spec(d)
    if spec is None:
        return None
    created = ContainerInfo(
        replica_id=spec.replica_id, deployment=spec.deployment, service=spec.service,
        revision=spec.revision, status="created",
    )  # fmt: skip
    st = read_state(d)
    if st is None:
        return created
    if st["status"] != "exited":
        if is_shim(st["shim_pid"], st["shim_start"], d):
            return replace(created, status="running", pid=st["child_pid"],
                           started_at_ns=st["started_at_ns"])  # fmt: skip
        st = read_state(d) or st  # it may have finished between the two reads
        if st["status"] != "exited":
            return replace(created, status="exited", started_at_ns=st["started_at_ns"],
                           error="supervisor vanished")  # fmt: skip
    return replace(
        created, status="exited", exit_code=st["exit_code"], started_at_ns=st["started_at_ns"],
        finished_at_ns=st["finished_at_ns"], error=st["error"],
    )  # fmt: skip


def shim_alive(d: Path, st: dict[str, Any]) -> bool:
    return is_shim(st.get("shim_pid"), st.get("shim_start"), d)


def kill_leftovers(st: dict[str, Any]) -> None:
    """SIGKILL what is left of the command's process group once its supervisor is gone."""
    if st.get("shim_pid") and st.get("child_pid"):
        for pid in group_members(st["shim_pid"], st["child_pid"]):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def retire_run(d: Path, files: int) -> None:
    """The last run's logs become ``previous`` (replacing the older ones); its state goes."""
    current = log_paths(d, shim.CURRENT, files)
    previous = log_paths(d, shim.PREVIOUS, files)
    if any(p.exists() for p in current):
        for p in previous:
            p.unlink(missing_ok=True)
        for src, dst in zip(current, previous, strict=True):
            with contextlib.suppress(FileNotFoundError):
                src.rename(dst)
    for name in (shim.STATE_FILE, shim.STOP_FILE, shim.RUN_FILE):
        (d / name).unlink(missing_ok=True)
