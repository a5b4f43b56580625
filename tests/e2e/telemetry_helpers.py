"""A thin layer over :mod:`tests.e2e.cluster` for the telemetry end-to-end test:
nodes and CLI runs with extra environment (the OTLP receiver's variables), and
a probe wrapper that runs the real ``jacod`` / ``jaco`` entry points in an
interpreter that reports its own ``sys.modules`` and threads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.e2e.cluster import Cluster, Node
from tests.helpers import Result, clean_env, run_jaco

# ``python -c PROBE_JACOD <jacod args>``: jacod's own main() in the main thread;
# a daemon thread ("jt-probe") rewrites $JT_PROBE every 0.3 s with the
# opentelemetry modules loaded and the Python threads alive.
PROBE_JACOD = """
import json, os, sys, threading, time
path = os.environ["JT_PROBE"]
def probe():
    while True:
        data = {
            "otel": sorted(m for m in list(sys.modules) if m.split(".")[0] == "opentelemetry"),
            "threads": sorted(t.name for t in threading.enumerate()),
            "count": threading.active_count(),
        }
        with open(path + ".tmp", "w") as f:
            json.dump(data, f)
        os.replace(path + ".tmp", path)
        time.sleep(0.3)
threading.Thread(target=probe, name="jt-probe", daemon=True).start()
from jacod.__main__ import main
main(sys.argv[1:])
"""

# ``python -c PROBE_JACO <jaco args>``: the CLI's run() then the same report on stdout's
# last line (after run() returned, i.e. after the CLI's own shutdown/flush).
PROBE_JACO = """
import json, sys, threading
before = threading.active_count()
from jaco import cli
rc = cli.run(sys.argv[1:])
print("JT-PROBE " + json.dumps({
    "rc": rc,
    "otel": sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"),
    "threads": sorted(t.name for t in threading.enumerate()),
    "count": threading.active_count(),
    "before": before,
}))
"""


class EnvNode(Node):
    """A :class:`Node` whose jacod and CLI runs get ``extra_env``; jacod runs
    under :data:`PROBE_JACOD` (``probe_path`` holds its report)."""

    def __init__(self, base: Path, name: str, extra_env: Mapping[str, str]):
        super().__init__(base, name)
        self.extra_env = dict(extra_env)
        self.probe_path = base / f"{name}.probe.json"

    def argv(self, *extra: str) -> list[str]:
        argv = super().argv(*extra)
        return [sys.executable, "-c", PROBE_JACOD, *argv[argv.index("--node-name") :]]

    def env(self) -> dict[str, str]:
        return clean_env({**self.extra_env, "JT_PROBE": str(self.probe_path)})

    def start(self, *extra: str) -> EnvNode:
        assert not self.running, f"{self.name} is already running"
        self.base.mkdir(parents=True, exist_ok=True)
        self.last_argv = self.argv(*extra)
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                self.last_argv,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )
        return self

    def jaco(self, *args: str, timeout: float = 30) -> Result:
        return run_jaco(
            "--server", self.server, *args, env=clean_env(self.extra_env), timeout=timeout
        )

    def probe(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.probe_path.read_text())
        except (OSError, ValueError):
            return None
        return data


class EnvCluster(Cluster):
    """A :class:`Cluster` whose every node is an :class:`EnvNode` with ``extra_env``."""

    def __init__(self, base: Path, extra_env: Mapping[str, str]):
        super().__init__(base)
        self.extra_env = dict(extra_env)

    def node(self, name: str) -> EnvNode:
        if name not in self.nodes:
            self.nodes[name] = EnvNode(self.base, name, self.extra_env)
        node = self.nodes[name]
        assert isinstance(node, EnvNode)
        return node


def probe_jaco(*args: str, env: Mapping[str, str | None]) -> tuple[Result, dict[str, Any]]:
    """Run the CLI under :data:`PROBE_JACO`; its result and its report."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE_JACO, *args],
        env=clean_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("JT-PROBE ")]
    assert lines, f"no probe report: rc={proc.returncode} out={proc.stdout!r} err={proc.stderr!r}"
    report: dict[str, Any] = json.loads(lines[-1].removeprefix("JT-PROBE "))
    return Result(proc.returncode, proc.stdout, proc.stderr), report
