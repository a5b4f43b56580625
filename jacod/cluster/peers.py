"""Node -> node calls (NodeService) and how they are authenticated.

On a node with a PKI (``Peers.tls`` set), a peer is called on its node port
(``Node.node_address``, ``--node-listen``) over mutual TLS: the channel
trusts only the cluster CA and presents this node's certificate, and the
receiver's handshake requires one of the same CA (``pki/node.py``); no
metadata proof. Callers name a peer by its API address (``Node.address``);
``locate`` maps it to the node port. After a certificate renewal new calls
go over new channels (a channel's credentials are fixed); calls in flight
finish on the old ones.

Without a PKI (``jacod --dev`` clusters, dev only) calls go over plaintext to
the API address and a node proves membership with an HMAC under the cluster
secret over (node, method, timestamp) in the ``x-jaco-peer`` metadata key;
the receiver checks it and a 60 s freshness window. The secret itself never
travels. Unix-socket peers (tests, same host) stay plaintext.

A joiner has no certificate yet: ``join`` dials a member's API port with TLS
trusting the CA its join token carries, and the token is the proof.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable

import grpc

from jaco.v1 import control_pb2, node_pb2, node_pb2_grpc
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


# A channel replaced after a renewal is closed once its calls end (a log
# follow can last long), at the latest after this.
RETIRED_GRACE_S = 3600.0
# Short reconnect backoff: grpc's default (up to 120 s) would hide a node that
# came back from log streams and forwarding.
OPTIONS = [("grpc.initial_reconnect_backoff_ms", 500), ("grpc.max_reconnect_backoff_ms", 5000)]


class Peers:
    """Channels to other nodes, reused across calls."""

    def __init__(self, node_name: str, secret: str, locate: Callable[[str], str] = str):
        self._node = node_name
        self._secret = secret
        self._locate = locate  # API address -> node port address
        self._channels: dict[str, tuple[grpc.aio.Channel, int]] = {}
        self._retired: dict[asyncio.Task[None], grpc.aio.Channel] = {}
        self.tls: NodeTLS | None = None  # set by the daemon on a node with a PKI

    def _mtls(self, address: str) -> bool:
        return self.tls is not None and not address.startswith("unix:")

    def _stub(self, address: str) -> node_pb2_grpc.NodeServiceStub:
        tls = self.tls if self._mtls(address) else None
        target = self._locate(address) if tls is not None else address
        generation = tls.generation if tls is not None else -1
        cached = self._channels.get(target)
        if cached is not None and cached[1] == generation:
            return node_pb2_grpc.NodeServiceStub(cached[0])
        if cached is not None:  # a renewal since: new calls present the new certificate
            self._retire(cached[0])
        creds = None
        if tls is not None:
            creds, generation = tls.client_credentials()
        ch = channel(target, creds, options=OPTIONS)
        self._channels[target] = (ch, generation)
        return node_pb2_grpc.NodeServiceStub(ch)

    def _retire(self, ch: grpc.aio.Channel) -> None:
        task = asyncio.get_running_loop().create_task(ch.close(RETIRED_GRACE_S))
        self._retired[task] = ch
        task.add_done_callback(lambda t: self._retired.pop(t, None))

    def _md(self, method: str, address: str) -> tuple[tuple[str, str], ...]:
        if self._mtls(address):
            return ()  # the certificate in the handshake is the proof
        return ((HEADER, sign(self._secret, self._node, method)),)

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

    async def join(
        self, address: str, request: node_pb2.JoinRequest, timeout: float
    ) -> node_pb2.JoinResponse:
        """A member forwarding a join to the leader (the token is checked there)."""
        method = "/jaco.v1.NodeService/Join"
        resp: node_pb2.JoinResponse = await self._stub(address).Join(
            request, timeout=timeout, metadata=self._md(method, address)
        )
        return resp

    async def close(self) -> None:
        for ch, _ in self._channels.values():
            await ch.close()
        self._channels.clear()
        for task, ch in list(self._retired.items()):
            await ch.close()
            task.cancel()
        await asyncio.gather(*self._retired, return_exceptions=True)


def channel(
    address: str,
    credentials: grpc.ChannelCredentials | None,
    options: list[tuple[str, int]] | None = None,
) -> grpc.aio.Channel:
    tracing = telemetry.client_interceptors()  # [] when telemetry is off
    if credentials is None or address.startswith("unix:"):
        return grpc.aio.insecure_channel(address, options=options, interceptors=tracing)
    return grpc.aio.secure_channel(address, credentials, options=options, interceptors=tracing)


async def join(
    address: str,
    request: node_pb2.JoinRequest,
    timeout: float,
    ca_pem: bytes | None = None,
) -> node_pb2.JoinResponse:
    """The joiner's call to a member's API port: authenticated by the join
    token, over TLS trusting ``ca_pem`` (the CA its token carries; none: a
    cluster without PKI, plaintext)."""
    creds = grpc.ssl_channel_credentials(ca_pem) if ca_pem is not None else None
    async with channel(address, creds) as ch:
        resp: node_pb2.JoinResponse = await node_pb2_grpc.NodeServiceStub(ch).Join(
            request, timeout=timeout
        )
        return resp
