"""The ingress proxy against real HTTP backends on loopback (no jacod needed)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from jacod.discovery import Route, Snapshot
from jacod.ingress import Ingress, IngressConfig, IngressThread

from .backends import Backend, dead_endpoint, snapshot, until


@dataclass
class Proxy:
    ingress: Ingress
    snap: Snapshot
    client: aiohttp.ClientSession
    backends: list[Backend] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ingress.port}"

    async def get(
        self, path: str = "/", host: str = "shop.example", **kw: object
    ) -> tuple[int, str]:
        async with self.client.get(self.url + path, headers={"Host": host}, **kw) as r:  # type: ignore[arg-type]
            return r.status, await r.text()

    async def backend(self, name: str, handler: object = None) -> Backend:
        b = await Backend(name, handler).start()  # type: ignore[arg-type]
        self.backends.append(b)
        return b


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    holder: list[Snapshot] = [snapshot([])]
    ingress = Ingress(
        lambda: holder[0],
        IngressConfig(listen="127.0.0.1:0", connect_timeout_s=1.0, read_timeout_s=0.5),
    )
    await ingress.start()
    client = aiohttp.ClientSession(auto_decompress=False)
    p = Proxy(ingress, holder[0], client)
    p.set = lambda s: holder.__setitem__(0, s)  # type: ignore[attr-defined]
    try:
        yield p
    finally:
        await client.close()
        await ingress.stop()
        for b in p.backends:
            await b.stop()


async def test_routes_by_host_and_longest_path_prefix(proxy: Proxy) -> None:
    web_b, api_b, any_b = [await proxy.backend(n) for n in ("web", "api", "any")]
    proxy.set(  # type: ignore[attr-defined]
        Snapshot(
            endpoints={
                ("shop", "web"): [web_b.endpoint(0)],
                ("shop", "api"): [api_b.endpoint(0)],
                ("misc", "any"): [any_b.endpoint(0)],
            },
            routes=[
                Route("shop", "api", "shop.example", "/api", 8000),
                Route("shop", "web", "shop.example", "/", 8000),
                Route("misc", "any", "", "/", 8000),
            ],
            declared={("shop", "web"): [8000], ("shop", "api"): [8000], ("misc", "any"): [8000]},
        )
    )
    assert await proxy.get("/api/items?q=1") == (200, "api GET /api/items?q=1")
    assert await proxy.get("/api") == (200, "api GET /api")
    assert await proxy.get("/apix") == (200, "web GET /apix")
    assert await proxy.get("/", host="SHOP.example:8480") == (200, "web GET /")
    assert await proxy.get("/", host="other.example") == (200, "any GET /")


async def test_no_route_is_404_naming_host_and_path(proxy: Proxy) -> None:
    status, body = await proxy.get("/x", host="nobody.example")
    assert status == 404
    assert "nobody.example" in body and "/x" in body


async def test_round_robin_across_replicas(proxy: Proxy) -> None:
    bs = [await proxy.backend(f"r{i}") for i in range(3)]
    proxy.set(snapshot([b.endpoint(i) for i, b in enumerate(bs)]))  # type: ignore[attr-defined]
    answers = [(await proxy.get())[1].split()[0] for _ in range(9)]
    assert sorted(answers) == sorted(["r0", "r1", "r2"] * 3)
    assert answers[:3] != [answers[0]] * 3  # consecutive requests go to different replicas


async def test_no_healthy_replica_is_503_naming_the_service(proxy: Proxy) -> None:
    status, body = await proxy.get()
    assert status == 503
    assert "shop/web has no healthy replica" in body


async def test_refused_connection_is_retried_on_another_replica(proxy: Proxy) -> None:
    live = await proxy.backend("live")
    proxy.set(snapshot([dead_endpoint(0), live.endpoint(1), dead_endpoint(2)]))  # type: ignore[attr-defined]
    for _ in range(6):
        assert await proxy.get() == (200, "live GET /")
    assert live.hits == 6


async def test_a_post_body_is_retried_only_when_it_never_left(proxy: Proxy) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=f"got {len(await request.read())}")

    live = await proxy.backend("live", echo)
    proxy.set(snapshot([dead_endpoint(0), live.endpoint(1)]))  # type: ignore[attr-defined]
    for _ in range(2):  # whichever comes first, the body reaches the live one whole
        async with proxy.client.post(
            proxy.url + "/up", data=b"x" * 100_000, headers={"Host": "shop.example"}
        ) as r:
            assert (r.status, await r.text()) == (200, "got 100000")


async def test_all_replicas_refusing_is_502_listing_them(proxy: Proxy) -> None:
    proxy.set(snapshot([dead_endpoint(0), dead_endpoint(1)]))  # type: ignore[attr-defined]
    status, body = await proxy.get()
    assert status == 502
    assert "shop/web/0" in body and "shop/web/1" in body


async def test_replica_dying_mid_request_retries_a_get_not_a_post(proxy: Proxy) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        await request.read()
        assert request.transport is not None
        request.transport.close()  # dies before answering
        raise ConnectionResetError

    dying = await proxy.backend("dying", hang_up)
    live = await proxy.backend("live")
    proxy.set(snapshot([dying.endpoint(0), live.endpoint(1)]))  # type: ignore[attr-defined]
    results = []
    for _ in range(4):
        async with proxy.client.post(
            proxy.url + "/pay", data=b"once", headers={"Host": "shop.example"}
        ) as r:
            results.append((r.status, await r.text()))
    # Round robin starts at the dying one; the POST is not replayed (it may
    # have taken effect), and the replica is avoided for a while after.
    assert results[0][0] == 502 and "shop/web/0 broke the connection" in results[0][1]
    assert [s for s, _ in results[1:]] == [200] * 3
    assert (dying.hits, live.hits) == (1, 3)

    proxy.ingress._balancer = type(proxy.ingress._balancer)()  # forget the ejection
    dying.hits = live.hits = 0
    statuses = [(await proxy.get())[0] for _ in range(4)]
    assert statuses == [200] * 4  # a GET without a body is replayed on the live one
    assert live.hits == 4 and dying.hits >= 1


async def test_slow_replica_is_504(proxy: Proxy) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(text="late")

    b = await proxy.backend("slow", slow)
    proxy.set(snapshot([b.endpoint(0)]))  # type: ignore[attr-defined]
    status, body = await proxy.get()
    assert status == 504
    assert "shop/web/0" in body


async def test_response_streams_before_the_replica_finishes(proxy: Proxy) -> None:
    release = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"first\n")
        await asyncio.wait_for(release.wait(), 5)  # only after the client saw "first"
        await resp.write(b"second\n")
        await resp.write_eof()
        return resp

    b = await proxy.backend("s", stream)
    proxy.set(snapshot([b.endpoint(0)]))  # type: ignore[attr-defined]
    async with proxy.client.get(proxy.url, headers={"Host": "shop.example"}) as r:
        assert await r.content.readline() == b"first\n"
        release.set()
        assert await r.content.readline() == b"second\n"


async def test_request_body_streams_to_the_replica(proxy: Proxy) -> None:
    first = asyncio.Event()
    more = asyncio.Event()

    async def sink(request: web.Request) -> web.Response:
        total = len(await request.content.readany())
        first.set()  # the replica has bytes while the client still holds the rest back
        async for chunk in request.content.iter_any():
            total += len(chunk)
        return web.Response(text=f"got {total}")

    b = await proxy.backend("sink", sink)
    proxy.set(snapshot([b.endpoint(0)]))  # type: ignore[attr-defined]

    async def body() -> AsyncIterator[bytes]:
        yield b"a" * 1000
        await asyncio.wait_for(first.wait(), 5)
        more.set()
        yield b"b" * 1000

    async with proxy.client.post(proxy.url, data=body(), headers={"Host": "shop.example"}) as r:
        assert (r.status, await r.text()) == (200, "got 2000")
    assert more.is_set()


async def test_headers_forwarded_and_hop_by_hop_dropped(proxy: Proxy) -> None:
    async def show(request: web.Request) -> web.Response:
        return web.Response(text="ok", headers={"Connection": "close, X-Private", "X-Private": "1",
                                                "X-Kept": "yes"})  # fmt: skip

    b = await proxy.backend("h", show)
    proxy.set(snapshot([b.endpoint(0)]))  # type: ignore[attr-defined]
    async with proxy.client.get(
        proxy.url + "/",
        headers={
            "Host": "shop.example",
            "Keep-Alive": "timeout=5",
            "Connection": "X-Secret-Hop",
            "X-Secret-Hop": "drop me",
            "X-Forwarded-For": "10.0.0.9",
        },  # fmt: skip
    ) as r:
        assert r.headers["X-Kept"] == "yes"
        assert "X-Private" not in r.headers
        assert "jaco-ingress" in r.headers["Via"]
    seen = b.seen[-1].headers
    assert seen["Host"] == "shop.example"
    assert seen["X-Forwarded-For"] == "10.0.0.9, 127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http"
    assert "Keep-Alive" not in seen and "X-Secret-Hop" not in seen
    assert "User-Agent" in seen and seen["User-Agent"].startswith("Python")  # the client's own


async def test_websocket_passes_through(proxy: Proxy) -> None:
    async def ws_echo(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(protocols=["chat"])
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"echo {msg.data}")
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data[::-1])
        return ws

    b = await proxy.backend("ws", ws_echo)
    proxy.set(snapshot([dead_endpoint(0), b.endpoint(1)]))  # type: ignore[attr-defined]
    for _ in range(2):  # one of the two attempts first meets the refusing replica
        async with proxy.client.ws_connect(
            proxy.url + "/chat", headers={"Host": "shop.example"}, protocols=["chat"]
        ) as ws:
            assert ws.protocol == "chat"
            await ws.send_str("hi")
            assert (await ws.receive(timeout=5)).data == "echo hi"
            await ws.send_bytes(b"abc")
            assert (await ws.receive(timeout=5)).data == b"cba"


async def test_other_upgrades_are_501(proxy: Proxy) -> None:
    b = await proxy.backend("x")
    proxy.set(snapshot([b.endpoint(0)]))  # type: ignore[attr-defined]
    headers = {"Host": "shop.example", "Upgrade": "h2c", "Connection": "Upgrade"}
    async with proxy.client.get(proxy.url, headers=headers) as r:
        assert r.status == 501 and "h2c" in await r.text()
    assert b.hits == 0


async def test_access_lines_name_the_replica_and_never_the_query(
    proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    b = await proxy.backend("r")
    proxy.set(snapshot([b.endpoint(0)]))  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="jaco.ingress"):
        assert (await proxy.get("/login?token=s3cr3t"))[0] == 200
        await until(lambda: any(r.getMessage() == "request" for r in caplog.records))
    rec = next(r for r in caplog.records if r.getMessage() == "request")
    assert rec.__dict__["status"] == 200 and rec.__dict__["replica_id"] == "shop/web/0"
    assert rec.__dict__["path"] == "/login" and rec.__dict__["service"] == "web"
    assert "s3cr3t" not in repr(rec.__dict__)


async def test_snapshot_changes_take_effect_on_the_next_request(proxy: Proxy) -> None:
    a, b = await proxy.backend("a"), await proxy.backend("b")
    proxy.set(snapshot([a.endpoint(0)]))  # type: ignore[attr-defined]
    assert (await proxy.get())[1].startswith("a ")
    proxy.set(snapshot([b.endpoint(1)]))  # type: ignore[attr-defined]
    assert (await proxy.get())[1].startswith("b ")


async def test_on_its_own_thread_it_serves_and_reports_a_taken_port() -> None:
    b = await Backend("t").start()
    snap = snapshot([b.endpoint(0)])
    ingress = IngressThread(lambda: snap, IngressConfig(listen="127.0.0.1:0"))
    await ingress.start()
    try:
        async with aiohttp.ClientSession() as client:
            url = f"http://127.0.0.1:{ingress.port}/x"
            async with client.get(url, headers={"Host": "shop.example"}) as r:
                assert (r.status, await r.text()) == (200, "t GET /x")
        taken = IngressThread(lambda: snap, IngressConfig(listen=f"127.0.0.1:{ingress.port}"))
        with pytest.raises(OSError):
            await taken.start()
    finally:
        await ingress.stop()
        await b.stop()
    assert not any(t.name == "ingress" and t.is_alive() for t in threading.enumerate())
