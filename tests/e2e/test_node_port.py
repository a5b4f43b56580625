"""Node-to-node calls over the node port's mutual TLS, on a real three-node TLS
cluster (issue 5, item 2: "node<->node is mutual TLS").

One module-scoped cluster a/b/c (`--bootstrap`, so with a cluster CA; each
node's `--node-listen` on a port of its own, see `cluster.Node`) whose
certificates live 10 s and renew 6 s before expiry, so everything below also
runs across renewals. The tests run in file order:

1. joins go over the API port (the join token is the proof) and every node
   records its node port;
2. node-to-node RPCs work over the node port: an apply through a follower is
   forwarded to the leader, `jaco logs` on one node fans out to the others
   (the API port refuses those calls, test 4, so they cannot go anywhere else);
3. the node port's handshake refuses a client without a certificate, with a
   certificate of another CA, and plaintext;
4. the API port refuses node calls even with a valid HMAC of the cluster secret
   (what --dev peers send) and the calling node's certificate;
5. after renewals on every node, the node port serves the new certificate and
   forwarding still works;
6. a node port that is taken is a clear startup error.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509

from jaco.v1 import control_pb2, node_pb2, node_pb2_grpc
from jacod.cluster import backup as backup_format
from jacod.cluster import peers
from jacod.pki import issue
from tests.e2e.cluster import Cluster, Node, payload, type_name, wait_for
from tests.e2e.workloads import kill_replicas
from tests.helpers import remove_tree, short_tmpdir

pytestmark = pytest.mark.timeout(120)

CERT = ("--cert-lifetime", "10s", "--cert-renew-before", "6s")
SPEC = """name = "np"
[services.talk]
command = "sh -c 'while true; do echo \\"hello from $JACO_NODE\\"; sleep 0.3; done'"
replicas = 3
"""


@pytest.fixture(scope="module")
def base(request: pytest.FixtureRequest) -> Iterator[Path]:
    path = short_tmpdir("jt-np-")
    failed_before = request.session.testsfailed
    yield path
    kill_replicas(path)
    if request.session.testsfailed == failed_before:
        remove_tree(path)
    else:
        print(f"\nkept {path} for inspection (jacod logs: {path}/main/*.stderr)")


@pytest.fixture(scope="module")
def cluster(base: Path) -> Iterator[Cluster]:
    c = Cluster(base / "main")
    try:
        a = c.bootstrap("a", *CERT)
        for name in ("b", "c"):
            c.node(name).start("--join", a.address, "--join-token", c.token(a), *CERT)
            c[name].wait_ready()
        c.leader()
        yield c
    finally:
        c.kill_all()


def pki_file(node: Node, name: str) -> bytes:
    return (node.data_dir / "pki" / name).read_bytes()


def node_creds(node: Node, trust: Node) -> grpc.ChannelCredentials:
    """``node``'s key and certificate as a client's, trusting ``trust``'s CA."""
    return grpc.ssl_channel_credentials(
        pki_file(trust, "ca.crt"), pki_file(node, "node.key"), pki_file(node, "node.crt")
    )


def ping(address: str, creds: grpc.ChannelCredentials | None) -> None:
    ch = grpc.secure_channel(address, creds) if creds else grpc.insecure_channel(address)
    with ch:
        node_pb2_grpc.NodeServiceStub(ch).Ping(node_pb2.PingRequest(), timeout=5)


def served_serial(address: str, client: Node) -> int:
    """The serial of the certificate served at ``address`` (presenting ``client``'s)."""
    ctx = ssl.create_default_context(cadata=pki_file(client, "ca.crt").decode())
    ctx.check_hostname = False
    ctx.set_alpn_protocols(["h2"])
    ctx.load_cert_chain(client.data_dir / "pki" / "node.crt", client.data_dir / "pki" / "node.key")
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            der = s.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def apply_via(node: Node, c: Cluster, text: str) -> None:
    spec = c.base / f"np-{time.monotonic_ns()}.toml"
    spec.write_text(text)
    r = node.jaco("apply", "-f", str(spec), "--wait", "--timeout", "40", timeout=60)
    assert r.rc == 0, f"apply via {node.name} failed: {r}\n{c.describe()}"


def logs_of_every_node(c: Cluster, via: Node) -> None:
    """Until `jaco logs np/talk` through ``via`` prints lines of all three nodes."""

    def nodes_seen() -> bool:
        r = via.jaco("-o", "json", "logs", "np/talk", timeout=30)
        assert r.rc == 0, r
        nodes = {json.loads(x)["node"] for x in r.out.splitlines() if x.startswith("{")}
        return nodes == {"a", "b", "c"}

    wait_for(nodes_seen, 30, f"log lines of all three nodes through {via.name}",
             describe=c.describe)  # fmt: skip


def follower(c: Cluster) -> Node:
    leader = c.leader()
    return next(n for n in c.nodes.values() if n is not leader)


# ---------------------------------------------------------------- 1. joins, advertised ports


def test_every_node_records_its_node_port(cluster: Cluster) -> None:
    path = cluster.base / "ports.jacobak"
    cluster["c"].backup(path)
    _, state = backup_format.decode(path.read_bytes())
    recorded = {n.name: (n.address, n.node_address) for n in state.nodes.values()}
    assert recorded == {n.name: (n.address, n.node_address) for n in cluster.nodes.values()}


