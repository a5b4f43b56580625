"""Workloads on a real 3-node loopback cluster (process runtime), in one run
(issue 4, "Measure"):

1. apply-to-converged: wall time of `jaco apply -f F --wait` (until every
   replica runs) for 1, 10 and 50 replicas of a `sleep` service;
2. `jaco logs -f` throughput in lines/s, as a ratio to reading the same
   replica's log files directly (goal >= 0.5x), with the serving node hosting
   the replica (local) and not (remote, through the node fan-out);
3. `status -w` with 200 concurrent watchers (grpc.aio WatchStatus streams in
   this process, one channel each): delivery p50/p99 of each change to each
   watcher, compared with a single watcher.

Everything shares two cores with the three jacods, so absolute figures move
with the machine; the ratios are measured side by side in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import BIN, BenchNode, clean_env, median_ms, shim_pids, three_nodes, time_command

_NS = 1_000_000_000


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s))) - 1))]


def status_dict(node: BenchNode) -> dict[str, Any]:
    r = node.jaco("-o", "json", "status")
    if r.returncode != 0:
        raise SystemExit(f"bench: jaco status failed: {r.stderr}")
    out: dict[str, Any] = json.loads(r.stdout)
    return out


def wait_no_shims(base: Path, key_prefix: str, timeout: float = 60) -> float:
    """Until no shim of replica dirs ``<key_prefix>*`` runs under ``base``; seconds waited."""
    t0 = time.monotonic()
    while True:
        left = [p for p in shim_pids(base) if key_prefix in _cmdline(p)]
        if not left:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"bench: {len(left)} shims of {key_prefix} still run")
        time.sleep(0.05)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- 1. apply → converged


def bench_apply(nodes: list[BenchNode], sizes: list[int], runs: int, tmp: Path) -> None:
    a = nodes[0]
    base = a.data_dir.parent
    print("== apply-to-converged (jaco apply -f F --wait; `sleep` replicas over 3 nodes)")
    cli = median_ms(
        time_command([str(BIN / "jaco"), "--server", a.server, "status"], 5, env=clean_env())
    )
    print(f"   (jaco CLI round trip alone, `jaco status`: {cli:.0f} ms, included below)")
    for n in sizes:
        name = f"bench-n{n}"
        spec = tmp / f"{name}.json"
        samples = []
        for run in range(runs):
            body = {
                "name": name,
                "services": {
                    "sleeper": {
                        "command": ["sleep", "100000"],
                        "replicas": n,
                        "restart": "always",
                        "env": {"RUN": str(run)},
                    }
                },
            }
            spec.write_text(json.dumps(body))
            t0 = time.perf_counter()
            r = a.jaco("apply", "-f", str(spec), "--wait", "--timeout", "300", timeout=330)
            took = time.perf_counter() - t0
            if r.returncode != 0:
                raise SystemExit(f"bench: apply {name} failed: {r.stdout}{r.stderr}")
            st = status_dict(a)
            mine = [x for x in st["replicas"] if x["deployment"] == name]
            assert len(mine) == n and all(x["state"] == "running" for x in mine), mine
            samples.append(took)
            last = n == sizes[-1] and run == runs - 1
            if not last:  # the largest one stays for the watchers below
                r = a.jaco("delete", name, "--wait")
                if r.returncode != 0:
                    raise SystemExit(f"bench: delete {name} failed: {r.stderr}")
                wait_no_shims(base, f"/{name}~")
        per = statistics.median(samples) / n * 1000
        print(
            f"   {n:3d} replicas: median {statistics.median(samples):6.2f} s  "
            f"(runs: {', '.join(f'{s:.2f}' for s in samples)})  {per:6.1f} ms/replica"
        )


# ---------------------------------------------------------------- 2. jaco logs -f throughput

EMIT = """\
import sys, time
w = sys.stdout.write
pad = "x" * 90
for i in range(int(sys.argv[1])):
    w(f"{i:08d} {pad}\\n")
sys.stdout.flush()
time.sleep(1e6)
"""

# Reads the replica's files in write order and prints each record the way
# `jaco logs` does (short replica id, mark, line), then keeps "following".
DIRECT = """\
import os, sys, time
d, prefix = sys.argv[1], sys.argv[2].encode()
files = [os.path.join(d, n) for n in ("current.log.2", "current.log.1", "current.log")]
marks = {b"stdout": b" | ", b"stderr": b" ! ", b"system": b" * "}
out = sys.stdout.buffer
for path in files:
    if os.path.exists(path):
        with open(path, "rb") as f:
            for rec in f:
                ts, stream, line = rec.split(b" ", 2)
                out.write(prefix + marks[stream] + line)
