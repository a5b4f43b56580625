"""Real `jaco` and `jacod` processes: start, wait until they answer, stop."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from tests.helpers.env import clean_env

BIN = Path(sys.executable).parent


def _command(name: str) -> list[str]:
    """The installed console script (what operators run), else ``python -m``."""
    script = BIN / name
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


JACO = _command("jaco")
JACOD = _command("jacod")


class Result(NamedTuple):
    rc: int
    out: str
    err: str


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 30,
    prefix: Sequence[str] = (),
) -> Result:
    proc = subprocess.run(
        [*prefix, *argv],
        env=dict(env) if env is not None else clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_jaco(
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 30,
    prefix: Sequence[str] = (),
) -> Result:
    """Run the `jaco` CLI; stdin is not a terminal."""
    return run([*JACO, *args], env=env, timeout=timeout, prefix=prefix)


def run_jacod(
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 30,
    prefix: Sequence[str] = (),
) -> Result:
    """Run `jacod` to completion (for invocations that must exit on their own)."""
    return run([*JACOD, *args], env=env, timeout=timeout, prefix=prefix)


def short_tmpdir(prefix: str = "jt-") -> Path:
    """A fresh directory under /tmp. Unix socket paths are limited to 107
    bytes, which pytest's nested tmp_path names can exceed."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def free_port() -> int:
    """A TCP port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Jacod:
    """One `jacod --dev` subprocess with its stderr captured to a file."""

    def __init__(
        self,
        base: Path,
        *,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
        prefix: Sequence[str] = (),
        data_dir: Path | None = None,
        socket_path: Path | None = None,
        node_name: str | None = None,
        listen: str | None = None,
        state_home: Path | None = None,
        dev_defaults: bool = False,
        name: str = "jacod",
    ):
        """``dev_defaults``: pass neither --data-dir nor --socket, so jacod
        derives both from ``state_home`` (``$XDG_STATE_HOME/jaco``)."""
        self.base = base
        if dev_defaults:
            assert state_home is not None, "dev_defaults needs state_home"
            data_dir, socket_path = state_home / "jaco", state_home / "jaco" / "jacod.sock"
        self.data_dir = data_dir or base / "data"
        self.socket = socket_path or self.data_dir / "jacod.sock"
        self.stderr_path = base / f"{name}.stderr"
        self.stdout_path = base / f"{name}.stdout"
        self.env = dict(env) if env is not None else clean_env()
        self.state_home = state_home
        if state_home is not None:
            self.env["XDG_STATE_HOME"] = str(state_home)
        self.node_name = node_name
        self.listen = listen
        argv = [*JACOD, "--dev"]
        if not dev_defaults:
            argv += ["--data-dir", str(self.data_dir), "--socket", str(self.socket)]
        if node_name:
            argv += ["--node-name", node_name]
        if listen:
            argv += ["--listen", listen]
        # Many daemons share this machine: no fixed traffic ports unless asked.
        for flag in ("--ingress-listen", "--dns-listen"):
            if flag not in args:
                argv += [flag, "off"]
        self.argv = [*prefix, *argv, *args]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> Jacod:
        self.base.mkdir(parents=True, exist_ok=True)
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
        return self

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 20) -> Jacod:
        """Poll until `jaco status` answers on the socket (bounded)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last: Result | None = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(
                    f"jacod exited with {rc} before answering; stderr:\n{self.stderr()}"
                )
            if self.socket.exists():
                last = run_jaco("--server", self.server, "status", env=clean_env(), timeout=10)
                if last.rc == 0:
                    return self
            time.sleep(0.05)
        self.kill()
        raise AssertionError(
            f"jacod did not answer `jaco status` within {timeout}s; last attempt: {last}; "
            f"jacod stderr:\n{self.stderr()}"
        )

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"jacod did not exit within {timeout}s of SIGTERM; stderr:\n{self.stderr()}"
            ) from None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def wait(self, timeout: float = 20) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)


def start_jacod(base: Path, **kwargs: object) -> Jacod:
    """Start a `jacod --dev` and wait until it answers."""
    return Jacod(base, **kwargs).start().wait_ready()  # type: ignore[arg-type]
