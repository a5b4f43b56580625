"""Shared helpers for the benchmarks: timing fresh processes, a dev daemon."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

BIN = Path(sys.executable).parent


# PYTHONDONTWRITEBYTECODE is dropped: an installed jaco has its bytecode
# compiled (pip does that), so the warm-up run may write it here too;
# otherwise every timed run would include compiling our modules.
_DROP = ("INVOCATION_ID", "NOTIFY_SOCKET", "PYTHONDONTWRITEBYTECODE")


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JACO_", "OTEL_")) and k not in _DROP
    }
    env.update(extra)
    return env


def time_command(argv: Sequence[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall seconds of ``runs`` fresh runs (after one warm-up run)."""
    subprocess.run(argv, env=env, check=True, capture_output=True)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        samples.append(time.perf_counter() - t0)
    return samples


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


@contextlib.contextmanager
def dev_daemon() -> Iterator[str]:
    """A `jacod --dev` in a temp dir; yields its JACO_SERVER value."""
    with tempfile.TemporaryDirectory(prefix="jaco-bench-") as tmp:
        sock = f"{tmp}/jacod.sock"
        proc = subprocess.Popen(
            [
                str(BIN / "jacod"),
                "--dev",
                "--data-dir",
                tmp,
                "--socket",
                sock,
                "--ingress-listen",
                "off",
                "--dns-listen",
                "off",
            ],  # fmt: skip
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            server = f"unix://{sock}"
            while (
                subprocess.run(
                    [str(BIN / "jaco"), "--server", server, "status"], capture_output=True
                ).returncode
                != 0
            ):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("bench: jacod --dev did not come up")
                time.sleep(0.1)
            yield server
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            kill_replicas(Path(tmp))  # replicas outlive jacod by design


# ---------------------------------------------------------------- a 3-node cluster


def free_port() -> int:
    """A loopback TCP port nothing listens on (bound then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def shim_pids(base: Path) -> list[int]:
    """Live replica supervisors (``--jaco-shim <dir>``) whose dir is under ``base``."""
    out = []
    prefix = os.fsencode(base) + b"/"
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        fields = _stat_fields(int(name))
        if b"--jaco-shim" in args and any(a.startswith(prefix) for a in args):
            if fields is not None and fields[0] != b"Z":
                out.append(int(name))
    return out


def kill_replicas(base: Path) -> None:
    """SIGKILL every shim under ``base`` and every process of its session (a shim
    leads its replica's session, so this is exactly the replicas it started)."""
    shims = set(shim_pids(base))
    for pid in shims:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for name in os.listdir("/proc"):
        fields = _stat_fields(int(name)) if name.isdigit() else None
        if fields is not None and fields[0] != b"Z" and int(fields[3]) in shims:
            with contextlib.suppress(OSError):
                os.kill(int(name), signal.SIGKILL)


class BenchNode:
    def __init__(self, base: Path, name: str) -> None:
        self.name = name
        self.data_dir = base / name
        self.socket = base / f"{name}.sock"
        self.address = f"127.0.0.1:{free_port()}"
        self.raft_address = f"127.0.0.1:{free_port()}"
        self.ingress_port = free_port()
        self.dns_port = free_port()
        self.traffic = ["--ingress-listen", f"127.0.0.1:{self.ingress_port}",
                        "--dns-listen", f"127.0.0.1:{self.dns_port}",
                        "--node-listen", f"127.0.0.1:{free_port()}"]  # fmt: skip
        self.log = base / f"{name}.stderr"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> str:
        return f"unix://{self.socket}"

    def start(self, *extra: str) -> None:
        argv = [str(BIN / "jacod"), "--node-name", self.name, "--data-dir", str(self.data_dir),
                "--socket", str(self.socket), "--listen", self.address,
                "--raft-listen", self.raft_address, *self.traffic, *extra]  # fmt: skip
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(argv, env=clean_env(), stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)  # fmt: skip

    def jaco(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "jaco"), "--server", self.server, *args],
                              env=clean_env(), capture_output=True, text=True,
                              timeout=timeout)  # fmt: skip

    def wait_ready(self, timeout: float = 30) -> None:
        """Until this node knows its cluster, a leader, and itself as a member."""
        import grpc

        from jaco.v1 import control_pb2, control_pb2_grpc

        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace").splitlines()[-10:]
                raise SystemExit(f"bench: jacod {self.name} exited:\n" + "\n".join(tail))
            try:
                with grpc.insecure_channel(self.server) as ch:
                    st = control_pb2_grpc.ControlStub(ch).GetStatus(
                        control_pb2.GetStatusRequest(), timeout=2
                    )
                if st.cluster.leader and any(n.name == self.name for n in st.nodes):
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: jacod {self.name} not ready in {timeout:.0f}s")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@contextlib.contextmanager
def running(base: Path, nodes: Sequence[BenchNode]) -> Iterator[list[BenchNode]]:
    """The first node bootstraps, the others join it (token in a file, as the
    docs advise). At exit: jacods stopped, every replica they started killed,
    ``base`` removed."""
    import shutil

    try:
        nodes[0].start("--bootstrap")
        nodes[0].wait_ready()
        for n in nodes[1:]:
            r = nodes[0].jaco("node", "join-token")
            if r.returncode != 0:
                raise SystemExit(f"bench: join-token failed: {r.stderr}")
            token = base / f"{n.name}.join-token"
            token.write_text(r.stdout)
            n.start("--join", nodes[0].address, "--join-token-file", str(token))
            n.wait_ready()
        yield list(nodes)
    finally:
        for n in nodes:
            n.stop()
        kill_replicas(base)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def three_nodes() -> Iterator[list[BenchNode]]:
    """Nodes a (bootstrap), b and c joined to it, on loopback, process runtime,
    in a short temp dir (unix socket paths are limited to 107 bytes)."""
    base = Path(tempfile.mkdtemp(prefix="jb-", dir="/tmp"))
    with running(base, [BenchNode(base, n) for n in ("a", "b", "c")]) as nodes:
        yield nodes
