"""The node's DNS server: UDP and TCP on one address, answering from the live registry.

Usage (``snapshot`` is any zero-argument callable, e.g. ``Registry.snapshot``)::

    server = DnsServer(registry.snapshot, "127.0.0.1:8600")
    await server.start()          # binds both sockets or raises OSError / ValueError
    server.address                # "127.0.0.1:8600" (with port 0: the port it got)
    ...
    await server.stop()

Both transports are plain asyncio protocols that answer synchronously inside
their callbacks (an answer is a pure function of one snapshot): no task per
query or per connection, and nothing raised there can reach the loop's
exception handler. TCP follows RFC 7766: each message is preceded by its
2-byte length, a connection may carry many queries (answered in order), and
idle connections are closed after ``tcp_idle_timeout`` seconds.

The listen address must be an IP literal: a DNS server that needs a resolver
to find its own address is a bootstrapping loop. ``[::]`` is dual-stack.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Callable
from typing import Any, cast

from jacod.discovery.registry import Snapshot
from jacod.dns.wire import respond
from jacod.dns.zone import TTL
from obs.logging import get_logger

log = get_logger("dns")

TCP_IDLE_TIMEOUT = 10.0  # seconds; RFC 7766 6.2.3 suggests the order of seconds
TCP_MAX_CONNECTIONS = 256  # beyond this new connections are closed at once
_PORT_ATTEMPTS = 20  # with port 0: tries to find a port free for both UDP and TCP


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:8600"`` / ``"[::1]:8600"`` -> (host, port); ValueError naming the problem."""
    host, sep, port = listen.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"DNS listen address: expected HOST:PORT, got {listen!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"DNS listen address: host must be an IP, got {listen!r}") from None
    return host, int(port)


class DnsServer:
    """The ``jaco.`` zone served over UDP and TCP on ``listen`` (``HOST:PORT``, port 0 = any)."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        listen: str,
        *,
        ttl: int = TTL,
        tcp_idle_timeout: float = TCP_IDLE_TIMEOUT,
    ) -> None:
        self._snapshot = snapshot
        self._host, self._wanted_port = parse_listen(listen)
        self._ttl = ttl
        self._idle = tcp_idle_timeout
        self._port: int | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: set[_TcpProtocol] = set()

    @property
    def port(self) -> int:
        """The bound port (the real one when ``listen`` said 0); only after ``start``."""
        if self._port is None:
            raise RuntimeError("DnsServer is not started")
        return self._port

    @property
    def address(self) -> str:
        """``host:port`` as bound (``[v6]:port`` for IPv6): what replicas get as ``JACO_DNS``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self.port}"

    async def start(self) -> None:
        if self._port is not None:
            raise RuntimeError("DnsServer is already started")
        udp_sock, tcp_sock = _bind(self._host, self._wanted_port)
        loop = asyncio.get_running_loop()
        try:
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self.reply), sock=udp_sock
            )
            self._tcp = await loop.create_server(
                lambda: _TcpProtocol(self.reply, self._connections, self._idle), sock=tcp_sock
            )
        except BaseException:
            if self._udp is not None:
                self._udp.close()
                self._udp = None
            udp_sock.close()
            tcp_sock.close()
            raise
        self._port = udp_sock.getsockname()[1]
        log.info("dns listening", extra={"address": self.address, "ttl": self._ttl})

    async def stop(self) -> None:
        """Close both listeners and every open TCP connection; safe to call twice."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for conn in list(self._connections):
                conn.close()
            await self._tcp.wait_closed()
            self._tcp = None
        self._port = None

    async def __aenter__(self) -> DnsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def reply(self, data: bytes, *, udp: bool) -> bytes | None:
        """The reply to one message; never raises (a bad packet never kills the server)."""
        try:
            return respond(data, self._snapshot, udp=udp, ttl=self._ttl)
        except Exception:
            log.warning("dropped a query: internal error", exc_info=True)
            return None


def _bind(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket bound to the same ``host:port``; with port 0, one free for both."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for attempt in range(_PORT_ATTEMPTS):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        tcp = socket.socket(family, socket.SOCK_STREAM)
        try:
            for sock in (udp, tcp):
                sock.setblocking(False)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            # TCP only: restart over TIME_WAIT. On UDP it would let a second server share the port.
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            udp.bind((host, port))
            tcp.bind((host, udp.getsockname()[1]))
            tcp.listen(128)
            return udp, tcp
        except OSError as exc:
            udp.close()
            tcp.close()
            if port != 0 or exc.errno != errno.EADDRINUSE or attempt == _PORT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


Reply = Callable[..., bytes | None]  # DnsServer.reply


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, reply: Reply) -> None:
        self._reply = reply
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A DatagramTransport in behaviour; CPython's selector one does not subclass it.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        reply = self._reply(data, udp=True)
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors for earlier replies (a client that went away): nothing to do.
        log.debug("udp error", extra={"error": str(exc)})


class _TcpProtocol(asyncio.Protocol):
    """One TCP client: length-prefixed messages in, answers out in order (RFC 7766)."""

    def __init__(self, reply: Reply, connections: set[_TcpProtocol], idle: float) -> None:
        self._reply, self._connections, self._idle_timeout = reply, connections, idle
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport = cast(asyncio.Transport, transport)
        if len(self._connections) >= TCP_MAX_CONNECTIONS:
            log.warning("too many DNS TCP connections; closing a new one")
            transport.close()
            return
        self._connections.add(self)
        self._touch()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 2:
            size = int.from_bytes(self._buffer[:2], "big")
            if len(self._buffer) < 2 + size:
                break
            message = bytes(self._buffer[2 : 2 + size])
            del self._buffer[: 2 + size]
            reply = self._reply(message, udp=False)
            if reply is not None and self._transport is not None:
                self._transport.write(len(reply).to_bytes(2, "big") + reply)
        self._touch()

    def pause_writing(self) -> None:
        # A client that does not read its answers stops being read from.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        if self._idle is not None:
            self._idle.cancel()
        self._transport = None

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _touch(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        if self._transport is not None:
            loop = asyncio.get_running_loop()
            self._idle = loop.call_later(self._idle_timeout, self.close)
