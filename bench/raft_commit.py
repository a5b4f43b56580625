"""Raft commit cost: JACO's ``Cluster.propose`` vs a raw PySyncObj
``@replicated`` call with the same settings, each on a 3-node loopback
cluster, in one run. Prints p50/p99 latency (sequential commits) and
throughput (many in flight), and the ratios. Goal (issue 3): latency <= 1.3x,
throughput >= 0.7x of raw PySyncObj."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SECRET = "00" * 32


def ports(n: int) -> list[str]:
    out, socks = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        out.append(f"127.0.0.1:{s.getsockname()[1]}")
    for s in socks:
        s.close()
    return out


def summarize(lat: list[float], thr: float) -> dict[str, float]:
    lat.sort()
    return {"p50_ms": statistics.median(lat) * 1e3,
            "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1e3, "throughput": thr}


def conf_kwargs(tmp: Path, i: int) -> dict[str, object]:
    from jacod.cluster.raft import RaftTimings

    t = RaftTimings()
    return dict(password=SECRET, useFork=False, dynamicMembershipChange=True,
                journalFile=str(tmp / f"j{i}"), fullDumpFile=str(tmp / f"d{i}"),
                appendEntriesPeriod=t.append_entries_period, autoTickPeriod=t.auto_tick_period,
                raftMinTimeout=t.raft_min_timeout,
                raftMaxTimeout=t.raft_max_timeout, connectionTimeout=t.connection_timeout,
                connectionRetryTime=t.connection_retry_time,
                leaderFallbackTimeout=t.leader_fallback_timeout, commandsWaitLeader=False)


def run_raw(n: int, inflight: int) -> dict[str, float]:
    from pysyncobj import SyncObj, SyncObjConf, replicated

    class Counter(SyncObj):
        def __init__(self, me: str, others: list[str], conf: SyncObjConf):
            super().__init__(me, others, conf)
            self.value = 0

        @replicated
        def add(self, data: bytes) -> int:
            self.value += 1
            return self.value

    tmp = Path(tempfile.mkdtemp())
    addrs = ports(3)
    nodes = [Counter(a, [b for b in addrs if b != a], SyncObjConf(**conf_kwargs(tmp, i)))
             for i, a in enumerate(addrs)]
    while not any(x._isLeader() for x in nodes):
        time.sleep(0.05)
    leader = next(x for x in nodes if x._isLeader())
    payload = b"x" * 200

    def commit() -> float:
        done = threading.Event()
        t0 = time.perf_counter()
        leader.add(payload, callback=lambda r, e: done.set())
        done.wait(10)
        return time.perf_counter() - t0

    for _ in range(20):
        commit()
    lat = [commit() for _ in range(n)]
    remaining = threading.Semaphore(0)
    t0 = time.perf_counter()
    total = n * 5
    sem = threading.BoundedSemaphore(inflight)
    for _ in range(total):
        sem.acquire()
        leader.add(payload, callback=lambda r, e: (sem.release(), remaining.release()))
    for _ in range(total):
        remaining.acquire()
    thr = total / (time.perf_counter() - t0)
    for x in nodes:
        x.destroy_synchronous()
    shutil.rmtree(tmp, ignore_errors=True)
    return summarize(lat, thr)


async def run_jaco(n: int, inflight: int) -> dict[str, float]:
    from jacod.cluster import raft
    from jacod.cluster.cluster import Cluster
    from jacod.state import AuditType, Bootstrap, RecordEvent

    tmp = Path(tempfile.mkdtemp())
    addrs = ports(3)
    clusters = []
    for i, a in enumerate(addrs):
        c = Cluster(f"n{i}", a, SECRET)
        d = tmp / f"n{i}"
        d.mkdir()
        others = [b for b in addrs if b != a]
        c.start_raft(lambda fsm, a=a, others=others, d=d: raft.start(
            fsm, a, others, SECRET, d, raft.RaftTimings()))
        clusters.append(c)
    while not any(c.is_leader() for c in clusters):
        await asyncio.sleep(0.05)
    leader = next(c for c in clusters if c.is_leader())
    await leader.propose(Bootstrap(ts_ns=time.time_ns(), identity="system", node="n0",
                                   cluster_id="bench", node_name=leader.node_name, address="",
                                   raft_address=leader.raft_address))

    def cmd() -> RecordEvent:
        return RecordEvent(ts_ns=time.time_ns(), identity="system", node=leader.node_name,
                           type=AuditType.BACKUP_TAKEN, payload={"bench": "x" * 150})

    async def commit() -> float:
        t0 = time.perf_counter()
        await leader.propose(cmd())
        return time.perf_counter() - t0

    for _ in range(20):
        await commit()
    lat = [await commit() for _ in range(n)]
    sem = asyncio.Semaphore(inflight)
    total = n * 5

    async def one() -> None:
        async with sem:
            await leader.propose(cmd())

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))
    thr = total / (time.perf_counter() - t0)
    for c in clusters:
        await c.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return summarize(lat, thr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--commits", type=int, default=300)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--mode", choices=("raw", "jaco"), help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.mode == "raw":
        print(json.dumps(run_raw(ns.commits, ns.inflight)))
        return
    if ns.mode == "jaco":
        print(json.dumps(asyncio.run(run_jaco(ns.commits, ns.inflight))))
        return
    results = {}
    for mode in ("raw", "jaco"):  # separate processes: no shared GIL or sockets
        out = subprocess.run([sys.executable, __file__, "--mode", mode, "--commits",
                              str(ns.commits), "--inflight", str(ns.inflight)],
                             check=True, capture_output=True, text=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
    raw, jaco = results["raw"], results["jaco"]
    for name, r in results.items():
        print(f"{name:5} p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
              f"throughput {r['throughput']:7.0f} commits/s")
    print(f"latency p50 ratio {jaco['p50_ms'] / raw['p50_ms']:.2f}x  "
          f"p99 ratio {jaco['p99_ms'] / raw['p99_ms']:.2f}x  (goal <= 1.3x)")
    print(f"throughput ratio {jaco['throughput'] / raw['throughput']:.2f}x  (goal >= 0.7x)")


if __name__ == "__main__":
    main()
