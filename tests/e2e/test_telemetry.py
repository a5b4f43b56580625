"""OpenTelemetry end to end (issue 6, "Tests that must exist and pass").

One module-scoped three-node cluster a/b/c (certificates living 10 s, renewed
6 s before expiry) whose three jacod processes and every `jaco` run export to
one real OTLP/gRPC receiver in this process. The tests run in file order:

1. `jaco apply --wait` over TLS with an operator token: one trace rooted at
   `cli.apply` across processes, the spec's chain down to `runtime.<op>`, the
   six attributes on every span, the token's identity on the server side;
2. a second apply, then `jaco rollback` and `jaco delete`: their own chains (the
   delete's down to `runtime.container_stop`/`container_remove` on each node);
3. the metric names arrive unchanged (a token revoke triggers the propagation one);
4. disabled: a `jacod` and a `jaco status` with JACO_OTLP_ENDPOINT unset load no
   `opentelemetry` module and start no extra thread.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from jacod.auth import tokens
from obs.telemetry import SPAN_ATTRIBUTES, names
from tests.e2e.cluster import Cluster, Node, wait_for
from tests.e2e.telemetry_helpers import EnvCluster, EnvNode, probe_jaco
from tests.e2e.workloads import kill_replicas, shim_keys
from tests.helpers import Result, clean_env, remove_tree, run_jaco, short_tmpdir
from tests.helpers.otlp import OtlpReceiver, ReceivedSpan, chain, without_rpc

pytestmark = pytest.mark.timeout(120)

CERT = ("--cert-lifetime", "10s", "--cert-renew-before", "6s")
DEP = "otel"
IDENTITY = "otel-operator"
RUNTIME_OPS = {"runtime.image_pull", "runtime.container_create", "runtime.container_start"}
STOP_OPS = {"runtime.container_stop", "runtime.container_remove"}
REPLICAS = {f"{DEP}/sleeper/{i}" for i in range(2)}  # after the rollback to v1
SPEC = """name = "otel"