out.flush()
time.sleep(1e6)
"""


def _records(d: Path) -> int:
    n = 0
    for name in ("current.log.2", "current.log.1", "current.log"):
        p = d / name
        if p.exists():
            with open(p, "rb") as f:
                while chunk := f.read(1 << 20):
                    n += chunk.count(b"\n")
    return n


def _count_lines(argv: list[str], want: int, timeout: float = 300) -> tuple[float, float]:
    """Run ``argv`` (stdout piped), read until ``want`` lines: (seconds from
    start to the last line, lines/s between the first and the last line)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen, first = 0, 0.0
    try:
        while seen < want:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise SystemExit(f"bench: {argv[:4]} ended after {seen} of {want} lines")
            if not first:
                first = time.perf_counter()
            seen += chunk.count(b"\n")
            if time.perf_counter() - t0 > timeout:
                raise SystemExit(f"bench: {argv[:4]}: only {seen} of {want} lines in {timeout}s")
        end = time.perf_counter()
    finally:
        proc.kill()
        proc.wait()
    return end - t0, (want - 1) / max(end - first, 1e-9)


def bench_logs(nodes: list[BenchNode], lines: int, runs: int, tmp: Path) -> None:
    a = nodes[0]
    name, svc = "logsrc", "emit"
    rid = f"{name}/{svc}/0"
    spec = tmp / "logsrc.json"
    spec.write_text(
        json.dumps(
            {
                "name": name,
                "services": {
                    svc: {
                        "command": ["python3", "-c", EMIT, str(lines)],
                        "replicas": 1,
                        "restart": "always",
                    }
                },
            }
        )
    )
    r = a.jaco("apply", "-f", str(spec), "--wait", "--timeout", "120", timeout=150)
    if r.returncode != 0:
        raise SystemExit(f"bench: apply logsrc failed: {r.stdout}{r.stderr}")
    st = status_dict(a)
    host_name = next(x["node"] for x in st["replicas"] if x["id"] == rid)
    host = next(n for n in nodes if n.name == host_name)
    other = next(n for n in nodes if n is not host)
    d = host.data_dir / "runtime" / "replicas" / rid.replace("/", "~")
    deadline = time.monotonic() + 120
    while (have := _records(d)) < lines + 1:  # + the shim's "started pid" line
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: the replica wrote {have} of {lines} lines")
        time.sleep(0.2)
    total = _records(d)
    size = sum(
        (d / n).stat().st_size
        for n in ("current.log.2", "current.log.1", "current.log")
        if (d / n).exists()
    )
    print(
        f"== jaco logs -f throughput ({total} lines, {size / 2**20:.1f} MiB in the replica's "
        f"files; first line to last, median of {runs})"
    )

    def measure(argv: list[str]) -> tuple[float, float]:
        res = [_count_lines(argv, total) for _ in range(runs)]
        return statistics.median(x[0] for x in res), statistics.median(x[1] for x in res)

    direct = measure([sys.executable, "-c", DIRECT, str(d), f"{svc}/0"])
    files = [
        str(d / n) for n in ("current.log.2", "current.log.1", "current.log") if (d / n).exists()
    ]
    tail = measure(["tail", "-q", "-n", "+1", "-f", *files])
    local = measure([str(BIN / "jaco"), "--server", host.server, "logs", f"{name}/{svc}", "-f"])
    remote = measure([str(BIN / "jaco"), "--server", other.server, "logs", f"{name}/{svc}", "-f"])
    rows = [
        ("direct read of the files (python, same output format)", direct),
        ("jaco logs -f via the hosting node (local)", local),
        ("jaco logs -f via another node (fan-out)", remote),
    ]
    for label, (wall, rate) in rows:
        print(f"   {label:55s} {rate:10,.0f} lines/s   ({wall:5.2f} s from start to last line)")
    print(f"   (tail -n +1 -f of current.log*: {tail[1]:,.0f} lines/s, for scale)")
    print(f"   ratio local  jaco/direct: {local[1] / direct[1]:.2f}x   (goal >= 0.5x)")
    print(f"   ratio remote jaco/direct: {remote[1] / direct[1]:.2f}x   (goal >= 0.5x)")


# ---------------------------------------------------------------- 3. status -w watchers


