"""Real HTTP backends on loopback for the ingress tests (aiohttp servers)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web

from jacod.discovery import Endpoint, Route, Snapshot

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Backend:
    """One replica: answers with its name; ``hits`` counts requests it got."""

    def __init__(self, name: str, handler: Handler | None = None) -> None:
        self.name = name
        self.hits = 0
        self.seen: list[web.Request] = []
        self._handler = handler
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _default(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=f"{self.name} {request.method} {request.path_qs}")

    async def _entry(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        self.seen.append(request)
        return await (self._handler or self._default)(request)

    async def start(self) -> Backend:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._entry)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def endpoint(self, ordinal: int, port: int = 8000) -> Endpoint:
        return Endpoint(f"shop/web/{ordinal}", ordinal, "n1", "127.0.0.1", {port: self.port})


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_endpoint(ordinal: int, port: int = 8000) -> Endpoint:
    return Endpoint(f"shop/web/{ordinal}", ordinal, "n2", "127.0.0.1", {port: closed_port()})


def snapshot(
    endpoints: list[Endpoint],
    *,
    host: str = "shop.example",
    path: str = "/",
    port: int = 8000,
    extra: dict[tuple[str, str], list[Endpoint]] | None = None,
    routes: list[Route] | None = None,
) -> Snapshot:
    eps = {("shop", "web"): endpoints, **(extra or {})}
    return Snapshot(
        endpoints=eps,
        routes=routes if routes is not None else [Route("shop", "web", host, path, port)],
        declared={k: [port] for k in eps},
    )


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
