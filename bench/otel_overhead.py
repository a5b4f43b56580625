"""Telemetry overhead (issue 6, "Measure"): JACO with ``JACO_OTLP_ENDPOINT``
set (exporting over OTLP/gRPC to a receiver on loopback) vs unset, in one run.
Goal: enabled costs <= 10%.

Two clusters run side by side, one with telemetry on and one with it off, and
every measurement alternates between them (on, off, off, on, ...), so that
drift on the shared machine lands on both. Once on a single node, once on three.

1. ``jaco apply -f F --wait`` end to end (a fresh CLI process; a new revision
   of a one-replica ``sleep`` service each time, so the whole chain runs:
   cli.apply -> raft.commit -> raft.apply -> scheduler.reconcile -> runtime.*),
   three ways: all off; telemetry on the jacods only; on the jacods and the CLI
   (which then also imports the SDK and flushes its spans before it exits).
2. The Apply RPC alone (an in-process grpc.aio client over the unix socket,
   commit only), to see the daemon's cost without process start-up.
3. Audit append throughput: CreateToken RPCs (each commits one token_create
   event) with ``--inflight`` in flight over the unix socket, events/s.

The receiver runs in its own process (like a collector on the node) and counts
what arrives, so the "on" figures are checked to have exported spans. The SDK
keeps its default batching (spans every 5 s or 512); metrics are exported every
10 s rather than the default 60 s so that a run this short includes exports.
With fewer than 100 samples p99 is the slowest sample.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _common import BIN, BenchNode, _stat_fields, clean_env, running

GOAL = 1.10  # enabled costs <= 10%
Samples = dict[str, list[float]]  # per variant


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


# ---------------------------------------------------------------- the OTLP receiver


def serve_receiver() -> None:
    """``--receiver``: OTLP/gRPC trace + metrics services on 127.0.0.1:0; prints
    the port, then a JSON line of counts for each line read on stdin."""
    import threading
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as mpb
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc as mgrpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as tpb
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as tgrpc

    lock = threading.Lock()
    spans: dict[str, int] = {}
    exports = {"trace": 0, "metrics": 0}

    class Traces(tgrpc.TraceServiceServicer):
        def Export(self, request, context):  # type: ignore[no-untyped-def]  # noqa: N802
            with lock:
                exports["trace"] += 1
                for rs in request.resource_spans:
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            spans[s.name] = spans.get(s.name, 0) + 1
            return tpb.ExportTraceServiceResponse()

    class Metrics(mgrpc.MetricsServiceServicer):
        def Export(self, request, context):  # type: ignore[no-untyped-def]  # noqa: N802
            with lock:
                exports["metrics"] += 1
            return mpb.ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    tgrpc.add_TraceServiceServicer_to_server(Traces(), server)
    mgrpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    for _ in sys.stdin:
        with lock:
            print(json.dumps({"spans": spans, "exports": exports}), flush=True)
    server.stop(None)


class Receiver:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--receiver"], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
        assert self.proc.stdout is not None
        self.endpoint = f"127.0.0.1:{int(self.proc.stdout.readline())}"

    def counts(self) -> dict[str, dict[str, int]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        out: dict[str, dict[str, int]] = json.loads(self.proc.stdout.readline())
        return out

    def cpu_s(self) -> float:
        fields = _stat_fields(self.proc.pid)
        assert fields is not None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


# ---------------------------------------------------------------- clusters


class Node(BenchNode):
    """A BenchNode whose jacod gets ``env`` (telemetry on or off)."""

    def __init__(self, base: Path, name: str, env: dict[str, str]) -> None:
        super().__init__(base, name)
        self.env = env

    def start(self, *extra: str) -> None:
        argv = [str(BIN / "jacod"), "--node-name", self.name, "--data-dir", str(self.data_dir),
                "--socket", str(self.socket), "--listen", self.address,
                "--raft-listen", self.raft_address, *self.traffic, *extra]  # fmt: skip
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)  # fmt: skip


@contextlib.contextmanager
def cluster(size: int, env: dict[str, str], tag: str) -> Iterator[list[Node]]:
    base = Path(tempfile.mkdtemp(prefix=f"jo{tag}-", dir="/tmp"))  # short: socket paths
    with running(base, [Node(base, n, env) for n in "abc"[:size]]) as nodes:
        yield nodes


_runs = itertools.count()


def spec() -> bytes:
    """A new revision each time (an unchanged spec would commit nothing)."""
    svc = {"command": ["sleep", "100000"], "replicas": 1, "env": {"RUN": str(next(_runs))}}
    return json.dumps({"name": "otel-bench", "services": {"sleeper": svc}}).encode()


# ---------------------------------------------------------------- measurements


def cli_applies(leaders: dict[str, Node], cli_env: dict[str, dict[str, str]], runs: int,
                tmp: Path) -> dict[str, list[float]]:  # fmt: skip
    """``jaco apply --wait`` per variant, variants rotated each round."""
    variants = list(cli_env)
    out: dict[str, list[float]] = {v: [] for v in variants}
    for i in range(-2, runs):  # two warm-up rounds
        for v in variants[i % len(variants) :] + variants[: i % len(variants)]:
            f = tmp / f"{v}.json"
            f.write_bytes(spec())
            argv = [str(BIN / "jaco"), "--server", leaders[v].server,
                    "apply", "-f", str(f), "--wait", "--timeout", "60"]  # fmt: skip
            t0 = time.perf_counter()
            r = subprocess.run(argv, env=cli_env[v], capture_output=True, text=True, timeout=90)
            took = time.perf_counter() - t0
            if r.returncode != 0 or "applied" not in r.stdout:
                raise SystemExit(f"bench: jaco apply ({v}) failed: {r.stdout}{r.stderr}")
            if i >= 0:
                out[v].append(took)
    return out


async def rpc_applies(leaders: dict[str, Node], runs: int) -> dict[str, list[float]]:
    import grpc

    from jaco.v1 import control_pb2, control_pb2_grpc

    out: dict[str, list[float]] = {v: [] for v in leaders}
    chans = {v: grpc.aio.insecure_channel(n.server) for v, n in leaders.items()}
    stubs = {v: control_pb2_grpc.ControlStub(ch) for v, ch in chans.items()}
    order = list(leaders)
    for i in range(-5, runs):
        for v in order if i % 2 else order[::-1]:
            req = control_pb2.ApplyRequest(spec=spec(), format="json")
            t0 = time.perf_counter()
            resp = await stubs[v].Apply(req, timeout=30)
            assert resp.changed, v
            if i >= 0:
                out[v].append(time.perf_counter() - t0)
        await asyncio.sleep(0.05)  # let the replica swap settle, as between operator applies
    for ch in chans.values():
        await ch.close()
    return out


def cpu_s(nodes: list[Node]) -> float:
    """User + system CPU seconds the jacods (not their replicas) have used."""
    ticks = 0
    for n in nodes:
        assert n.proc is not None
        fields = _stat_fields(n.proc.pid)
        assert fields is not None, f"jacod {n.name} is gone"
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def token_throughput(clusters: dict[str, list[Node]], total: int, inflight: int,
                           rounds: int) -> tuple[Samples, dict[str, float]]:  # fmt: skip
    """Events/s of ``total`` CreateToken RPCs, ``inflight`` at a time, per
    round; and the jacods' CPU ms per event over all rounds."""
    import grpc

    from jaco.v1 import control_pb2, control_pb2_grpc

    leaders = {v: nodes[0] for v, nodes in clusters.items()}
    out: dict[str, list[float]] = {v: [] for v in leaders}
    cpu = dict.fromkeys(leaders, 0.0)
    order = list(leaders)
    for r in range(-1, rounds):
        for v in order if r % 2 else order[::-1]:
            cpu0 = cpu_s(clusters[v])
            async with grpc.aio.insecure_channel(leaders[v].server) as ch:
                stub = control_pb2_grpc.ControlStub(ch)
                before = (await stub.QueryAudit(control_pb2.AuditQuery(limit=1))).last_id
                sem = asyncio.Semaphore(inflight)
                reqs = [
                    control_pb2.CreateTokenRequest(identity=f"bench-{r}-{k}", role="ROLE_VIEWER")
                    for k in range(total)
                ]
                t0 = time.perf_counter()
                await asyncio.gather(*(create(stub, sem, req) for req in reqs))
                took = time.perf_counter() - t0
                after = (await stub.QueryAudit(control_pb2.AuditQuery(limit=1))).last_id
                assert after - before == total, (v, before, after)  # one event per RPC
            if r >= 0:
                out[v].append(total / took)
                cpu[v] += cpu_s(clusters[v]) - cpu0
    return out, {v: c * 1e3 / (total * rounds) for v, c in cpu.items()}


