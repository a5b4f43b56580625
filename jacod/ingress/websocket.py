"""WebSocket pass-through: the client's socket and the replica's, message for message.

The replica's handshake happens first (so a refused connection can still be
retried on another replica), then the client's, offering the subprotocol the
replica chose. Text, binary and close frames are relayed both ways; each side
answers its own pings. Either side closing closes the other with its code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from jacod.ingress.proxy import Outcome

HANDSHAKE = frozenset(
    {"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
     "sec-websocket-protocol", "sec-websocket-accept"}
)  # fmt: skip


async def relay(
    request: web.BaseRequest,
    session: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    out: Outcome,
) -> web.StreamResponse:
    offered = [
        p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()
    ]
    forward = {k: v for k, v in headers.items() if k.lower() not in HANDSHAKE}
    upstream = await session.ws_connect(url, headers=forward, protocols=offered, autoclose=False)
    try:
        client = web.WebSocketResponse(
            protocols=[upstream.protocol] if upstream.protocol else (), autoclose=False
        )
        await client.prepare(request)
        out.status = 101
        await _pump_both(client, upstream)
        return client
    finally:
        await upstream.close()


async def _pump_both(
    client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse
) -> None:
    a = asyncio.ensure_future(_pump(client, upstream))
    b = asyncio.ensure_future(_pump(upstream, client))
    try:
        await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (a, b):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


async def _pump(
    src: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    dst: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    async for msg in src:
        if msg.type == WSMsgType.TEXT:
            await dst.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await dst.send_bytes(msg.data)
        elif msg.type == WSMsgType.CLOSE:
            break
        elif msg.type == WSMsgType.ERROR:
            break
    code = src.close_code or aiohttp.WSCloseCode.OK
    await dst.close(code=code, message=b"")
