"""The unix-socket front: real sockets, a real grpc.aio server behind it."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from jacod.api.unixfront import PeerCred, UnixFront, parse_peer

CHUNK = b"x" * 65536


async def _peer(request: bytes, ctx: grpc.aio.ServicerContext) -> bytes:
    return ctx.peer().encode()


async def _flood(request: bytes, ctx: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    for _ in range(int(request or b"0")):
        yield CHUNK


async def _echo(
    requests: AsyncIterator[bytes], ctx: grpc.aio.ServicerContext
) -> AsyncIterator[bytes]:
    async for r in requests:
        yield r


@pytest.fixture
async def front(tmp_path: Path) -> AsyncIterator[tuple[UnixFront, str]]:
    base = Path(os.path.realpath(tmp_path))
    short = Path("/tmp") / f"uf-{os.getpid()}-{base.name[-8:]}"
    short.mkdir(exist_ok=True)
    private, public = short / "grpc.sock", short / "pub.sock"
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.T", {
        "Peer": grpc.unary_unary_rpc_method_handler(_peer),
        "Flood": grpc.unary_stream_rpc_method_handler(_flood),
        "Echo": grpc.stream_stream_rpc_method_handler(_echo),
    }),))  # fmt: skip
    server.add_insecure_port(f"unix:{private}")
    await server.start()
    f = UnixFront(public, private)
    await f.start()
    try:
        yield f, f"unix:{public}"
    finally:
        await f.close()
        await server.stop(0)
        for p in (private, public):
            p.unlink(missing_ok=True)
        short.rmdir()


async def test_the_call_sees_the_callers_uid_and_pid(front: tuple[UnixFront, str]) -> None:
    _, target = front
    async with grpc.aio.insecure_channel(target) as ch:
        peer = (await ch.unary_unary("/t.T/Peer")(b"")).decode()
    assert parse_peer(peer) == PeerCred(uid=os.getuid(), pid=os.getpid()), peer


async def test_another_users_uid_is_the_kernels_word(tmp_path: Path) -> None:
    """A client running as nobody: the relayed connection is named after uid 65534.
    (A raw private server here: nobody cannot run the venv's grpc.)"""
    if os.getuid() != 0:
        pytest.fail("this test needs root to run a client as another user (CI runs as root)")
    short = Path("/tmp") / f"uf-raw-{os.getpid()}"
    short.mkdir(exist_ok=True)
    os.chmod(short, 0o755)
    private, public = short / "private.sock", short / "public.sock"
    names: asyncio.Queue[str] = asyncio.Queue()

    async def accepted(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        names.put_nowait("unix-abstract:" + w.get_extra_info("peername")[1:].decode())
        w.write(await r.readexactly(5))  # echo "hello"
        await w.drain()
        w.close()

    raw = await asyncio.start_unix_server(accepted, str(private))
    f = UnixFront(public, private)
    await f.start()
    os.chmod(public, 0o666)
    client = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        f"s.connect({str(public)!r})\n"
        "s.sendall(b'hello')\n"
        "sys.stdout.write(s.recv(5).decode())\n"
    )
    try:
        proc = await asyncio.create_subprocess_exec(
            "/usr/bin/python3", "-c", client, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            user=65534, group=65534,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 20)
        assert (proc.returncode, out) == (0, b"hello"), err.decode()
        name = await asyncio.wait_for(names.get(), 5)
        assert parse_peer(name) == PeerCred(uid=65534, pid=proc.pid), name
    finally:
        await f.close()
        raw.close()
        await raw.wait_closed()
        for p in (private, public):
            p.unlink(missing_ok=True)
        short.rmdir()


async def test_big_streams_flow_both_ways(front: tuple[UnixFront, str]) -> None:
    _, target = front
    async with grpc.aio.insecure_channel(target) as ch:
        total = 0
        async for chunk in ch.unary_stream("/t.T/Flood")(b"200"):  # 12.5 MiB
            total += len(chunk)
        assert total == 200 * len(CHUNK)
        call = ch.stream_stream("/t.T/Echo")
        stream = call()
        for i in range(50):
            await stream.write(CHUNK[: 1000 + i])
            assert len(await stream.read()) == 1000 + i
        await stream.done_writing()


async def test_close_ends_open_calls(front: tuple[UnixFront, str]) -> None:
    f, target = front
    async with grpc.aio.insecure_channel(target) as ch:
        stream = ch.stream_stream("/t.T/Echo")()
        await stream.write(b"hi")
        assert await stream.read() == b"hi"
        await f.close()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await asyncio.wait_for(stream.read(), 10)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_parse_peer_only_accepts_the_fronts_names() -> None:
    assert parse_peer("unix-abstract:jaco-peer-77-1000-4242-3") == PeerCred(uid=1000, pid=4242)
    for other in ("unix:/run/jaco/jacod.sock", "ipv4:127.0.0.1:5000", "unix-abstract:evil-1-2-3-4",
                  "unix-abstract:jaco-peer-1-x-2-3"):  # fmt: skip
        assert parse_peer(other) is None
