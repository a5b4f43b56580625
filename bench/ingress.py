"""The ingress proxy's cost, in one run (issue 9, "Measure").

A 3-node loopback cluster (process runtime) runs one replica of a small
aiohttp server. The same load — ``--concurrency`` keep-alive clients for
``--seconds`` each, in this process — goes

1. straight to the replica's host port (the baseline),
2. through the ingress of the node running the replica (local hop),
3. through the ingress of another node (what a load balancer in front of
   the cluster would often hit),

and the script prints requests/s and p50/p99 latency of each, with the
throughput ratio to the baseline (goal: >= 0.5x). Everything shares two cores
— the load generator, three jacods, the replica — so absolute numbers move
with the machine; the ratios are measured side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import aiohttp
from _common import BIN, BenchNode, three_nodes

HOST = "bench.test"
REPLICA = """\
import os
from aiohttp import web
BODY = b"x" * 1024
async def ok(request):
    return web.Response(body=BODY)
app = web.Application()
app.router.add_get("/{tail:.*}", ok)
web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None,
            print=None, handle_signals=True)
"""


def spec(script: Path) -> str:
    return f"""
name = "bench"
[services.web]
command = ["{BIN / "python"}", "{script}"]
ports = [8000]
[services.web.health]
http = "/"
interval = "1s"
[services.web.ingress]
host = "{HOST}"
"""


async def load(url: str, seconds: float, concurrency: int) -> tuple[float, list[float], int]:
    """(requests/s, latencies in s, failures) of keep-alive GETs for ``seconds``."""
    latencies: list[float] = []
    failures = 0
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn, headers={"Host": HOST}) as session:
        stop_at = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failures
            while (t0 := time.perf_counter()) < stop_at:
                try:
                    async with session.get(url) as r:
                        await r.read()
                        if r.status != 200:
                            failures += 1
                            continue
                except aiohttp.ClientError:
                    failures += 1
                    continue
                latencies.append(time.perf_counter() - t0)

        t_start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t_start
    return len(latencies) / elapsed, latencies, failures


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s))) - 1))]


def replica_of(node: BenchNode) -> tuple[str, int]:
    """(node name, host port) of the bench/web/0 replica once it runs."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = node.jaco("-o", "json", "status")
        st = json.loads(r.stdout) if r.returncode == 0 else {}
        for rep in st.get("replicas", []):
            if rep["id"] == "bench/web/0" and rep["state"] == "running" and rep.get("ports"):
                return rep["node"], int(rep["ports"]["8000"])
        time.sleep(0.2)
    raise SystemExit("bench: bench/web/0 did not become running")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    with three_nodes() as nodes:
        base = nodes[0].data_dir.parent
        script = base / "replica.py"
        script.write_text(REPLICA)
        (base / "bench.toml").write_text(spec(script))
        r = nodes[0].jaco("apply", "-f", str(base / "bench.toml"))
        if r.returncode != 0:
            raise SystemExit(f"bench: apply failed: {r.stderr}")
        where, port = replica_of(nodes[0])
        local = next(n for n in nodes if n.name == where)
        remote = next(n for n in nodes if n.name != where)
        targets = [
            ("direct to the replica", f"http://127.0.0.1:{port}/"),
            (f"ingress of {local.name} (local)", f"http://127.0.0.1:{local.ingress_port}/"),
            (f"ingress of {remote.name} (remote)", f"http://127.0.0.1:{remote.ingress_port}/"),
        ]
        asyncio.run(load(targets[0][1], 1.0, args.concurrency))  # warm-up: connections, caches
        results = []
        for name, url in targets:
            rps, lat, failed = asyncio.run(load(url, args.seconds, args.concurrency))
            results.append((name, rps, lat, failed))
    base_rps = results[0][1]
    print(f"ingress: {args.concurrency} keep-alive clients, {args.seconds:g}s per target, "
          "1 KiB responses")  # fmt: skip
    for name, rps, lat, failed in results:
        print(
            f"  {name:32s} {rps:8.0f} req/s  p50 {statistics.median(lat) * 1000:6.2f} ms  "
            f"p99 {pct(lat, 99) * 1000:6.2f} ms  failed {failed}  "
            f"throughput {rps / base_rps:4.2f}x"
        )
    worst = min(r[1] for r in results[1:]) / base_rps
    print(f"goal >= 0.5x of direct throughput: {'met' if worst >= 0.5 else 'NOT met'} "
          f"(worst {worst:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
