"""Helpers for runtime tests: specs, /proc probes, log collection, polling."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jacod.runtime import LogEntry, ProcessRuntime, ReplicaSpec

RID = "shop/web/0"


def spec(command: list[str], replica_id: str = RID, **kw: Any) -> ReplicaSpec:
    deployment, service, _ = replica_id.split("/")
    return ReplicaSpec(
        replica_id=replica_id, deployment=deployment, service=service,
        revision=kw.pop("revision", 1), command=command, **kw,
    )  # fmt: skip


def sh(script: str, replica_id: str = RID, **kw: Any) -> ReplicaSpec:
    return spec(["sh", "-c", script], replica_id, **kw)


def proc_stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def running(pid: int | None) -> bool:
    fields = proc_stat(pid) if pid else None
    return fields is not None and fields[0] not in ("Z", "X")


def session(sid: int) -> list[int]:
    """Live processes in session ``sid`` (a shim's session holds the whole replica)."""
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit() and (fields := proc_stat(int(name))) and fields[0] != "Z":
            if int(fields[3]) == sid:
                pids.append(int(name))
    return pids


def shims_for(directory: Path) -> list[int]:
    """Live supervisor processes whose command line names this replica directory."""
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"--jaco-shim" in args and os.fsencode(directory) in args and running(int(name)):
            found.append(int(name))
    return found


def kill_everything(state_dir: Path) -> None:
    replicas = state_dir / "replicas"
    if not replicas.is_dir():
        return
    for d in replicas.iterdir():
        try:
            st = json.loads((d / "state.json").read_bytes())
        except (OSError, ValueError):
            continue
        for pid in session(st["shim_pid"]) + shims_for(d.absolute()):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


async def collect(rt: ProcessRuntime, replica_id: str = RID, **kw: Any) -> list[LogEntry]:
    return [e async for e in rt.logs(replica_id, **kw)]


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def until_logged(
    rt: ProcessRuntime, text: str, replica_id: str = RID, timeout: float = 5.0
) -> list[LogEntry]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        entries = await collect(rt, replica_id)
        if any(e.line == text for e in entries):
            return entries
        if loop.time() > deadline:
            raise AssertionError(f"{text!r} not logged; got {[e.line for e in entries]}")
        await asyncio.sleep(0.02)
