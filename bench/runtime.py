"""Replica start latency: the docker runtime (against podman's Docker API
service, local busybox image) vs the process runtime, same spec, in one run.

For each runtime, ``--replicas`` times in a row: ``create`` + ``start`` until
the runtime reports the replica running ("start"), and until its first log
line can be read back ("first line"). The image is local, so no pull is
measured (``pull`` is timed once, for the record). Prints medians and the
docker/process ratios. Needs podman, runc and busybox-static
(``scripts/setup.sh``); without them it says so and exits 0."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jacod.runtime import ProcessRuntime, ReplicaSpec  # noqa: E402
from jacod.runtime.base import Runtime  # noqa: E402
from jacod.runtime.docker import DockerRuntime  # noqa: E402
from tests.helpers.podman import IMAGE, missing, running_podman  # noqa: E402

SCRIPT = "trap 'exit 0' TERM; echo ready; while true; do sleep 1; done"


def spec(i: int, image: str) -> ReplicaSpec:
    return ReplicaSpec(replica_id=f"bench/app/{i}", deployment="bench", service="app", revision=1,
                       image=image, command=["sh", "-c", SCRIPT])  # fmt: skip


async def measure(rt: Runtime, n: int, image: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"start": [], "first line": [], "pull": []}
    t0 = time.perf_counter()
    await rt.pull(spec(0, image))
    out["pull"].append(time.perf_counter() - t0)
    for i in range(n):
        s = spec(i, image)
        t0 = time.perf_counter()
        await rt.create(s)
        info = await rt.start(s.replica_id)
        out["start"].append(time.perf_counter() - t0)
        assert info.status == "running", info
        while not [e async for e in rt.logs(s.replica_id) if e.line == "ready"]:
            await asyncio.sleep(0.002)
        out["first line"].append(time.perf_counter() - t0)
    for i in range(n):
        await rt.stop(f"bench/app/{i}", 5)
        await rt.remove(f"bench/app/{i}")
    return out


async def run(n: int) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="jb-rt-", dir="/tmp") as tmp:
        process = ProcessRuntime(Path(tmp) / "process", cgroup_parent=None)
        results["process"] = await measure(process, n, "")
    with running_podman() as pm:
        docker = DockerRuntime(pm.host, node="bench")
        try:
            await measure(docker, 1, IMAGE)  # warm-up: the engine's first container
            results["docker"] = await measure(docker, n, IMAGE)
        finally:
            await docker.aclose()
    return results


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--replicas", type=int, default=10)
    ns = ap.parse_args()
    if (why := missing()) is not None or shutil.which("sh") is None:
        print(f"bench/runtime.py: skipped: {why}")
        return
    r = asyncio.run(run(ns.replicas))
    p, d = r["process"], r["docker"]
    print(f"replica start latency, median of {ns.replicas} (podman {IMAGE} vs process)")
    for metric in ("start", "first line"):
        print(f"{metric:11} process {ms(p[metric]):7.1f} ms   docker {ms(d[metric]):7.1f} ms   "
              f"ratio {ms(d[metric]) / ms(p[metric]):.2f}x")  # fmt: skip
    print(f"pull (image already local): docker {ms(d['pull']):.1f} ms")


if __name__ == "__main__":
    main()
