"""Traffic end to end (issue 9, "Tests that must exist and pass"): three real
`jacod` processes on loopback (process runtime, telemetry exported to an
in-process OTLP receiver) serve a deployment through every node's ingress and
DNS server.

One module-scoped cluster a/b/c; the tests run in file order: requests
through each node reach replicas on every node → a replica killed -9 under
load loses no request → the discovery environment → 503 when a service has no
healthy replica → DNS answers follow a rescale → the ingress metrics count
the requests made. The replicas are a few lines of Python answering
``<replica id> <node>``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dnslib
import pytest

from tests.e2e.cluster import Node, wait_for
from tests.e2e.telemetry_helpers import EnvCluster
from tests.e2e.workloads import (
    environ,
    replicas_of,
    shim_state,
    three_node_world,
    wait_status,
)
from tests.helpers import short_tmpdir
from tests.helpers.otlp import OtlpReceiver

pytestmark = pytest.mark.timeout(120)

CONVERGE_S = 60.0
HOST = "shop.test"

SERVER = """\
import http.server, os
ME = (os.environ["JACO_REPLICA_ID"] + " " + os.environ["JACO_NODE"]).encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(ME)))
        self.end_headers()
        self.wfile.write(ME)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def spec(server: Path, web_replicas: int = 3) -> str:
    return f"""
name = "shop"

[services.web]
command = ["python3", "{server}"]
replicas = {web_replicas}
ports = [8000]
[services.web.health]
http = "/"
interval = "1s"
[services.web.ingress]
host = "{HOST}"

[services.client]
command = ["sleep", "1000"]
replicas = 1
"""


DOWN = f"""
name = "down"

[services.web]
command = ["sleep", "1000"]
ports = [8000]
[services.web.health]
http = "/"
interval = "1s"
[services.web.ingress]
host = "down.{HOST}"
"""


class World:
    def __init__(self, base: Path, rx: OtlpReceiver, cluster: EnvCluster) -> None:
        self.base, self.rx, self.cluster = base, rx, cluster
        self.server = base / "server.py"
        self.server.write_text(SERVER)

    @property
    def nodes(self) -> list[Node]:
        return [self.cluster[n] for n in ("a", "b", "c")]

    def apply(self, text: str, name: str) -> None:
        path = self.base / f"{name}.toml"
        path.write_text(text)
        r = self.cluster["a"].jaco("apply", "-f", str(path), timeout=30)
        assert r.rc == 0, f"apply {name} failed: {r}"

    def running(self, dep: str, service: str, n: int) -> dict[str, dict[str, Any]]:
        def ok(st: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
            reps = {k: v for k, v in replicas_of(st, dep).items() if v["service"] == service}
            good = {k: v for k, v in reps.items() if v["state"] == "running"}
            latest = max((v["revision"] for v in reps.values()), default=0)
            fine = len(good) == n == len(reps) and all(
                v["revision"] == latest for v in reps.values()
            )
            return good if fine else None

        out: dict[str, dict[str, Any]] = wait_status(
            self.cluster["a"], ok, CONVERGE_S, f"{n} running {dep}/{service}", dep
        )
        return out

    def describe(self) -> str:
        return "\n".join(n.describe(25) for n in self.nodes)


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    base = short_tmpdir("jt-tr-")
    rx = OtlpReceiver().start()
    w = World(base, rx, EnvCluster(base, rx.env()))
    try:
        with three_node_world(request, base, w.cluster):
            w.apply(spec(w.server), "shop")
            w.running("shop", "web", 3)
            yield w
    finally:
        rx.stop()


def get(node: Node, host: str = HOST, path: str = "/", timeout: float = 10) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{node.ingress_port}{path}",
                                 headers={"Host": host})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def dns(node: Node, name: str, qtype: str) -> dnslib.DNSRecord:
    q = dnslib.DNSRecord.question(name, qtype)
    return dnslib.DNSRecord.parse(q.send("127.0.0.1", node.dns_port, timeout=3))


# ---------------------------------------------------------------- tests


def test_each_node_ingress_reaches_replicas_on_every_node(world: World) -> None:
    reps = world.running("shop", "web", 3)
    assert {r["node"] for r in reps.values()} == {"a", "b", "c"}, reps  # spread
    for node in world.nodes:
        answers = Counter()
        for _ in range(12):
            code, body = get(node)
            assert code == 200, (node.name, code, body)
            answers[body] += 1
        expected = {f"{rid} {r['node']}" for rid, r in reps.items()}
        assert set(answers) == expected, f"via {node.name}: {answers}"


