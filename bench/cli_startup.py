"""CLI start-up cost: `jaco --version` and `jaco status -o json` (against a
`jacod --dev`) as ratios to `python3 -c "import grpc"`, all in this run.
Goal (issue 2): both <= 1.5x."""

from __future__ import annotations

import argparse
import sys

from _common import BIN, clean_env, dev_daemon, median_ms, time_command


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    ns = ap.parse_args()
    env = clean_env()
    base = median_ms(time_command([sys.executable, "-c", "import grpc"], ns.runs, env))
    version = median_ms(time_command([str(BIN / "jaco"), "--version"], ns.runs, env))
    with dev_daemon() as server:
        status = median_ms(
            time_command(
                [str(BIN / "jaco"), "--server", server, "status", "-o", "json"], ns.runs, env
            )
        )
    print(f"baseline  python -c 'import grpc'   {base:7.1f} ms")
    print(f"jaco --version                      {version:7.1f} ms   ratio {version / base:.2f}x")
    print(
        f"jaco status -o json                 {status:7.1f} ms   ratio {status / base:.2f}x"
        "   (goal <= 1.5x)"
    )


if __name__ == "__main__":
    main()