async def _watch_phase(
    watch_on: BenchNode, apply_on: BenchNode, watchers: int, changes: int, gap_s: float
) -> tuple[list[float], list[float], int]:
    """``watchers`` WatchStatus streams on ``watch_on``; ``changes`` applies of
    the `watched` deployment through ``apply_on``. (delivery latencies in ms
    for every change x watcher, Apply round trips in ms, snapshot bytes)."""
    import grpc

    from jaco.v1 import control_pb2, control_pb2_grpc

    dep = "watched"
    got: list[dict[int, int]] = [{} for _ in range(watchers)]  # revision -> first seen ns
    ready = [asyncio.Event() for _ in range(watchers)]
    size = [0]
    chans = [grpc.aio.insecure_channel(watch_on.server) for _ in range(watchers)]

    async def watch(i: int) -> None:
        stub = control_pb2_grpc.ControlStub(chans[i])
        seen = 0
        async for ev in stub.WatchStatus(control_pb2.WatchStatusRequest()):
            now = time.time_ns()
            if ev.WhichOneof("event") != "snapshot":
                continue
            rev = next((d.revision for d in ev.snapshot.deployments if d.name == dep), 0)
            for r in range(seen + 1, rev + 1):
                got[i].setdefault(r, now)
            seen = max(seen, rev)
            if i == 0:
                size[0] = ev.snapshot.ByteSize()
            ready[i].set()

    tasks = [asyncio.create_task(watch(i)) for i in range(watchers)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 60)
    async with grpc.aio.insecure_channel(apply_on.server) as ch:
        stub = control_pb2_grpc.ControlStub(ch)
        committed: dict[int, int] = {}  # revision -> its command's ts (proposal)
        rtts = []
        for k in range(changes):
            body = {
                "name": dep,
                "services": {
                    "idle": {
                        "command": ["sleep", "1"],
                        "replicas": 0,
                        "env": {"K": f"{time.time_ns()}-{k}"},
                    }
                },
            }
            t0 = time.perf_counter()
            resp = await stub.Apply(
                control_pb2.ApplyRequest(spec=json.dumps(body).encode(), format="json"), timeout=30
            )
            rtts.append((time.perf_counter() - t0) * 1000)
            committed[resp.deployment.revision] = resp.deployment.created_at.ToNanoseconds()
            await asyncio.sleep(gap_s)
        last = max(committed)
        deadline = time.monotonic() + 30
        while any(last not in g for g in got) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for c in chans:
        await c.close()
    lat = []
    missing = 0
    for g in got:
        for rev, ts in committed.items():
            if rev in g:
                lat.append((g[rev] - ts) / 1e6)
            else:
                missing += 1
    if missing:
        print(f"   warning: {missing} (watcher, change) pairs never delivered within 30 s")
    return lat, rtts, size[0]


def bench_watch(nodes: list[BenchNode], watchers: int, changes: int) -> None:
    import grpc  # noqa: F401 - fail early if missing

    leader = nodes[0]  # the bootstrap node leads unless something happened
    watch_on = nodes[1]
    print(
        f"== status -w: {watchers} concurrent WatchStatus streams on follower "
        f"{watch_on.name}, {changes} changes applied via {leader.name}"
    )
    one, rtt1, size = asyncio.run(_watch_phase(watch_on, leader, 1, changes, 0.3))
    many, rtt2, _ = asyncio.run(_watch_phase(watch_on, leader, watchers, changes, 0.5))
    print(
        f"   snapshot size {size / 1024:.1f} KiB; Apply round trip p50 "
        f"{statistics.median(rtt1 + rtt2):.1f} ms (included: latency is from the change's "
        f"proposal to the watcher)"
    )
    for label, lat in ((f"{'1 watcher':>13}", one), (f"{watchers} watchers", many)):
        print(
            f"   {label}: delivery p50 {pct(lat, 50):7.1f} ms  p99 {pct(lat, 99):7.1f} ms  "
            f"max {max(lat):7.1f} ms  ({len(lat)} deliveries)"
        )
    print(f"   p99 ratio {watchers} watchers / 1 watcher: {pct(many, 99) / pct(one, 99):.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="1,10,50", help="replica counts (default: 1,10,50)")
    ap.add_argument("--runs", type=int, default=3, help="runs per size / per reader (default: 3)")
    ap.add_argument("--log-lines", type=int, default=150_000)
    ap.add_argument("--watchers", type=int, default=200)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument(
        "--only",
        choices=("apply", "watch", "logs"),
        action="append",
        help="run only this part (repeatable; default: all three)",
    )
    ns = ap.parse_args()
    parts = set(ns.only or ("apply", "watch", "logs"))
    sizes = [int(x) for x in ns.sizes.split(",")]
    t0 = time.monotonic()
    with three_nodes() as nodes:
        tmp = nodes[0].data_dir.parent
        print(f"3-node cluster up in {time.monotonic() - t0:.1f}s ({os.cpu_count()} CPUs)")
        if "apply" in parts:
            bench_apply(nodes, sizes, ns.runs, tmp)
        if "watch" in parts:
            bench_watch(nodes, ns.watchers, ns.changes)
        if "logs" in parts:
            bench_logs(nodes, ns.log_lines, ns.runs, tmp)
    print(f"total {time.monotonic() - t0:.0f}s")


if __name__ == "__main__":
    main()
