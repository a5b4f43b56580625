"""End to end: the console in a real terminal (tmux, a private server)
against a real `jacod --dev` running a deployment. The captured screen shows
a running replica and one of its log lines; after `jaco delete` the status
pane shows the deployment gone."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import JACO, Jacod, clean_env, run_jaco

# scripts/setup.sh installs tmux: a missing one is a broken setup, not a skip.
assert shutil.which("tmux"), "tmux is not installed: run scripts/setup.sh as root"

SPEC = """\
name = "tuie2e"

[services.ticker]
command = "sh -c 'i=0; while true; do echo \\"tick $i\\"; i=$((i+1)); sleep 0.2; done'"
replicas = 2
"""
RUNNING = re.compile(r"│\s+ticker/\d\s+running\s")
LOG_LINE = re.compile(r"│ticker/\d \| tick \d+")


def console_argv(server: str) -> list[str]:
    """`jaco tui` once the CLI has the verb; until then the same console
    through ``python -m jaco.tui`` (same target resolution, same app)."""
    if re.search(r"^\s+tui\s", run_jaco("--help").out, re.M):
        return [*JACO, "--server", server, "tui"]
    return [sys.executable, "-m", "jaco.tui", "--server", server]


class Tmux:
    def __init__(self, name: str) -> None:
        self.base = ["tmux", "-L", name]

    def __call__(self, *args: str) -> str:
        proc = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=10)
        return proc.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "console")

    def wait_for(self, ok: Callable[[str], bool], what: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if ok(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")
            time.sleep(0.2)


@pytest.fixture
def tmux(tmpdir_short: Path) -> Iterator[Tmux]:
    t = Tmux(f"jaco-e2e-{tmpdir_short.name}")
    try:
        yield t
    finally:
        t("kill-server")


def test_console_on_a_real_cluster(jacod_factory: Callable[..., Jacod], tmux: Tmux) -> None:
    daemon = jacod_factory()
    spec = daemon.base / "tuie2e.toml"
    spec.write_text(SPEC)
    applied = run_jaco("--server", daemon.server, "apply", "-f", str(spec))
    assert applied.rc == 0, applied.err

    env = clean_env({"TERM": "xterm-256color", "COLUMNS": None, "LINES": None})
    command = " ".join(console_argv(daemon.server))
    tmux("new-session", "-d", "-s", "console", "-x", "140", "-y", "40",
         *[f"-e{k}={v}" for k, v in env.items() if k in ("PATH", "HOME", "TERM", "LANG")],
         command)  # fmt: skip
    tmux("resize-window", "-t", "console", "-x", "140", "-y", "40")  # detached: no client sizes it
    tmux.wait_for(lambda s: RUNNING.search(s) is not None, "a running replica")
    tmux("send-keys", "-t", "console", "Down", "Enter")  # the service row: tail its logs
    screen = tmux.wait_for(lambda s: LOG_LINE.search(s) is not None, "a log line")
    assert "Logs · tuie2e/ticker" in screen and "● connected" in screen

    deleted = run_jaco("--server", daemon.server, "delete", "tuie2e")
    assert deleted.rc == 0, deleted.err
    screen = tmux.wait_for(
        lambda s: RUNNING.search(s) is None and "no deployments yet" in s, "the deployment gone"
    )
    assert "deployment tuie2e was deleted" in screen  # the logs pane's last line
    tmux("send-keys", "-t", "console", "q")