def test_killing_a_replica_under_load_loses_no_retryable_request(world: World) -> None:
    reps = world.running("shop", "web", 3)
    victim = next(rid for rid, r in reps.items() if r["node"] == "b")
    pid = int(shim_state(world.cluster["b"], victim)["child_pid"])
    restarts = reps[victim]["restarts"]
    results: Counter[str] = Counter()
    served: Counter[str] = Counter()
    stop = threading.Event()

    def load(via: Node) -> None:
        while not stop.is_set():
            try:
                code, body = get(via, timeout=10)
            except OSError as exc:  # the ingress itself must never fail us
                results[f"error {exc!r}"] += 1
                continue
            results[str(code)] += 1
            if code == 200:
                served[body.split()[0]] += 1

    threads = [threading.Thread(target=load, args=(n,)) for n in world.nodes for _ in range(2)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: served[victim] >= 5, 20, f"{victim} serving under load")
        os.kill(pid, signal.SIGKILL)
        before = sum(results.values())
        wait_status(
            world.cluster["a"],
            lambda st: replicas_of(st, "shop")[victim]["restarts"] > restarts
            and replicas_of(st, "shop")[victim]["state"] == "running",
            CONVERGE_S, f"{victim} restarted and healthy",
        )  # fmt: skip
        served_again = served[victim]
        wait_for(lambda: served[victim] > served_again + 5, 20, f"{victim} serving again")
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    assert sum(results.values()) - before > 20, results  # load really ran across the kill
    assert results == Counter({"200": results["200"]}), f"lost requests: {results}"


def test_replicas_get_their_deployments_addresses(world: World) -> None:
    reps = world.running("shop", "client", 1)
    web = world.running("shop", "web", 3)
    (rid, rep), = reps.items()  # fmt: skip
    node = world.cluster[rep["node"]]
    env = environ(int(shim_state(node, rid)["child_pid"]))
    assert env["JACO_DNS"] == f"127.0.0.1:{node.dns_port}", env
    addrs = [a for a in env["JACO_SERVICE_WEB_ADDRS"].split(",") if a]
    assert env["JACO_SERVICE_WEB_PORT_8000_ADDRS"] == env["JACO_SERVICE_WEB_ADDRS"]
    # The client started with web: it saw whichever web replicas were healthy
    # then (DNS is the live view). Each address it got answers as a web replica.
    for addr in addrs:
        with urllib.request.urlopen(f"http://{addr}/", timeout=5) as resp:
            assert resp.read().decode().split()[0] in web


def test_no_healthy_replica_is_503_naming_the_service(world: World) -> None:
    world.apply(DOWN, "down")
    wait_status(world.cluster["a"], lambda st: "down/web/0" in replicas_of(st, "down"),
                CONVERGE_S, "down/web/0 placed", "down")  # fmt: skip
    for node in world.nodes:
        code, body = get(node, host=f"down.{HOST}")
        assert code == 503, (node.name, code, body)
        assert "down/web has no healthy replica" in body
    code, body = get(world.cluster["a"], host="nobody.test")
    assert code == 404 and "nobody.test" in body


def srv_targets(node: Node) -> list[tuple[str, int]]:
    reply = dns(node, "web.shop.jaco", "SRV")
    return sorted((str(rr.rdata.target), rr.rdata.port) for rr in reply.rr)


def test_dns_answers_follow_a_rescale(world: World) -> None:
    reps = world.running("shop", "web", 3)
    for node in world.nodes:
        assert len(srv_targets(node)) == 3, node.name
        a = dns(node, "web.shop.jaco", "A")
        assert {str(rr.rdata) for rr in a.rr} == {"127.0.0.1"}
    refused = dns(world.cluster["a"], "example.com", "A")
    assert refused.header.rcode == dnslib.RCODE.REFUSED
    missing = dns(world.cluster["a"], "nope.shop.jaco", "A")
    assert missing.header.rcode == dnslib.RCODE.NXDOMAIN

    world.apply(spec(world.server, web_replicas=2), "shop-2")
    after = world.running("shop", "web", 2)
    assert set(after) < set(reps)
    for node in world.nodes:
        wait_for(lambda n=node: len(srv_targets(n)) == 2, 20, f"2 SRV answers on {node.name}")
    world.apply(spec(world.server, web_replicas=3), "shop-3")
    world.running("shop", "web", 3)
    for node in world.nodes:
        wait_for(lambda n=node: len(srv_targets(n)) == 3, 20, f"3 SRV answers on {node.name}")


def ingress_count(rx: OtlpReceiver, node: str, code: str) -> float:
    """The latest cumulative jaco_ingress_requests_total{service=web,GET,code} of ``node``."""
    latest = 0.0
    for p in rx.points_of("jaco_ingress_requests_total"):
        if p.resource.get("jaco.node") != node:
            continue
        if p.attributes == {"service": "web", "method": "GET", "code": code}:
            latest = max(latest, p.value or 0.0)
    return latest


def test_ingress_metrics_count_the_requests(world: World) -> None:
    world.running("shop", "web", 3)
    c = world.cluster["c"]
    wait_for(lambda: ingress_count(world.rx, "c", "200") > 0, 20, "c's first ingress export")
    settle = ingress_count(world.rx, "c", "200")
    time.sleep(1.5)  # two fast export intervals: nothing in flight any more
    base = max(settle, ingress_count(world.rx, "c", "200"))
    for _ in range(20):
        assert get(c)[0] == 200
    assert get(c, host=f"down.{HOST}")[0] == 503
    wait_for(lambda: ingress_count(world.rx, "c", "200") == base + 20, 20,
             f"c's ingress count to reach {base + 20}")  # fmt: skip
    wait_for(lambda: ingress_count(world.rx, "c", "503") >= 1, 20, "the 503 counted")
    hist = [
        p for p in world.rx.points_of("jaco_ingress_duration_seconds")
        if p.resource.get("jaco.node") == "c" and p.attributes.get("code") == "200"
    ]  # fmt: skip
    assert hist and max(p.count or 0 for p in hist) >= base + 20