[services.sleeper]
command = ["sleep", "300"]
replicas = 2
"""
METRICS = {
    "jaco_raft_commit_latency_seconds",
    "jaco_apply_duration_seconds",
    "jaco_scheduler_reconcile_lag_seconds",
    "jaco_replica_state",
    "jaco_runtime_container_starts_total",
    "jaco_token_revocation_propagation_seconds",
    "jaco_ingress_requests_total",
    "jaco_ingress_duration_seconds",
}


class World:
    def __init__(self, base: Path, rx: OtlpReceiver, cluster: Cluster):
        self.base = base
        self.rx = rx
        self.cluster = cluster
        self.token_file = base / "operator.token"
        self.token_id = ""

    @property
    def a(self) -> Node:
        return self.cluster["a"]

    def tls(self, *args: str, via: str = "b", timeout: float = 60) -> Result:
        """`jaco` over TCP+TLS with the operator token, exporting to the receiver."""
        node = self.cluster[via]
        r = run_jaco(
            "--server", node.address, "--ca-file", str(self.a.data_dir / "pki" / "ca.crt"),
            "--token-file", str(self.token_file), *args,
            env=clean(self.rx), timeout=timeout,
        )  # fmt: skip
        return r


def clean(rx: OtlpReceiver) -> dict[str, str]:
    return clean_env(rx.env())


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    base = short_tmpdir("jt-otel-")
    failed_before = request.session.testsfailed
    rx = OtlpReceiver().start()
    c = EnvCluster(base, rx.env())
    w = World(base, rx, c)
    try:
        a = c.bootstrap("a", *CERT)
        for name in ("b", "c"):
            c.node(name).start("--join", a.address, "--join-token", c.token(a), *CERT)
            c[name].wait_ready()
        c.leader()
        r = a.jaco("token", "create", "--identity", IDENTITY, "--role", "operator")
        assert r.rc == 0, r
        token = r.out.strip()
        w.token_file.write_text(token + "\n")
        r = a.jaco("-o", "json", "token", "ls")
        assert r.rc == 0, r
        yield w
    finally:
        c.kill_all()
        kill_replicas(base)
        wait_for(lambda: not shim_keys(base), 10, "every shim of the test's nodes to be gone")
        rx.stop()
        if request.session.testsfailed == failed_before:
            remove_tree(base)
        else:
            print(f"\nkept {base} for inspection (jacod logs: {base}/*.stderr)")


# ---------------------------------------------------------------- helpers


def kinds(threads: list[str]) -> set[str]:
    """Thread names without their pool/sequence numbers."""
    return {re.sub(r"_\d+$", "_N", re.sub(r"^Thread-\d+", "Thread-N", t)) for t in threads}


def root_trace(rx: OtlpReceiver, root: str, after_ns: int) -> tuple[ReceivedSpan, str]:
    def found() -> ReceivedSpan | None:
        roots = [
            s for s in rx.spans_named(root)
            if s.service == "jaco" and not s.parent_span_id and s.start_ns >= after_ns
        ]  # fmt: skip
        return roots[-1] if roots else None

    span = rx.wait_until(found, 15, f"a {root} root span from jaco")
    return span, span.trace_id


def wait_trace(
    rx: OtlpReceiver, trace_id: str, want: set[str], timeout: float = 20
) -> list[ReceivedSpan]:
    """Spans of ``trace_id`` once every name of ``want`` is among them (and a
    little more time for stragglers of the same batch)."""
    rx.wait_until(lambda: want <= {s.name for s in rx.trace(trace_id)}, timeout,
                  f"{sorted(want)} in trace {trace_id}")  # fmt: skip
    time.sleep(0.5)
    return rx.trace(trace_id)


def spec_chains(spans: list[ReceivedSpan], leaf_names: set[str]) -> list[list[str]]:
    return [without_rpc(chain(s, spans), spans) for s in spans if s.name in leaf_names]


def assert_attributes(spans: list[ReceivedSpan]) -> None:
    missing = {
        (s.name, s.service, k) for s in spans for k in SPAN_ATTRIBUTES if k not in s.attributes
    }
    assert not missing, f"spans without one of the six attributes: {sorted(missing)}"


def describe(spans: list[ReceivedSpan]) -> str:
    return "\n".join(
        f"  {s.service}/{s.attributes.get(names.NODE)!r} {s.name} kind={s.kind} "
        f"id={s.span_id} parent={s.parent_span_id} identity={s.attributes.get(names.IDENTITY)!r}"
        for s in sorted(spans, key=lambda x: x.start_ns)
    )


# ---------------------------------------------------------------- 1. apply


def test_apply_is_one_trace_with_the_spec_chain(world: World) -> None:
    w = world
    spec = w.base / "otel.toml"
    spec.write_text(SPEC)
    t0 = time.time_ns()
    r = w.tls("apply", "-f", str(spec), "--wait", "--timeout", "30")
    assert r.rc == 0, f"apply failed: {r}\n{w.cluster.describe()}"

    root, tid = root_trace(w.rx, names.CLI_APPLY, t0)
    want = {names.RAFT_COMMIT, names.RAFT_APPLY, "scheduler.reconcile.sleeper",
            "runtime.container_start"}  # fmt: skip
    spans = wait_trace(w.rx, tid, want)
    info = describe(spans)
    assert {s.trace_id for s in spans} == {tid}
    assert {s.service for s in spans} == {"jaco", "jacod"}, info
    jacod_nodes = {s.attributes.get(names.NODE) for s in spans if s.service == "jacod"}
    assert len(jacod_nodes) >= 2, f"spans from only {jacod_nodes}\n{info}"
    # raft.apply on every node joins the trace.
    assert {s.attributes.get(names.NODE) for s in spans if s.name == names.RAFT_APPLY} == {
        "a", "b", "c"}, info  # fmt: skip

    chains = spec_chains(spans, RUNTIME_OPS)
    assert chains, info
    expected_prefix = [names.CLI_APPLY, names.RAFT_COMMIT, names.RAFT_APPLY,
                       "scheduler.reconcile.sleeper"]  # fmt: skip
    for c in chains:
        assert c[:-1] == expected_prefix and c[-1] in RUNTIME_OPS, f"{c}\n{info}"
    assert {c[-1] for c in chains} >= {"runtime.container_create", "runtime.container_start"}
    # one start per replica (2), each on the node that runs it
    starts = [s for s in spans if s.name == "runtime.container_start"]
    assert {s.attributes.get(names.REPLICA_ID) for s in starts} == {
        f"{DEP}/sleeper/0", f"{DEP}/sleeper/1"}, info  # fmt: skip

    assert_attributes(spans)
    assert all(s.attributes.get(names.DEPLOYMENT) == DEP for s in spans if s.service == "jacod"
               and s.name.startswith(("scheduler.", "runtime."))), info  # fmt: skip

    # The identity: the token's on the Apply server span and on raft.commit.
    server = [s for s in spans if s.name == "jaco.v1.Control/Apply" and s.kind == "server"]
    assert len(server) == 1, info
    assert server[0].attributes[names.IDENTITY] == IDENTITY, info
    commit = [
        s for s in spans if s.name == names.RAFT_COMMIT and s.parent_span_id == server[0].span_id
    ]
    assert commit and all(s.attributes[names.IDENTITY] == IDENTITY for s in commit), info
    applies = [
        s for s in spans if s.name == names.RAFT_APPLY and s.parent_span_id == commit[0].span_id
    ]
    assert applies and all(s.attributes[names.IDENTITY] == IDENTITY for s in applies), info
    # Recorded for the report: what each span says (the CLI cannot know the identity
    # a token resolves to; the scheduler/runtime work is the cluster's own).
    print(
        "\nidentity per span name:", sorted({(s.name, s.attributes[names.IDENTITY]) for s in spans})
    )


# ---------------------------------------------------------------- 2. rollback, delete


def test_rollback_and_delete_give_their_chains(world: World) -> None:
    w = world
    v2 = w.base / "otel-v2.toml"
    v2.write_text(SPEC.replace("replicas = 2", "replicas = 3"))
    r = w.tls("apply", "-f", str(v2), "--wait", "--timeout", "30")
    assert r.rc == 0, r

    t0 = time.time_ns()
    r = w.tls("rollback", DEP, "--wait", "--timeout", "30", via="c")
    assert r.rc == 0, f"rollback failed: {r}\n{w.cluster.describe()}"
    _, tid = root_trace(w.rx, names.CLI_ROLLBACK, t0)
    spans = wait_trace(w.rx, tid, {names.RAFT_COMMIT, names.RAFT_APPLY,
                                   "scheduler.reconcile.sleeper"})  # fmt: skip
    info = describe(spans)
    assert_attributes(spans)
    reconciles = spec_chains(spans, {"scheduler.reconcile.sleeper"})
    assert [names.CLI_ROLLBACK, names.RAFT_COMMIT, names.RAFT_APPLY,
            "scheduler.reconcile.sleeper"] in reconciles, f"{reconciles}\n{info}"  # fmt: skip
    # v2 -> v1: replica 2 goes away; the runtime ops (stop/remove or re-create) join the trace.
    spans = w.rx.wait_until(
        lambda: [s for s in w.rx.trace(tid) if s.name.startswith("runtime.")] and w.rx.trace(tid),
        15, f"a runtime.* span in the rollback trace {tid}",
    )  # fmt: skip
    for c in spec_chains(spans, {s.name for s in spans if s.name.startswith("runtime.")}):
        assert c[:4] == [names.CLI_ROLLBACK, names.RAFT_COMMIT, names.RAFT_APPLY,
                         "scheduler.reconcile.sleeper"], f"{c}\n{describe(spans)}"  # fmt: skip

    # The delete: the spec's whole chain, down to the nodes stopping and removing
    # each replica (sleeper/0 and /1 after the rollback), on the node running it.
    r = w.a.jaco("-o", "json", "status")
    assert r.rc == 0, r
    where = {x["id"]: x["node"] for x in json.loads(r.out)["replicas"] if x["deployment"] == DEP}
    assert set(where) == REPLICAS, where
    t0 = time.time_ns()
    r = w.tls("delete", DEP, "--wait", "--timeout", "30", via="a")
    assert r.rc == 0, f"delete failed: {r}\n{w.cluster.describe()}"
    _, tid = root_trace(w.rx, names.CLI_DELETE, t0)
    spans = wait_trace(w.rx, tid, {names.RAFT_COMMIT, names.RAFT_APPLY,
                                   "scheduler.reconcile.sleeper", *STOP_OPS})  # fmt: skip
    info = describe(spans)
    assert_attributes(spans)
    chains = spec_chains(spans, STOP_OPS)
    assert chains, info
    expected_prefix = [names.CLI_DELETE, names.RAFT_COMMIT, names.RAFT_APPLY,
                       "scheduler.reconcile.sleeper"]  # fmt: skip
    for c in chains:
        assert c[:-1] == expected_prefix and c[-1] in STOP_OPS, f"{c}\n{info}"
    removed = w.rx.wait_until(
        lambda: (got := {s.attributes.get(names.REPLICA_ID) for s in w.rx.trace(tid)
                         if s.name == "runtime.container_remove"}) >= REPLICAS and got,
        15, f"a runtime.container_remove of each of {sorted(REPLICAS)} in trace {tid}",
    )  # fmt: skip
    assert removed == REPLICAS, describe(w.rx.trace(tid))
    # Each on the node that ran it, under the reconcile (of the leader) that asked.
    spans = w.rx.trace(tid)
    reconciles = {s.span_id for s in spans if s.name == "scheduler.reconcile.sleeper"}
    for s in [x for x in spans if x.name == "runtime.container_remove"]:
        assert s.parent_span_id in reconciles, describe(spans)
        assert s.attributes[names.NODE] == where[s.attributes[names.REPLICA_ID]], describe(spans)
    print("\ndelete trace span names:", sorted({s.name for s in spans}))


# ---------------------------------------------------------------- 3. metrics


def test_metric_names_arrive_unchanged(world: World) -> None:
    w = world
    r = w.a.jaco("token", "create", "--identity", "otel-victim", "--role", "viewer")
    assert r.rc == 0, r
    victim = tokens.id_of(r.out.strip())
    time.sleep(1.0)
    r = w.a.jaco("token", "revoke", victim)
    assert r.rc == 0, r
    # Ingress traffic (counted per request in tests/e2e/test_traffic.py): one 404.
    req = urllib.request.Request(f"http://127.0.0.1:{w.a.ingress_port}/",
                                 headers={"Host": "no-route.test"})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(req, timeout=10)
    assert answered.value.code == 404
    arrived = w.rx.wait_for_metrics(METRICS, timeout=20)
    assert METRICS <= arrived
    # Certificates live 10 s, renewed 6 s before expiry: at least one renewal by now.
    w.rx.wait_for_metrics({"jaco_cert_renewals_total"}, timeout=15)
    jaco_names = {m for m in w.rx.metric_names() if m.startswith("jaco_")}
    assert jaco_names >= METRICS | {"jaco_cert_renewals_total"}  # all nine of the spec
    print("\njaco_* metrics received:", sorted(jaco_names))


# ---------------------------------------------------------------- 4. disabled


def test_disabled_processes_load_no_sdk_and_start_no_thread(world: World) -> None:
    w = world
    # Positive control: the enabled nodes' probe sees the SDK and its threads.
    enabled = w.cluster["a"]
    assert isinstance(enabled, EnvNode)
    report = wait_for(enabled.probe, 5, "a's probe report")
    assert "opentelemetry.sdk" in report["otel"], report
    otel_threads = [t for t in report["threads"] if t.startswith("Otel")]
    assert otel_threads, report

    # A jacod with the variable unset.
    off = EnvCluster(w.base / "off", {})
    d = off.node("d")
    try:
        d.start("--bootstrap").wait_ready()
        time.sleep(1.0)
        dreport = wait_for(d.probe, 5, "d's probe report")
        assert dreport["otel"] == [], dreport
        assert not [t for t in dreport["threads"] if t.startswith("Otel")], dreport
        # No extra Python thread: d runs the same threads as the enabled node minus the SDK's.
        # Compared by kind: pool threads (asyncio_0, asyncio_1, Thread-7 …) come
        # and go with load, so their numbers differ between any two processes.
        assert kinds(dreport["threads"]) <= kinds(report["threads"]) - kinds(otel_threads), (
            dreport, report)  # fmt: skip

        # `jaco status` with the variable unset, against both the disabled node and a.
        # Control: the same CLI with the variable set loads the SDK.
        res, on = probe_jaco("--server", d.server, "status", env=w.rx.env())
        assert res.rc == 0 and "opentelemetry.sdk" in on["otel"], on
        for node in (d, enabled):
            res, cli = probe_jaco("--server", node.server, "status", env={})
            assert res.rc == 0 and cli["rc"] == 0, res
            assert cli["otel"] == [], cli
            assert not [t for t in cli["threads"] if t.startswith("Otel")], cli
            # No thread the enabled CLI would not have too (the CLI's own, e.g. asyncio's),
            # by kind. grpc.aio's completion-queue poller (`Thread-N (_poll_wrapper)`) is
            # grpc's in both modes; whether it is still there when the probe looks, at
            # exit, is timing.
            own = {k for k in kinds(cli["threads"]) if not k.endswith("(_poll_wrapper)")}
            assert own <= kinds(on["threads"]), (cli, on)
            print("\ndisabled CLI threads:", cli["threads"], "enabled CLI threads:", on["threads"])
    finally:
        off.kill_all()
