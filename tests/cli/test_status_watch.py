"""`jaco status -w` against a real jacod: a snapshot per change, and the watch
rides out a daemon restart (a line on stderr, then snapshots again)."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.workloads import kill_replicas
from tests.helpers import JACO, Jacod, clean_env, run_jaco

pytestmark = pytest.mark.timeout(120)

SPEC = """name = "watched"

[services.app]
command = ["sleep", "600"]
replicas = {n}
"""


class Watcher:
    """`jaco -o json status -w` in the background, its lines parsed as they come."""

    def __init__(self, server: str) -> None:
        self.proc = subprocess.Popen(
            [*JACO, "--server", server, "-o", "json", "status", "-w"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(),
        )  # fmt: skip
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(self.proc.stderr)

    def until(self, what: str, pred: Callable[[dict[str, Any]], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            assert event["type"] == "snapshot", event
            if pred(event["status"]):
                return
        raise AssertionError(f"no snapshot with {what}; stderr: {''.join(self.stderr)}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def revision(st: dict[str, Any]) -> int:
    return next((d["revision"] for d in st["deployments"] if d["name"] == "watched"), 0)


def test_watch_follows_changes_and_rides_out_a_restart(
    jacod_factory: Callable[..., Jacod], tmpdir_short: Path
) -> None:
    d = jacod_factory()
    spec = tmpdir_short / "watched.toml"
    w = Watcher(d.server)
    try:
        w.until("no deployment", lambda st: st["deployments"] == [])
        spec.write_text(SPEC.format(n=1))
        assert run_jaco("--server", d.server, "apply", "-f", str(spec), env=clean_env()).rc == 0
        w.until("revision 1", lambda st: revision(st) == 1)

        assert d.stop() == 0
        d.start().wait_ready()
        spec.write_text(SPEC.format(n=2))
        assert run_jaco("--server", d.server, "apply", "-f", str(spec), env=clean_env()).rc == 0
        w.until("revision 2 after the restart", lambda st: revision(st) == 2)
        assert w.proc.poll() is None  # still watching
        deadline = time.monotonic() + 10  # the stderr reader thread may lag a little
        while not any("connection lost" in ln and "reconnecting" in ln for ln in w.stderr):
            assert time.monotonic() < deadline, w.stderr
            time.sleep(0.05)
    finally:
        w.stop()
        kill_replicas(tmpdir_short)


def test_watch_with_nothing_to_dial_exits_3(tmpdir_short: Path) -> None:
    r = run_jaco("--server", f"unix://{tmpdir_short}/none.sock", "status", "-w", env=clean_env())
    assert r.rc == 3, r
