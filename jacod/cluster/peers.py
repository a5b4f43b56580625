"""Node -> node calls (NodeService) and how they are authenticated.

Until mutual TLS lands, a node proves membership with an HMAC under the
cluster secret over (node, method, timestamp) in the ``x-jaco-peer`` metadata
key; the receiver checks it and a 60 s freshness window. The secret itself
never travels.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import grpc

from jaco.v1 import control_pb2, node_pb2, node_pb2_grpc
from jacod.errors import Unauthenticated

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

    def _stub(self, address: str) -> node_pb2_grpc.NodeServiceStub:
        ch = self._channels.get(address)
        if ch is None:
            # Short reconnect backoff: grpc's default (up to 120 s) would hide
            # a node that came back from log streams and forwarding.
            ch = self._channels[address] = grpc.aio.insecure_channel(
                address,
                options=[
                    ("grpc.initial_reconnect_backoff_ms", 500),
                    ("grpc.max_reconnect_backoff_ms", 5000),
                ],
            )
        return node_pb2_grpc.NodeServiceStub(ch)

    def _md(self, method: str) -> tuple[tuple[str, str], ...]:
        return ((HEADER, sign(self._secret, self._node, method)),)

    async def propose(self, address: str, command: bytes, timeout: float) -> bytes:
        method = "/jaco.v1.NodeService/Propose"
        resp = await self._stub(address).Propose(
            node_pb2.ProposeRequest(command=command), timeout=timeout, metadata=self._md(method)
        )
        return bytes(resp.result)

    async def ping(self, address: str, timeout: float = 1.0) -> node_pb2.PingResponse:
        method = "/jaco.v1.NodeService/Ping"
        resp: node_pb2.PingResponse = await self._stub(address).Ping(
            node_pb2.PingRequest(), timeout=timeout, metadata=self._md(method)
        )
        return resp

    def logs(self, address: str, request: control_pb2.LogsRequest) -> grpc.aio.UnaryStreamCall:
        method = "/jaco.v1.NodeService/NodeLogs"
        return self._stub(address).NodeLogs(request, metadata=self._md(method))

    async def close(self) -> None:
        for ch in self._channels.values():
            await ch.close()
        self._channels.clear()


async def join(
    address: str, request: node_pb2.JoinRequest, timeout: float
) -> node_pb2.JoinResponse:
    """The joiner's call: authenticated by the join token, not by a secret."""
    async with grpc.aio.insecure_channel(address) as ch:
        resp: node_pb2.JoinResponse = await node_pb2_grpc.NodeServiceStub(ch).Join(
            request, timeout=timeout
        )
        return resp