# ---------------------------------------------------------------- 2. node RPCs over the node port


def test_forwarding_and_log_fan_out_go_over_the_node_port(cluster: Cluster) -> None:
    via = follower(cluster)
    apply_via(via, cluster, SPEC)  # Propose: follower -> leader
    # a reads its own copy of the log: it may apply the entry a moment after the commit.
    [event] = wait_for(
        lambda: [e for e in cluster["a"].audit() if type_name(e) == "apply"] or None,
        10, "the apply event on a",
    )  # fmt: skip
    assert (event.deployment, event.node) == ("np", via.name)  # proposed by the follower

    # `jaco logs` on a: its own replica's lines and the other nodes' (NodeLogs).
    logs_of_every_node(cluster, via=cluster["a"])


# ---------------------------------------------------------------- 3. the node port's handshake


@pytest.mark.parametrize("client", ["no certificate", "another cluster's CA", "plaintext"])
def test_node_port_refuses_a_client_without_a_cluster_certificate(
    cluster: Cluster, base: Path, client: str
) -> None:
    c, b = cluster["c"], cluster["b"]
    ping(c.node_address, node_creds(b, trust=c))  # b's own certificate: let in
    if client == "no certificate":
        creds: grpc.ChannelCredentials | None = grpc.ssl_channel_credentials(pki_file(c, "ca.crt"))
    elif client == "another cluster's CA":
        other = base / "other-ca" / "pki"  # a node named b of another cluster
        if not other.exists():
            issue.create_cluster(other, "other", "b", ["127.0.0.1"], dt.timedelta(hours=1))
        creds = grpc.ssl_channel_credentials(
            pki_file(c, "ca.crt"), (other / "node.key").read_bytes(),
            (other / "node.crt").read_bytes(),
        )  # fmt: skip
    else:
        creds = None
    with pytest.raises(grpc.RpcError) as err:
        ping(c.node_address, creds)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value  # type: ignore[attr-defined]


# ---------------------------------------------------------------- 4. no node proofs on the API port


def test_api_port_refuses_node_calls_with_tls_on(cluster: Cluster) -> None:
    a, b = cluster["a"], cluster["b"]
    start = a.audit()[-1].id
    secret = b.cluster_file()["secret"]
    requests = {
        "Ping": node_pb2.PingRequest(),
        "Propose": node_pb2.ProposeRequest(command=b""),
        "NodeLogs": control_pb2.LogsRequest(deployment="np", service="talk"),
    }
    # Over TLS to a's API port, with b's node certificate as client
    # certificate and a valid HMAC of the cluster secret (a --dev peer's proof).
    with grpc.secure_channel(a.address, node_creds(b, trust=a)) as ch:
        stub = node_pb2_grpc.NodeServiceStub(ch)
        for method, request in requests.items():
            md = ((peers.HEADER, peers.sign(secret, "b", f"/jaco.v1.NodeService/{method}")),)
            with pytest.raises(grpc.RpcError) as err:
                reply = getattr(stub, method)(request, metadata=md, timeout=5)
                if method == "NodeLogs":
                    next(iter(reply))
            e = err.value
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED, (method, e)  # type: ignore[attr-defined]
            details = e.details()  # type: ignore[attr-defined]
            assert f"only on its node port ({a.node_address})" in details, details
            assert secret not in details

    def denied() -> bool:
        return any(
            type_name(e) == "auth_denied" and payload(e)["reason"] == "node_call_on_api_port"
            for e in a.audit()
            if e.id > start
        )

    wait_for(denied, 10, "an auth_denied event for node calls on the API port")


# ---------------------------------------------------------------- 5. renewals


def test_node_port_serves_renewed_certificates_and_forwarding_continues(
    cluster: Cluster,
) -> None:
    for n in cluster.nodes.values():
        first = served_serial(n.node_address, n)

        def renewed(n: Node = n, first: int = first) -> bool:
            return served_serial(n.node_address, n) != first

        wait_for(renewed, 20, f"{n.name}'s node port to serve a renewed certificate")
    start = cluster["a"].audit()[-1].id

    def renewed_again() -> bool:
        events = [e for e in cluster["a"].audit() if e.id > start]
        return {payload(e)["node"] for e in events if type_name(e) == "certificate_renewed"} == {
            "a", "b", "c"
        }  # fmt: skip

    wait_for(renewed_again, 20, "another renewal of every node")
    # New channels, both sides' new certificates: a follower's writes still
    # reach the leader, and the log fan-out still reaches every node.
    apply_via(follower(cluster), cluster, SPEC.replace("sleep 0.3", "sleep 0.4"))
    logs_of_every_node(cluster, via=cluster["b"])


# ---------------------------------------------------------------- 6. a taken node port


def test_a_taken_node_port_is_a_clear_startup_error(cluster: Cluster) -> None:
    lone = cluster.outsider("lone")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        lone.node_port = port
        lone.start("--bootstrap")
        rc = lone.wait_exit(30)
    err = lone.stderr()
    assert rc != 0, err
    assert f"node_listen: cannot listen on 127.0.0.1:{port}" in err, err
    assert "--node-listen HOST:PORT" in err and "Traceback" not in err, err