async def create(stub, sem: asyncio.Semaphore, req) -> None:  # type: ignore[no-untyped-def]
    async with sem:
        await stub.CreateToken(req, timeout=30)


# ---------------------------------------------------------------- report


def report_latency(title: str, samples: dict[str, list[float]]) -> list[bool]:
    off = statistics.median(samples["off"])
    off99 = pct(samples["off"], 0.99)
    print(f"  {title}")
    met = []
    for v, s in samples.items():
        p50, p99 = statistics.median(s), pct(s, 0.99)
        line = f"    {v:18} p50 {p50 * 1e3:7.1f} ms   p99 {p99 * 1e3:7.1f} ms"
        if v != "off":
            ok = p50 / off <= GOAL
            met.append(ok)
            line += (f"   ratio p50 {p50 / off:.3f}x  p99 {p99 / off99:.3f}x"
                     f"   {'met' if ok else 'NOT met'}")  # fmt: skip
        print(line)
    return met


def report_throughput(samples: dict[str, list[float]], cpu_ms: dict[str, float],
                      inflight: int) -> bool:  # fmt: skip
    off, on = statistics.median(samples["off"]), statistics.median(samples["on"])
    print(f"  audit append throughput (CreateToken, {inflight} in flight, median of rounds)")
    for v, s in samples.items():
        print(f"    {v:18} {statistics.median(s):7.0f} events/s"
              f"   (rounds: {', '.join(f'{x:.0f}' for x in s)})"
              f"   jacod CPU {cpu_ms[v]:.2f} ms/event")  # fmt: skip
    ok = on / off >= 1 / GOAL
    print(
        f"    ratio on/off {on / off:.3f}x   {'met' if ok else 'NOT met'} (goal >= {1 / GOAL:.3f}x)"
    )
    return ok


