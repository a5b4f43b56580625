"""Audit queries and token revocation (issue 5, "Measure").

1. ``--since 1h --type X`` over 1,000,000 events: the server's query
   (``jacod.state.query_audit`` on a state holding the events, as QueryAudit
   runs it: one page of up to 1000 events) as a ratio to a linear scan of the
   same log with the same filters, in this run. Goal: <= 0.01x. The events
   span ``--span`` (default 30 days: 1M events is ~0.4 event/s for a month);
   the 24 h case is printed too, as the worst realistic density.
2. Revocation propagation on a real 3-node cluster (TLS, tokens): a viewer
   token is revoked on the leader; each node is polled over TLS until it
   refuses the token. Printed: the revoke RPC (commit on the leader), the
   refusal delay per node after the revoke was sent, and the daemons' own
   figure (``token revocation applied after_s=``: proposal -> apply there,
   what ``revocation_observers`` get).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time

from _common import three_nodes

HOUR_NS = 3600 * 10**9


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


def build_state(n: int, span_s: float, now_ns: int):  # type: ignore[no-untyped-def]
    from jacod.state import AuditEvent, AuditType, State

    kinds = list(AuditType)
    step = int(span_s * 1e9 / n)
    start = now_ns - int(span_s * 1e9)
    audit = [
        AuditEvent(id=i + 1, ts_ns=start + i * step, type=kinds[(i * 7) % len(kinds)],
                   identity="alice" if i % 3 else "system", payload={"i": i})
        for i in range(n)
    ]  # fmt: skip
    return State(cluster_id="bench", audit=audit, last_audit_id=n)


def linear(state, since_ns: int, kind) -> list:  # type: ignore[no-untyped-def]
    """What a log without an index would do: look at every event."""
    out = []
    for e in state.audit:
        if e.ts_ns >= since_ns and e.type == kind:
            out.append(e)
            if len(out) >= 1000:
                break
    return out


def time_best(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def query_bench(n: int, span_s: float, runs: int) -> tuple[float, float, int, float, int]:
    """(best indexed query, best scan, hits, first query incl. building the
    type/identity/deployment index, index bytes)."""
    from jacod.state import AuditType, query_audit
    from jacod.state.audit_index import audit_index

    now = time.time_ns()
    state = build_state(n, span_s, now)
    since, kind = now - HOUR_NS, AuditType.TOKEN_REVOKE
    t0 = time.perf_counter()
    got = query_audit(state, since_ns=since, types=[kind], limit=1000)
    first = time.perf_counter() - t0
    assert got == linear(state, since, kind), "the index and the scan disagree"
    indexed = time_best(lambda: query_audit(state, since_ns=since, types=[kind], limit=1000), runs)
    scanned = time_best(lambda: linear(state, since, kind), max(3, runs // 5))
    return indexed, scanned, len(got), first, audit_index(state).nbytes()


async def revocation_bench(rounds: int) -> None:
    import grpc

    from jaco.v1 import control_pb2, control_pb2_grpc

    with three_nodes() as nodes:
        leader = next(n for n in nodes if _is_leader(n))
        ca = (nodes[0].data_dir / "pki" / "ca.crt").read_bytes()
        creds = grpc.ssl_channel_credentials(ca)
        channels = [grpc.aio.secure_channel(n.address, creds) for n in nodes]
        stubs = [control_pb2_grpc.ControlStub(ch) for ch in channels]
        local = grpc.aio.insecure_channel(leader.server)
        admin = control_pb2_grpc.ControlStub(local)
        commit, refused = [], {n.name: [] for n in nodes}  # type: ignore[var-annotated]

        async def status(stub: control_pb2_grpc.ControlStub, token: str) -> grpc.StatusCode:
            try:
                await stub.GetStatus(control_pb2.GetStatusRequest(), timeout=5,
                                     metadata=(("authorization", f"Bearer {token}"),))  # fmt: skip
                return grpc.StatusCode.OK
            except grpc.aio.AioRpcError as err:
                return err.code()

        async def until_refused(stub: control_pb2_grpc.ControlStub, token: str) -> float:
            while await status(stub, token) != grpc.StatusCode.UNAUTHENTICATED:
                pass
            return time.perf_counter()

        for i in range(rounds):
            resp = await admin.CreateToken(control_pb2.CreateTokenRequest(
                identity=f"bench-{i}", role="ROLE_VIEWER"), timeout=10)  # fmt: skip
            token = resp.token
            for stub in stubs:  # usable everywhere first
                while await status(stub, token) != grpc.StatusCode.OK:
                    await asyncio.sleep(0.005)
            watchers = [asyncio.create_task(until_refused(s, token)) for s in stubs]
            await asyncio.sleep(0.01)
            t0 = time.perf_counter()
            await admin.RevokeToken(control_pb2.RevokeTokenRequest(id=resp.info.id), timeout=10)
            commit.append(time.perf_counter() - t0)
            for node, t in zip(nodes, await asyncio.gather(*watchers), strict=True):
                refused[node.name].append(t - t0)
        for ch in [*channels, local]:
            await ch.close()
        internal = [
            float(m) for n in nodes
            for m in re.findall(r"token revocation applied .*after_s=([0-9.]+)", n.log.read_text())
        ]  # fmt: skip

    ms = 1e3
    print(f"revocation, {rounds} revokes on the leader ({leader.name}), 3 nodes, TLS:")
    print(f"  revoke RPC (commit on the leader)    p50 {statistics.median(commit) * ms:6.1f} ms"
          f"   p99 {pct(commit, 0.99) * ms:6.1f} ms")  # fmt: skip
    every = [max(v) for v in zip(*refused.values(), strict=True)]
    for name, values in refused.items():
        role = "leader" if name == leader.name else "follower"
        print(
            f"  refused by {name} ({role:8}) after send   p50 "
            f"{statistics.median(values) * ms:6.1f} ms   p99 {pct(values, 0.99) * ms:6.1f} ms"
        )
    print(f"  refused by all three after send      p50 {statistics.median(every) * ms:6.1f} ms"
          f"   p99 {pct(every, 0.99) * ms:6.1f} ms")  # fmt: skip
    if internal:
        print(
            f"  daemons' propose->apply ({len(internal)} obs.)  p50 "
            f"{statistics.median(internal) * ms:6.1f} ms   p99 {pct(internal, 0.99) * ms:6.1f} ms"
        )


def _is_leader(node) -> bool:  # type: ignore[no-untyped-def]
    import grpc

    from jaco.v1 import control_pb2, control_pb2_grpc

    with grpc.insecure_channel(node.server) as ch:
        st = control_pb2_grpc.ControlStub(ch).GetStatus(control_pb2.GetStatusRequest(), timeout=5)
    return bool(st.cluster.leader == node.name)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--span", type=float, default=30 * 86400, help="seconds the events span")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--revokes", type=int, default=50)
    ap.add_argument("--skip-cluster", action="store_true")
    ns = ap.parse_args()

    for span, label in ((ns.span, f"{ns.span / 86400:g} days"), (86400.0, "24 h (worst case)")):
        indexed, scanned, hits, first, nbytes = query_bench(ns.events, span, ns.runs)
        print(f"--since 1h --type token_revoke over {ns.events:,} events spanning {label}: "
              f"{hits} hits")  # fmt: skip
        print(
            f"  indexed query {indexed * 1e3:8.3f} ms   linear scan {scanned * 1e3:8.1f} ms   "
            f"ratio {indexed / scanned:.4f}x   (goal <= 0.01x: "
            f"{'met' if indexed / scanned <= 0.01 else 'NOT met'})"
        )
        print(
            f"  first query after a start/restore (builds the index) {first * 1e3:.0f} ms; "
            f"index {nbytes / 2**20:.1f} MiB = {nbytes / ns.events:.1f} bytes/event"
        )
    if not ns.skip_cluster:
        asyncio.run(revocation_bench(ns.revokes))


if __name__ == "__main__":
    main()
