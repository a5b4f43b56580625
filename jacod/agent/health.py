"""Health checks (``health`` subsystem): probes and the per-replica state they drive.

Kinds: ``http`` (GET ``http://127.0.0.1:<host port>/<path>`` over HTTP/1.0,
2xx/3xx healthy), ``tcp`` (a connection is accepted) and ``exec`` (the command,
run on the node with the replica's environment, exits 0). A check's ``port``
is a declared container port, probed on the replica's host port (a port the
service does not declare is probed as is).

A replica is ``starting`` until its first successful probe, ``running`` while
healthy and ``unhealthy`` after ``retries`` consecutive failures (at least
one), back to ``running`` on the next success. While starting, probes run
every ``min(interval_s, 1 s)`` so a replica shows running soon after it is
ready, but it turns unhealthy only once ``retries`` probes failed *and*
``retries × interval_s`` passed since it started. Unhealthy replicas are
reported, not restarted. Transitions are logged, single probes are not.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from jacod.state import HealthCheck, ReplicaState
from obs.logging import get_logger

log = get_logger("health")

Probe = Callable[[], Awaitable[str | None]]  # None: healthy; else why not
STARTING_PROBE_S = 1.0
_PATH_SAFE = "/?&=%:@!$'()*+,;~-._"
_SHELL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _oserror(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


async def http_probe(port: int, path: str, timeout_s: float) -> str | None:
    target = quote(path if path.startswith("/") else "/" + path, safe=_PATH_SAFE)
    request = (
        f"GET {target} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
        "User-Agent: jaco-health\r\nConnection: close\r\n\r\n"
    )
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(request.encode())
                await writer.drain()
                status = await reader.readline()
            finally:
                writer.close()
    except TimeoutError:
        return f"http: no answer within {timeout_s:g}s"
    except OSError as exc:
        return f"http: {_oserror(exc)}"
    parts = status.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return "http: not an HTTP response"
    code = int(parts[1])
    return None if 200 <= code < 400 else f"http: status {code}"


async def tcp_probe(port: int, timeout_s: float) -> str | None:
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
    except TimeoutError:
        return f"tcp: no connection within {timeout_s:g}s"
    except OSError as exc:
        return f"tcp: {_oserror(exc)}"
    return None


async def exec_probe(
    argv: list[str], env: dict[str, str], cwd: str, timeout_s: float
) -> str | None:
    full_env = {"PATH": _SHELL_PATH, "HOME": os.environ.get("HOME", "/"), **env}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=full_env, cwd=cwd or None, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        return f"exec: cannot run {argv[0]}: {_oserror(exc)}"
    try:
        async with asyncio.timeout(timeout_s):
            code = await proc.wait()
    except TimeoutError:
        return f"exec: still running after {timeout_s:g}s"
    finally:
        if proc.returncode is None:  # timed out or cancelled: take its children too
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(proc.wait())
    return None if code == 0 else f"exec: exited with code {code}"


def make_probe(
    check: HealthCheck, ports: dict[int, int], env: dict[str, str], cwd: str = ""
) -> Probe:
    """The probe for ``check`` on a replica with these host ports and env."""
    port = ports.get(check.port, check.port)
    if check.kind == "http":
        return lambda: http_probe(port, check.path, check.timeout_s)
    if check.kind == "tcp":
        return lambda: tcp_probe(port, check.timeout_s)
    if check.kind == "exec":
        return lambda: exec_probe(list(check.command), env, cwd, check.timeout_s)

    async def unknown() -> str:
        return f"unknown health check kind {check.kind!r}"

    return unknown


class HealthMonitor:
    """Probes one run of one replica; ``on_change(state, reason)`` on each transition."""

    def __init__(
        self,
        replica_id: str,
        check: HealthCheck,
        probe: Probe,
        on_change: Callable[[ReplicaState, str], None],
        *,
        initial: ReplicaState = ReplicaState.STARTING,
    ) -> None:
        self.replica_id, self.check, self.probe = replica_id, check, probe
        self.on_change = on_change
        self.state = initial
        self.failures = 0
        self.reason = ""

    @property
    def threshold(self) -> int:
        return max(self.check.retries, 1)

    def observe(self, reason: str | None, elapsed_s: float) -> bool:
        """Take one probe result in; True if the state changed."""
        before = self.state
        if reason is None:
            self.failures, self.reason = 0, ""
            self.state = ReplicaState.RUNNING
        else:
            self.failures += 1
            self.reason = reason
            enough = self.failures >= self.threshold
            if self.state == ReplicaState.STARTING:
                enough = enough and elapsed_s >= self.threshold * self.check.interval_s
            if enough:
                self.state = ReplicaState.UNHEALTHY
        return self.state != before

    def next_delay(self) -> float:
        if self.state == ReplicaState.STARTING:
            return min(self.check.interval_s, STARTING_PROBE_S)
        return self.check.interval_s

    async def _probe_once(self) -> str | None:
        try:
            return await self.probe()
        except (OSError, ValueError, RuntimeError) as exc:
            return f"{self.check.kind}: {exc}"

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while True:
            reason = await self._probe_once()
            before = self.state
            if self.observe(reason, loop.time() - t0):
                self._log(before)
                self.on_change(self.state, self.reason)
            await asyncio.sleep(self.next_delay())

    def _log(self, before: ReplicaState) -> None:
        extra: dict[str, object] = {
            "replica_id": self.replica_id, "check": self.check.kind,
            "from_state": str(before), "to_state": str(self.state),
        }  # fmt: skip
        if self.state == ReplicaState.UNHEALTHY:
            extra.update(reason=self.reason, failures=self.failures)
            log.warning("replica unhealthy", extra=extra)
        else:
            log.info("replica healthy", extra=extra)