def phase(size: int, rx: Receiver, ns: argparse.Namespace) -> list[bool]:
    off_env = clean_env()
    on_env = clean_env(JACO_OTLP_ENDPOINT=rx.endpoint, OTEL_METRIC_EXPORT_INTERVAL="10000")
    tmp = Path(tempfile.mkdtemp(prefix="jo-spec-"))
    with cluster(size, off_env, "0") as off, cluster(size, on_env, "1") as on:
        print(f"== {size} node{'s' if size > 1 else ''} (CLI and clients on node a, the leader)")
        leaders = {"off": off[0], "on": on[0]}
        cli = cli_applies({"off": off[0], "on (jacod)": on[0], "on (jacod + jaco)": on[0]},
                          {"off": off_env, "on (jacod)": off_env, "on (jacod + jaco)": on_env},
                          ns.cli_runs, tmp)  # fmt: skip
        met = report_latency(f"jaco apply --wait, end to end ({ns.cli_runs} runs each)", cli)
        rpc = asyncio.run(rpc_applies(leaders, ns.rpc_runs))
        met += report_latency(f"Apply RPC, commit only ({ns.rpc_runs} runs each)", rpc)
        thr, cpu = asyncio.run(
            token_throughput({"off": off, "on": on}, ns.tokens, ns.inflight, ns.rounds)
        )
        met.append(report_throughput(thr, cpu, ns.inflight))
        time.sleep(6)  # one more span batch (5 s schedule)
    shutil.rmtree(tmp, ignore_errors=True)
    return met


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cli-runs", type=int, default=12)
    ap.add_argument("--rpc-runs", type=int, default=60)
    ap.add_argument("--tokens", type=int, default=400, help="CreateToken RPCs per round")
    ap.add_argument("--inflight", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--nodes", default="1,3", help="cluster sizes to run, e.g. 1 or 1,3")
    ap.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.receiver:
        serve_receiver()
        return
    rx = Receiver()
    met: list[bool] = []
    try:
        for size in (int(s) for s in ns.nodes.split(",")):
            met += phase(size, rx, ns)
            got = rx.counts()
            print(f"  receiver so far: {got['exports']['trace']} trace exports, "
                  f"{got['exports']['metrics']} metric exports, its CPU {rx.cpu_s():.1f} s, spans "
                  f"{json.dumps(dict(sorted(got['spans'].items())))}")  # fmt: skip
            if not {"cli.apply", "raft.commit", "raft.apply"} <= set(got["spans"]):
                raise SystemExit("bench: the 'on' cluster did not export the apply chain")
    finally:
        rx.close()
    print(f"goal (enabled costs <= 10%): met on {sum(met)} of {len(met)} measures"
          f"{'' if all(met) else ' (NOT met overall)'}")  # fmt: skip


if __name__ == "__main__":
    main()
