"""The public unix socket, fronted so every call knows the caller's uid.

grpc-python never shows a servicer the socket a call came in on, so it
cannot ask the kernel who the peer is (grpc/grpc#15511, #28755). This front
does: it owns the public socket (``jacod.sock``, 0660 — its permissions are
the gate), reads each accepted connection's ``SO_PEERCRED`` and relays the
bytes to the gRPC server's *private* socket (0600, in the data dir) from a
client socket bound to an abstract name that carries the peer's uid and pid.
The gRPC server reports that name as the call's peer
(``unix-abstract:jaco-peer-<uid>-<pid>-<n>``), and ``parse_peer`` reads it.

Only jacod's user can reach the private socket, so only the front can make
such peers. The relay is a pair of asyncio protocols writing straight into
each other's transports, with flow control both ways.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from obs.logging import get_logger

log = get_logger("controlplane")

PREFIX = "jaco-peer-"
_PEER = re.compile(r"^unix-abstract:" + PREFIX + r"(\d+)-(\d+)-(\d+)-\d+$")
_UCRED = struct.Struct("3i")


@dataclass(frozen=True)
class PeerCred:
    uid: int
    pid: int


def parse_peer(peer: str) -> PeerCred | None:
    """The caller behind a fronted connection, or None for any other peer."""
    m = _PEER.match(peer)
    return PeerCred(uid=int(m[2]), pid=int(m[3])) if m else None


def peer_cred(sock: socket.socket) -> PeerCred:
    pid, uid, _gid = _UCRED.unpack(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    )
    return PeerCred(uid=uid, pid=pid)


class _Half(asyncio.Protocol):
    """One direction's receiver: what it reads, the other side's transport writes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.other: _Half | None = None
        self._paused_other = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        other = self.other
        if other is not None and other.transport is not None:
            other.transport.write(data)

    def eof_received(self) -> bool:
        other = self.other
        if other is not None and other.transport is not None and other.transport.can_write_eof():
            other.transport.write_eof()
            return True  # half-close: the other direction may still flow
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        other = self.other
        if other is not None and other.transport is not None:
            other.transport.close()

    # Our transport's write buffer is full: stop reading the side feeding it.
    def pause_writing(self) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.other is not None and self.other.transport is not None:
            self.other.transport.resume_reading()


class _Client(_Half):
    """The accepted side: reads nothing until its upstream side is connected."""

    def __init__(self, front: UnixFront) -> None:
        super().__init__()
        self.front = front

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()
        self.front._conns.add(transport)
        task = asyncio.get_running_loop().create_task(self.front._connect(self))
        self.front._connecting.add(task)  # a strong reference until it is done
        task.add_done_callback(self.front._connecting.discard)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.front._conns.discard(self.transport)
        super().connection_lost(exc)


class UnixFront:
    def __init__(self, public: Path, private: Path) -> None:
        self.public, self.private = public, private
        self._server: asyncio.AbstractServer | None = None
        self._count = itertools.count(1)
        self._tag = f"{os.getpid()}"
        self._conns: set[asyncio.Transport] = set()
        self._connecting: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(self._accepted, str(self.public))

    def _accepted(self) -> asyncio.Protocol:
        return _Client(self)

    async def _connect(self, client: _Half) -> None:
        assert client.transport is not None
        try:
            cred = peer_cred(client.transport.get_extra_info("socket"))
            up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            up.bind(f"\0{PREFIX}{self._tag}-{cred.uid}-{cred.pid}-{next(self._count)}")
            up.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.sock_connect(up, str(self.private))
            _, upstream = await loop.create_connection(_Half, sock=up)
        except OSError as exc:
            log.warning("cannot relay a local connection", extra={"error": str(exc)})
            client.transport.close()
            return
        client.other, upstream.other = upstream, client
        client.transport.resume_reading()

    async def stop_accepting(self) -> None:
        """No new connections; relayed ones go on (a graceful stop lets their calls end)."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def close(self) -> None:
        """Stop accepting and cut every relayed connection (their calls end)."""
        await self.stop_accepting()
        for t in list(self._conns):
            t.close()
