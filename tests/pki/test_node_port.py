"""The node port: mutual TLS between the nodes of one cluster CA, with real
grpc servers on loopback and ``Peers`` as the daemon uses it."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple

import grpc
import pytest
from cryptography import x509

from jaco.v1 import node_pb2, node_pb2_grpc
from jacod.cluster import peers
from jacod.pki import certs, issue
from jacod.pki.node import NodeTLS, peer_node

HOSTS = ["127.0.0.1", "localhost"]
HOUR = dt.timedelta(hours=1)
API_ADDRESS = "10.9.9.9:7400"  # how callers name the peer; ``locate`` maps it to the node port


def member(tmp_path: Path, name: str, ca_dir: Path | None = None) -> NodeTLS:
    """A node of the cluster whose CA is in ``ca_dir`` (a new cluster if None)."""
    directory = tmp_path / name / "pki"
    if ca_dir is None:
        issue.create_cluster(directory, "cid", name, HOSTS, HOUR)
    else:
        csr = issue.joiner_csr(directory, name, HOSTS)
        issue.install_joined(directory, *issue.sign_for_joiner(ca_dir, csr, name, HOUR))
    return NodeTLS.load(directory, name)


class Recorder(node_pb2_grpc.NodeServiceServicer):
    """Ping records who called, as the handshake verified it, and the metadata keys."""

    def __init__(self) -> None:
        self.callers: list[str] = []
        self.metadata_keys: list[set[str]] = []

    async def Ping(  # noqa: N802 - the gRPC method name
        self, request: node_pb2.PingRequest, ctx: grpc.aio.ServicerContext
    ) -> node_pb2.PingResponse:
        self.callers.append(peer_node(ctx.auth_context()))
        self.metadata_keys.append({k for k, _ in ctx.invocation_metadata() or ()})
        return node_pb2.PingResponse()


class NodePort(NamedTuple):
    address: str
    tls: NodeTLS  # the serving node's
    recorder: Recorder


@pytest.fixture
async def node_port(tmp_path: Path) -> AsyncIterator[NodePort]:
    tls = member(tmp_path, "a")
    recorder = Recorder()
    server = grpc.aio.server()
    node_pb2_grpc.add_NodeServiceServicer_to_server(recorder, server)
    port = server.add_secure_port("127.0.0.1:0", tls.node_server_credentials())
    await server.start()
    try:
        yield NodePort(f"127.0.0.1:{port}", tls, recorder)
    finally:
        await server.stop(None)


def peers_of(tls: NodeTLS, node_port: NodePort) -> peers.Peers:
    p = peers.Peers(tls.node_name, "ab" * 32, locate={API_ADDRESS: node_port.address}.__getitem__)
    p.tls = tls
    return p


@pytest.mark.parametrize(
    ("context", "name"),
    [
        ({}, ""),  # no client certificate (the API port, a unix socket)
        ({"x509_common_name": [b"node:b"]}, "b"),
        ({"x509_common_name": [b"node:"]}, ""),
        ({"x509_common_name": [b"jaco cluster CA cid"]}, ""),
        ({"transport_security_type": [b"ssl"]}, ""),
    ],
)
def test_peer_node_is_the_name_of_a_node_certificate(context: dict[str, Any], name: str) -> None:
    assert peer_node(context) == name


async def test_a_member_calls_the_node_port_named_by_its_certificate(
    tmp_path: Path, node_port: NodePort
) -> None:
    b = member(tmp_path, "b", ca_dir=node_port.tls.directory)
    p = peers_of(b, node_port)
    try:
        await p.ping(API_ADDRESS, timeout=5)
    finally:
        await p.close()
    assert node_port.recorder.callers == ["b"]
    # The handshake is the proof: no HMAC or certificate travels in metadata.
    assert not any(k.startswith("x-jaco") for k in node_port.recorder.metadata_keys[0])


@pytest.mark.parametrize("client", ["no certificate", "another cluster's node", "expired"])
async def test_the_handshake_refuses_a_caller_without_a_valid_cluster_certificate(
    tmp_path: Path, node_port: NodePort, client: str
) -> None:
    if client == "no certificate":
        creds = grpc.ssl_channel_credentials(node_port.tls.ca_pem)
    else:
        if client == "expired":
            stale = member(tmp_path, "b", ca_dir=node_port.tls.directory)
            long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
            stale.replace_cert(issue.renew(stale.directory, "b", HOSTS, HOUR, now=long_ago))
        else:
            stale = member(tmp_path / "other", "b")  # same name, its own CA
        key = (stale.directory / "node.key").read_bytes()
        creds = grpc.ssl_channel_credentials(node_port.tls.ca_pem, key, stale.cert_pem)
    async with grpc.aio.secure_channel(node_port.address, creds) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await node_pb2_grpc.NodeServiceStub(ch).Ping(node_pb2.PingRequest(), timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value
    assert node_port.recorder.callers == []  # never reached the service


def served_serial(address: str, client: NodeTLS) -> int:
    """The serial of the certificate the node port serves (presenting ``client``'s)."""
    ctx = ssl.create_default_context(cadata=client.ca_pem.decode())
    ctx.check_hostname = False
    ctx.set_alpn_protocols(["h2"])
    ctx.load_cert_chain(client.directory / "node.crt", client.directory / "node.key")
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            der = s.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


async def test_renewals_on_both_sides(tmp_path: Path, node_port: NodePort) -> None:
    b = member(tmp_path, "b", ca_dir=node_port.tls.directory)
    p = peers_of(b, node_port)
    try:
        await p.ping(API_ADDRESS, timeout=5)
        [(old_channel, old_generation)] = p._channels.values()

        # The caller renews: new calls go over a new channel with the new
        # certificate (a channel's credentials are fixed when it is made).
        b.replace_cert(issue.renew(b.directory, "b", HOSTS, HOUR))
        (b.directory / "node.crt").write_bytes(b.cert_pem)
        await p.ping(API_ADDRESS, timeout=5)
        [(channel, generation)] = p._channels.values()
        assert channel is not old_channel and generation == b.generation > old_generation
        for _ in range(100):  # the retired channel had no call left: closed at once
            if not p._retired:
                break
            await asyncio.sleep(0.01)
        assert not p._retired

        # The serving node renews: its node port serves the new certificate
        # from the next handshake, and the caller is still let in.
        before = await asyncio.to_thread(served_serial, node_port.address, b)
        assert before == node_port.tls.cert.serial_number
        a = node_port.tls
        a.replace_cert(issue.renew(a.directory, "a", HOSTS, HOUR))
        after = await asyncio.to_thread(served_serial, node_port.address, b)
        assert after == a.cert.serial_number != before
        await p.ping(API_ADDRESS, timeout=5)
    finally:
        await p.close()
    assert node_port.recorder.callers == ["b", "b", "b"]
    assert certs.node_name_of(b.cert) == "b"


async def test_without_a_pki_peers_sign_with_the_cluster_secret() -> None:
    """A --dev cluster: plaintext to the API address, the HMAC in metadata."""
    recorder = Recorder()
    server = grpc.aio.server()
    node_pb2_grpc.add_NodeServiceServicer_to_server(recorder, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    p = peers.Peers("b", "ab" * 32)  # no tls, no locate: the address as given
    try:
        await p.ping(f"127.0.0.1:{port}", timeout=5)
    finally:
        await p.close()
        await server.stop(None)
    assert recorder.callers == [""] and peers.HEADER in recorder.metadata_keys[0]
