"""Node -> node calls (NodeService) and how they are authenticated.

A node proves membership with an HMAC under the cluster secret over (node,
method, timestamp) in the ``x-jaco-peer`` metadata key; the receiver checks
it and a 60 s freshness window. The secret itself never travels. On a node
with a PKI (``Peers.tls`` set) calls to TCP peers go over TLS trusting only
the cluster CA, and also carry the node-certificate proof of ``pki/node.py``.
Unix-socket peers (tests, same host) stay plaintext.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import grpc

from jaco.v1 import control_pb2, node_pb2, node_pb2_grpc
from jacod import pki
from jacod.errors import Unauthenticated
from jacod.pki.node import NodeTLS
from obs import telemetry

HEADER = "x-jaco-peer"
WINDOW_S = 60


def sign(secret: str, node: str, method: str, now: float | None = None) -> str:
    ts = str(int(now if now is not None else time.time()))
    mac = hmac.new(bytes.fromhex(secret), f"{node}\n{method}\n{ts}".encode(), hashlib.sha256)
    return f"{node}:{ts}:{mac.hexdigest()}"


def verify(secret: str, value: str, method: str, now: float | None = None) -> str:
    """The calling node's name, or Unauthenticated."""
    try:
        node, ts, mac = value.rsplit(":", 2)
        age = abs((now if now is not None else time.time()) - int(ts))
    except ValueError:
        raise Unauthenticated("malformed peer credentials") from None
    expected = hmac.new(bytes.fromhex(secret), f"{node}\n{method}\n{ts}".encode(), hashlib.sha256)
    if age > WINDOW_S or not hmac.compare_digest(mac, expected.hexdigest()):
        raise Unauthenticated("peer credentials rejected (wrong cluster, or clocks > 60 s apart)")
    return node


class Peers:
    """Channels to other nodes by gRPC address, reused across calls."""

    def __init__(self, node_name: str, secret: str):
        self._node = node_name
        self._secret = secret
        self._channels: dict[str, grpc.aio.Channel] = {}
        self.tls: NodeTLS | None = None  # set by the daemon on a node with a PKI

    def _stub(self, address: str) -> node_pb2_grpc.NodeServiceStub:
        ch = self._channels.get(address)
        if ch is None:
            # Short reconnect backoff: grpc's default (up to 120 s) would hide
            # a node that came back from log streams and forwarding.
            ch = self._channels[address] = channel(
                address,
                self.tls,
                options=[
                    ("grpc.initial_reconnect_backoff_ms", 500),
                    ("grpc.max_reconnect_backoff_ms", 5000),
                ],
            )
        return node_pb2_grpc.NodeServiceStub(ch)

    def _md(self, method: str, address: str = "") -> tuple[tuple[str, str], ...]:
        value = sign(self._secret, self._node, method)
        if self.tls is None or address.startswith("unix:"):
            return ((HEADER, value),)
        return ((HEADER, value), *self.tls.peer_metadata(value, method))

    async def propose(self, address: str, command: bytes, timeout: float) -> bytes:
        method = "/jaco.v1.NodeService/Propose"
        resp = await self._stub(address).Propose(
            node_pb2.ProposeRequest(command=command),
            timeout=timeout,
            metadata=self._md(method, address),
        )
        return bytes(resp.result)

    async def ping(self, address: str, timeout: float = 1.0) -> node_pb2.PingResponse:
        method = "/jaco.v1.NodeService/Ping"
        resp: node_pb2.PingResponse = await self._stub(address).Ping(
            node_pb2.PingRequest(), timeout=timeout, metadata=self._md(method, address)
        )
        return resp

    def logs(self, address: str, request: control_pb2.LogsRequest) -> grpc.aio.UnaryStreamCall:
        method = "/jaco.v1.NodeService/NodeLogs"
        return self._stub(address).NodeLogs(request, metadata=self._md(method, address))

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
        self._channels.clear()


def channel(
    address: str, tls: NodeTLS | None, options: list[tuple[str, int]] | None = None
) -> grpc.aio.Channel:
    tracing = telemetry.client_interceptors()  # [] when telemetry is off
    if tls is None or address.startswith("unix:"):
        return grpc.aio.insecure_channel(address, options=options, interceptors=tracing)
    return grpc.aio.secure_channel(
        address, tls.channel_credentials(), options=options, interceptors=tracing
    )


async def join(
    address: str,
    request: node_pb2.JoinRequest,
    timeout: float,
    ca_pem: bytes | None = None,
) -> node_pb2.JoinResponse:
    """The joiner's call: authenticated by the join token, not by a secret.
    Over TLS trusting ``ca_pem`` (the joiner's, from its token) or this
    node's CA (a member forwarding a join to the leader)."""
    if ca_pem is not None and not address.startswith("unix:"):
        ch = grpc.aio.secure_channel(
            address,
            grpc.ssl_channel_credentials(ca_pem),
            interceptors=telemetry.client_interceptors(),
        )
    else:
        ch = channel(address, pki.current())
    async with ch:
        resp: node_pb2.JoinResponse = await node_pb2_grpc.NodeServiceStub(ch).Join(
            request, timeout=timeout
        )
        return resp
