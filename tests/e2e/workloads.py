"""Helpers for the workload end-to-end tests: replicas as the process runtime
leaves them on disk and in /proc, a `jaco logs -f` read incrementally, and a
teardown that kills every replica a test's jacods started.

The process runtime keeps, per replica, ``<data_dir>/runtime/replicas/<key>/``
(``key``: the replica id with ``/`` → ``~``) whose ``state.json`` (written by
the shim) holds ``shim_pid`` and ``child_pid``; the shim runs as
``python3 -I -S .../shim.py --jaco-shim <that dir>`` and is a session leader,
the command its own process group inside that session. The agent keeps each
replica's host ports in ``<data_dir>/agent/agent.json``.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from jaco.render import to_dict
from jacod.runtime.layout import replica_key
from jacod.runtime.shim import SHIM_MARKER
from tests.e2e.cluster import Cluster, Node, wait_for
from tests.helpers import JACO, clean_env, remove_tree

# ---------------------------------------------------------------- status


def status(node: Node) -> dict[str, Any]:
    """GetStatus on ``node``'s socket as the dict `jaco -o json status` prints
    (same conversion), without a process per poll."""
    return to_dict(node.status())


def cli_status(node: Node) -> dict[str, Any]:
    """`jaco -o json status` through ``node``: what an operator's script sees."""
    r = node.jaco("-o", "json", "status")
    assert r.rc == 0, f"`jaco status -o json` on {node.name} failed: {r}"
    out: dict[str, Any] = json.loads(r.out)
    return out


def replicas_of(st: dict[str, Any], deployment: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in st["replicas"] if r["deployment"] == deployment}


