"""The ingress proxy's cost, in one run (issue 9, "Measure").

A 3-node loopback cluster (process runtime) runs one replica each of two
small servers answering 1 KiB: an aiohttp app (the worst case for the proxy:
the replica costs next to nothing, so the proxy's own cost shows whole) and a
``http.server.ThreadingHTTPServer`` app (what the examples run). The same
load — ``--concurrency`` keep-alive clients for ``--seconds`` each, in this
process — goes

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

REPLICAS = {
    "aiohttp": """\
import os
from aiohttp import web
BODY = b"x" * 1024
async def ok(request):
    return web.Response(body=BODY)
app = web.Application()
app.router.add_get("/{tail:.*}", ok)
web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None,
            print=None, handle_signals=True)
""",
    "threading": """\
import http.server, os
BODY = b"x" * 1024
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
""",
}


def host(kind: str) -> str:
    return f"{kind}.bench.test"


def spec(kind: str, script: Path) -> str:
    return f"""
name = "{kind}"
[services.web]
command = ["{BIN / "python"}", "{script}"]
ports = [8000]
[services.web.health]
http = "/"
interval = "1s"
[services.web.ingress]
host = "{host(kind)}"
"""


async def load(
    url: str, seconds: float, concurrency: int, vhost: str
) -> tuple[float, list[float], int]:
    """(requests/s, latencies in s, failures) of keep-alive GETs for ``seconds``."""
    latencies: list[float] = []
    failures = 0
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn, headers={"Host": vhost}) as session:
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


def replica_of(node: BenchNode, kind: str) -> tuple[str, int]:
    """(node name, host port) of the ``<kind>/web/0`` replica once it runs."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = node.jaco("-o", "json", "status")
        st = json.loads(r.stdout) if r.returncode == 0 else {}
        for rep in st.get("replicas", []):
            if rep["id"] == f"{kind}/web/0" and rep["state"] == "running" and rep.get("ports"):
                return rep["node"], int(rep["ports"]["8000"])
        time.sleep(0.2)
    raise SystemExit(f"bench: {kind}/web/0 did not become running: {st.get('replicas')}")


def measure(
    nodes: list[BenchNode], kind: str, seconds: float, concurrency: int
) -> list[tuple[str, float, list[float], int]]:
    where, port = replica_of(nodes[0], kind)
    local = next(n for n in nodes if n.name == where)
    remote = next(n for n in nodes if n.name != where)
    targets = [
        ("direct to the replica", f"http://127.0.0.1:{port}/"),
        (f"ingress of {local.name} (local)", f"http://127.0.0.1:{local.ingress_port}/"),
        (f"ingress of {remote.name} (remote)", f"http://127.0.0.1:{remote.ingress_port}/"),
    ]
    for _, url in targets:  # warm-up: connections, caches
        asyncio.run(load(url, 0.5, concurrency, host(kind)))
    out = []
    for name, url in targets:
        rps, lat, failed = asyncio.run(load(url, seconds, concurrency, host(kind)))
        out.append((name, rps, lat, failed))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    results = {}
    with three_nodes() as nodes:
        base = nodes[0].data_dir.parent
        for kind, source in REPLICAS.items():
            script = base / f"replica_{kind}.py"  # not aiohttp.py: it would shadow the module
            script.write_text(source)
            (base / f"{kind}.toml").write_text(spec(kind, script))
            r = nodes[0].jaco("apply", "-f", str(base / f"{kind}.toml"))
            if r.returncode != 0:
                raise SystemExit(f"bench: apply failed: {r.stderr}")
        for kind in REPLICAS:
            results[kind] = measure(nodes, kind, args.seconds, args.concurrency)
    print(f"ingress: {args.concurrency} keep-alive clients, {args.seconds:g}s per target, "
          "1 KiB responses")  # fmt: skip
    for kind, rows in results.items():
        base_rps = rows[0][1]
        print(f"{kind} replica:")
        for name, rps, lat, failed in rows:
            print(
                f"  {name:32s} {rps:8.0f} req/s  p50 {statistics.median(lat) * 1000:6.2f} ms  "
                f"p99 {pct(lat, 99) * 1000:6.2f} ms  failed {failed}  "
                f"throughput {rps / base_rps:4.2f}x"
            )
        worst = min(r[1] for r in rows[1:]) / base_rps
        print(f"  goal >= 0.5x of direct throughput: {'met' if worst >= 0.5 else 'NOT met'} "
              f"(worst {worst:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
