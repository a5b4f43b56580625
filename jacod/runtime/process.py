"""The ``process`` runtime: each replica a supervised local process group.

A replica's life does not depend on jacod's: ``start`` launches a detached
supervisor (``shim.py``) that owns the command, its logs and its exit status,
and everything else here reads the files it leaves (``replica.py``). A fresh
``ProcessRuntime`` on the same ``state_dir`` therefore sees running replicas
as running — re-adoption is just ``list()`` — and never starts one twice.
One ``ProcessRuntime`` per ``state_dir`` at a time.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from jacod.runtime import shim
from jacod.runtime.base import (
    ContainerConflict,
    ContainerInfo,
    ContainerNotFound,
    InvalidSpec,
    LinesFromBatches,
    LogEntry,
    Observe,
    ReplicaSpec,
    Runtime,
    RuntimeUnavailable,
    StartFailed,
    no_observe,
)
from jacod.runtime.cgroups import Cgroups
from jacod.runtime.layout import log_paths, read_state, replica_key
from jacod.runtime.logs import LogReader, last_ts
from jacod.runtime.replica import (
    container_info,
    kill_leftovers,
    read_spec,
    retire_run,
    shim_alive,
)
from obs.logging import get_logger

log = get_logger("runtime")

SHIM_PATH = str(Path(shim.__file__).resolve())
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_POLL_S = 0.02


class ProcessRuntime(LinesFromBatches):
    name = "process"

    def __init__(
        self,
        state_dir: Path,
        *,
        python: str = sys.executable,
        cgroup_parent: str | None = "jaco.slice",
        log_max_bytes: int = 10 * 2**20,
        log_files: int = 3,
        cgroup_root: Path = Path("/sys/fs/cgroup"),
        observe: Observe = no_observe,
        start_timeout_s: float = 10.0,
        follow_poll_s: float = 0.1,
    ) -> None:
        if log_files < 1 or log_max_bytes < 1:
            raise ValueError("log_files and log_max_bytes must be at least 1")
        self.state_dir = Path(state_dir).absolute()
        self.replicas = self.state_dir / "replicas"
        try:
            self.replicas.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise RuntimeUnavailable(f"cannot use state dir {self.state_dir}: {exc}") from exc
        self.python, self.observe = python, observe
        self.log_max_bytes, self.log_files = log_max_bytes, log_files
        self.start_timeout_s, self.follow_poll_s = start_timeout_s, follow_poll_s
        self.cgroups = Cgroups(Path(cgroup_root), cgroup_parent)
        self._locks: dict[str, asyncio.Lock] = {}
        for tomb in self.replicas.glob(".*.removed.*"):  # a remove interrupted by a crash
            shutil.rmtree(tomb, ignore_errors=True)

    def _dir(self, replica_id: str) -> Path:
        try:
            return self.replicas / replica_key(replica_id)
        except ValueError as exc:
            raise InvalidSpec(str(exc)) from None

    def _lock(self, replica_id: str) -> asyncio.Lock:
        return self._locks.setdefault(replica_id, asyncio.Lock())

    def _list(self) -> builtins.list[ContainerInfo]:
        infos = []
        for d in sorted(self.replicas.iterdir()):
            if not d.name.startswith(".") and (info := container_info(d)) is not None:
                infos.append(info)
        return infos

    async def _until_exited(self, d: Path, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while (info := container_info(d)) is not None and info.status == "running":
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_POLL_S)
        return True

    async def _kill_all(self, d: Path, st: dict[str, Any]) -> None:
        if shim_alive(d, st):
            with contextlib.suppress(OSError):
                os.kill(st["shim_pid"], signal.SIGKILL)
            deadline = time.monotonic() + 2.0
            while shim_alive(d, st) and time.monotonic() < deadline:
                await asyncio.sleep(_POLL_S)
        kill_leftovers(st)

    async def pull(self, spec: ReplicaSpec) -> None:
        with self.observe("image_pull", spec.replica_id):
            return None  # nothing to fetch: the command is already on this machine

    async def create(self, spec: ReplicaSpec) -> ContainerInfo:
        rid = spec.replica_id
        with self.observe("container_create", rid):
            if not spec.command or not spec.command[0]:
                raise InvalidSpec(f"replica {rid}: the process runtime needs a non-empty command")
            d = self._dir(rid)
            async with self._lock(rid):
                info = container_info(d)
                if info is not None and info.status == "running":
                    raise ContainerConflict(f"replica {rid} is running; stop it before re-creating")
                d.mkdir(mode=0o700, exist_ok=True)
                if (st := read_state(d)) is not None:
                    await self._kill_all(d, st)
                await asyncio.to_thread(retire_run, d, self.log_files)
                shim.write_json_atomic(str(d / shim.SPEC_FILE), msgspec.to_builtins(spec))
                log.debug("replica created", extra={"replica_id": rid, "revision": spec.revision})
                info = container_info(d)
                assert info is not None
                return info

    async def start(self, replica_id: str) -> ContainerInfo:
        with self.observe("container_start", replica_id):
            d = self._dir(replica_id)
            async with self._lock(replica_id):
                info, spec = container_info(d), read_spec(d)
                if info is None or spec is None:
                    raise ContainerNotFound(replica_id)
                if info.status == "running":
                    return info  # never twice
                if (st := read_state(d)) is not None:
                    await self._kill_all(d, st)
                await asyncio.to_thread(retire_run, d, self.log_files)
                return await self._launch(d, spec)

    async def _launch(self, d: Path, spec: ReplicaSpec) -> ContainerInfo:
        rid = spec.replica_id
        cgroup = self.cgroups.prepare(d.name, spec.cpu, spec.memory_bytes)
        env = {"PATH": DEFAULT_PATH, "HOME": os.environ.get("HOME", "/"), "LANG": "C.UTF-8"}
        env.update(spec.env)
        shim.write_json_atomic(str(d / shim.RUN_FILE), {
            "argv": spec.command, "env": env, "cwd": spec.workdir or str(d), "cgroup": cgroup,
            "shim_cgroup": self.cgroups.supervisors() if cgroup else "",
            "log_max_bytes": self.log_max_bytes, "log_files": self.log_files,
            "min_ts": last_ts(log_paths(d, shim.PREVIOUS, self.log_files)),
        })  # fmt: skip
        # The first shim process exits as soon as the command runs or failed to exec.
        try:
            proc = await asyncio.create_subprocess_exec(
                self.python, "-I", "-S", SHIM_PATH, shim.SHIM_MARKER, str(d),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, cwd=d, env={"PATH": DEFAULT_PATH},
            )  # fmt: skip
        except OSError as exc:
            msg = f"cannot run the supervisor with {self.python}: {exc}"
            raise RuntimeUnavailable(msg) from exc
        try:
            code = await asyncio.wait_for(proc.wait(), self.start_timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            code = await proc.wait()
        st = read_state(d)
        if st is None or (code != 0 and st["status"] == "starting"):
            raise StartFailed(f"replica {rid}: supervisor failed to start (exit code {code})")
        if st["status"] == "exited" and st["error"].startswith("exec failed"):
            log.warning("replica failed to start", extra={"replica_id": rid, "reason": st["error"]})
            raise StartFailed(f"replica {rid}: {st['error']}")
        info = container_info(d)
        assert info is not None
        log.info(
            "replica started",
            extra={"replica_id": rid, "pid": info.pid, "revision": spec.revision, "cgroup": cgroup},
        )
        return info

    async def stop(self, replica_id: str, grace_s: float = 10) -> ContainerInfo:
        with self.observe("container_stop", replica_id):
            d = self._dir(replica_id)
            async with self._lock(replica_id):
                info, st = container_info(d), read_state(d)
                if info is None:
                    raise ContainerNotFound(replica_id)
                if st is None:
                    return info
                if info.status == "running":
                    shim.write_json_atomic(str(d / shim.STOP_FILE), {"grace_s": grace_s})
                    with contextlib.suppress(OSError):
                        os.kill(st["shim_pid"], signal.SIGTERM)
                    # The shim enforces the grace period; this is the backstop.
                    if not await self._until_exited(d, grace_s + 3.0):
                        log.warning("supervisor did not stop the replica; killing it",
                                    extra={"replica_id": replica_id})  # fmt: skip
                        await self._kill_all(d, st)
                if not shim_alive(d, st):
                    kill_leftovers(st)
                info = container_info(d)
                assert info is not None
                log.info("replica stopped", extra={"replica_id": replica_id,
                                                   "exit_code": info.exit_code})  # fmt: skip
                return info

    async def remove(self, replica_id: str) -> None:
        """Forget the replica: SIGKILL whatever still runs (``stop`` first to be graceful)."""
        with self.observe("container_remove", replica_id):
            d = self._dir(replica_id)
            async with self._lock(replica_id):
                if not d.is_dir():
                    raise ContainerNotFound(replica_id)
                if (st := read_state(d)) is not None:
                    await self._kill_all(d, st)
                # Renamed first so readers and list() see it gone at once.
                tomb = d.with_name(f".{d.name}.removed.{time.time_ns()}")
                d.rename(tomb)
                await asyncio.to_thread(shutil.rmtree, tomb, True)
                for _ in range(40):  # the kernel empties a cgroup shortly after its last exit
                    if self.cgroups.remove(d.name):
                        break
                    await asyncio.sleep(0.05)
                log.info("replica removed", extra={"replica_id": replica_id})
            self._locks.pop(replica_id, None)

    async def inspect(self, replica_id: str) -> ContainerInfo | None:
        with self.observe("container_inspect", replica_id):
            return container_info(self._dir(replica_id))

    async def list(self) -> builtins.list[ContainerInfo]:
        with self.observe("container_list", ""):
            return await asyncio.to_thread(self._list)

    async def log_batches(
        self,
        replica_id: str,
        *,
        since_ns: int = 0,
        tail: int = 0,
        follow: bool = False,
        previous: bool = False,
    ) -> AsyncIterator[builtins.list[LogEntry]]:
        # Only the opening is observed: a follow may last for days.
        with self.observe("container_logs", replica_id):
            d = self._dir(replica_id)
            if not (d / shim.SPEC_FILE).is_file():
                raise ContainerNotFound(replica_id)
            try:
                reader = LogReader(
                    d, replica_id, self.log_files, since_ns=since_ns, tail=tail, follow=follow,
                    previous=previous, poll_s=self.follow_poll_s,
                )  # fmt: skip
            except FileNotFoundError:
                raise ContainerNotFound(replica_id) from None
        async for batch in reader.batches():
            yield batch

    async def wait(self, replica_id: str) -> int:
        """The exit code once the replica has exited; -1 if its supervisor vanished."""
        with self.observe("container_wait", replica_id):
            d = self._dir(replica_id)
            while True:
                info = container_info(d)
                if info is None:
                    raise ContainerNotFound(replica_id)
                if info.status == "exited":
                    return -1 if info.exit_code is None else info.exit_code
                await asyncio.sleep(0.05)


if TYPE_CHECKING:

    def _conforms(rt: ProcessRuntime) -> Runtime:  # mypy checks the protocol here
        return rt
