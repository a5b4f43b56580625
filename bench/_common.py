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


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JACO_", "OTEL_")) and k not in ("INVOCATION_ID", "NOTIFY_SOCKET")
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
            [str(BIN / "jacod"), "--dev", "--data-dir", tmp, "--socket", sock],
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