def deployment_of(st: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((d for d in st["deployments"] if d["name"] == name), None)


def describe_replicas(node: Node, deployment: str) -> str:
    try:
        reps = replicas_of(status(node), deployment)
    except Exception as exc:  # noqa: BLE001 - only for a failure message
        return f"status via {node.name} failed: {exc!r}"
    return "replicas:\n" + "\n".join(
        f"  {r['id']} node={r['node']} rev={r['revision']} state={r['state']} "
        f"restarts={r['restarts']} last_error={r['last_error']!r}"
        for r in reps.values()
    )


def converged(
    st: dict[str, Any], deployment: str, revision: int, want: dict[str, int]
) -> dict[str, dict[str, Any]] | None:
    """The replicas of ``deployment`` if exactly ``want`` (service → count) of
    them exist, all ``running`` at ``revision``; else None."""
    reps = replicas_of(st, deployment)
    counts: dict[str, int] = {}
    for r in reps.values():
        if r["state"] != "running" or r["revision"] != revision:
            return None
        counts[r["service"]] = counts.get(r["service"], 0) + 1
    return reps if counts == want else None


# ---------------------------------------------------------------- replicas on disk


def replica_dir(node: Node, replica_id: str) -> Path:
    return node.data_dir / "runtime" / "replicas" / replica_key(replica_id)


def shim_state(node: Node, replica_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((replica_dir(node, replica_id) / "state.json").read_text())
    return data


def agent_ports(node: Node, replica_id: str) -> dict[int, int]:
    """Container port → host port, as the node's agent stored it."""
    data = json.loads((node.data_dir / "agent" / "agent.json").read_text())
    ports = data["replicas"][replica_id].get("ports", {})
    return {int(k): int(v) for k, v in ports.items()}


def _stat(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    """Exists and is not a zombie."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in (b"Z", b"X")


def environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        raw = f.read()
    out = {}
    for item in raw.split(b"\0"):
        if b"=" in item:
            k, _, v = item.partition(b"=")
            out[k.decode(errors="replace")] = v.decode(errors="replace")
    return out


def _pids() -> list[int]:
    return [int(n) for n in os.listdir("/proc") if n.isdigit()]


def shims_under(base: Path) -> dict[Path, list[int]]:
    """Live shim processes whose replica dir is under ``base``: dir → pids."""
    found: dict[Path, list[int]] = {}
    marker = SHIM_MARKER.encode()
    prefix = os.fsencode(base) + b"/"
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if marker not in args or not pid_alive(pid):
            continue
        i = args.index(marker)
        if i + 1 < len(args) and args[i + 1].startswith(prefix):
            found.setdefault(Path(os.fsdecode(args[i + 1])), []).append(pid)
    return found


def shim_keys(base: Path) -> dict[str, list[int]]:
    """Live shims under ``base`` by replica key (``shop~web~0``) → pids."""
    out: dict[str, list[int]] = {}
    for d, pids in shims_under(base).items():
        out.setdefault(d.name, []).extend(pids)
    return out


def kill_replicas(base: Path) -> list[int]:
    """SIGKILL every shim whose replica dir is under ``base`` and every process
    of its session (the command's group and whatever it forked), then what is
    left of a command group that a ``state.json`` under ``base`` names (its
    shim died first). The pids killed."""
    killed: list[int] = []
    shims = {pid for pids in shims_under(base).values() for pid in pids}
    for pid in shims:  # the supervisors first, so none restarts or reports anything
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    groups: set[tuple[int, int]] = set()  # (session, process group) of dead shims' commands
    for st_file in base.rglob("state.json"):
        with contextlib.suppress(OSError, ValueError, TypeError):
            st = json.loads(st_file.read_text())
            if st.get("shim_pid") and st.get("child_pid"):
                groups.add((int(st["shim_pid"]), int(st["child_pid"])))
    for pid in _pids():
        fields = _stat(pid)
        if fields is None or fields[0] == b"Z" or pid in shims:
            continue
        pgid, sid = int(fields[2]), int(fields[3])
        # A session (group) id is not reused while a member lives: a member of a
        # shim's session, or of a recorded (session, group), is a replica's.
        if sid in shims or (sid, pgid) in groups:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    return killed


# ---------------------------------------------------------------- HTTP


def http_get(port: int, path: str = "/", timeout: float = 3.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
        return int(resp.status), resp.read()


# ---------------------------------------------------------------- jaco logs -f


def parse_rfc3339_ns(text: str) -> int:
    """``2026-11-27T03:19:22.322661538Z`` → ns since the epoch (UTC)."""
    main, _, frac = text.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


@dataclass(frozen=True)
class LogLine:
    ts_ns: int
    replica_id: str
    node: str
    stream: str
    line: str
    received: float  # time.monotonic() when the test read it


class LogFollower:
    """`jaco -o json logs TARGET -f` against one node, its stdout read line by
    line on a thread, so a test can wait (bounded) for a line it expects."""

    def __init__(self, node: Node, target: str, *extra: str, stderr_path: Path):
        self.node, self.target = node, target
        self.stderr_path = stderr_path
        self.argv = [*JACO, "--server", node.server, "-o", "json", "logs", target, "-f", *extra]
        self.lines: list[LogLine] = []
        self.junk: list[str] = []  # stdout lines that are not JSON log lines
        self._cond = threading.Condition()
        self._eof = False
        with open(stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                self.argv,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        assert self.proc.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, out: IO[bytes]) -> None:
        for raw in out:
            text = raw.decode(errors="replace").rstrip("\n")
            now = time.monotonic()
            try:
                obj = json.loads(text)
                line = LogLine(parse_rfc3339_ns(obj["ts"]), obj["replica_id"], obj["node"],
                               obj["stream"], obj["line"], now)  # fmt: skip
            except (ValueError, KeyError, TypeError):
                with self._cond:
                    self.junk.append(text)
                continue
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def eof(self) -> bool:
        with self._cond:
            return self._eof

    def snapshot(self) -> list[LogLine]:
        with self._cond:
            return list(self.lines)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def describe(self, tail: int = 15) -> str:
        lines = self.snapshot()
        rc = self.proc.poll()
        shown = "\n".join(f"  {x.replica_id or '-'} {x.stream} {x.line}" for x in lines[-tail:])
        return (
            f"--- `{' '.join(self.argv[-4:])}` via {self.node.name}: exit={rc}, "
            f"{len(lines)} lines, non-JSON stdout: {self.junk[-5:]!r}\n"
            f"last lines:\n{shown}\nstderr:\n{self.stderr()[-2000:]}"
        )

    def wait_line(
        self, pred: Callable[[LogLine], bool], timeout: float, what: str, start: int = 0
    ) -> LogLine:
        """The first line (from index ``start``) matching ``pred``; fails after
        ``timeout`` or when the command ended without printing one."""
        deadline = time.monotonic() + timeout
        with self._cond:
            i = start
            while True:
                while i < len(self.lines):
                    if pred(self.lines[i]):
                        return self.lines[i]
                    i += 1
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.5))
        why = "the command ended" if self.eof else f"{timeout:.0f}s passed"
        raise AssertionError(f"`jaco logs -f` never printed {what} ({why})\n{self.describe()}")

    def wait_exit(self, timeout: float) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"`jaco logs -f` still running {timeout:.0f}s later\n{self.describe()}"
            ) from None
        self._thread.join(5)
        return rc

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._thread.join(5)


def wait_status(
    node: Node,
    fn: Callable[[dict[str, Any]], Any],
    timeout: float,
    what: str,
    deployment: str = "shop",
) -> Any:
    """Poll ``status(node)`` until ``fn`` returns something truthy."""
    return wait_for(
        lambda: fn(status(node)),
        timeout,
        what,
        interval=0.2,
        describe=lambda: describe_replicas(node, deployment) + "\n" + node.describe(15),
    )


# ---------------------------------------------------------------- module clusters


@contextlib.contextmanager
def three_node_world(
    request: pytest.FixtureRequest, base: Path, cluster: Cluster, *bootstrap: str
) -> Iterator[Cluster]:
    """Nodes a (bootstrapped with ``bootstrap`` flags), b and c joined, a leader
    agreed. At exit every jacod is killed first (no agent left to restart what
    is killed next), then every replica of ``base``; ``base`` is removed unless
    a test of the module failed (then its path is printed)."""
    failed_before = request.session.testsfailed
    try:
        a = cluster.bootstrap("a", *bootstrap)
        cluster.join("b", a)
        cluster.join("c", a)
        cluster.leader()
        yield cluster
    finally:
        cluster.kill_all()
        kill_replicas(base)
        wait_for(lambda: not shim_keys(base), 10, "every shim of the test's nodes to be gone")
        if request.session.testsfailed == failed_before:
            remove_tree(base)
        else:
            print(f"\nkept {base} for inspection (jacod logs: {base}/*.stderr)")
