"""The ingress: an HTTP/1.1 reverse proxy on every node (aiohttp, both sides).

A request is routed by its ``Host`` (without port, any case) and the longest
matching path prefix among the services' ``ingress`` tables, to a healthy
replica of that service anywhere in the cluster (``jacod/discovery``), round
robin. Bodies stream both ways: nothing is buffered whole.

Retries: a replica that refuses the connection (or does not accept it within
the connect timeout) never saw the request, so the next replica is tried, up
to ``max_attempts``, and the failed one is avoided for a moment. A request
that did reach a replica which then died is retried only when that is safe:
an idempotent method with no body. Everything else gets an answer that says
what happened: 404 (no route), 503 (no healthy replica), 502 (replicas
refused or broke the connection), 504 (a replica was silent for
``read_timeout_s``).

Each request is one access line under the ``ingress`` subsystem (the path
without its query string: queries carry secrets often enough) and one count
in ``jaco_ingress_requests_total`` / ``jaco_ingress_duration_seconds``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from jacod.discovery import Endpoint, Route, Snapshot, match
from jacod.ingress import websocket
from jacod.ingress.balance import Balancer
from jacod.ingress.headers import downstream_response, upstream_request
from obs import telemetry
from obs.logging import get_logger

log = get_logger("ingress")

SMALL_BODY = 64 * 1024  # bytes: responses up to this size (and known) are sent in one write
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# The client library's own defaults would change the request the replica sees.
SKIP_AUTO = frozenset({"User-Agent", "Accept", "Accept-Encoding", "Content-Type"})


@dataclass(frozen=True)
class IngressConfig:
    listen: str  # host:port
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 60.0  # longest silence from a replica while waiting for bytes
    max_attempts: int = 3  # replicas tried for one request


@dataclass
class Outcome:
    """What the access line and the metrics say about one request."""

    status: int = 0
    route: Route | None = None
    replica: str = ""
    attempts: int = 0
    error: str = ""


class _Retry(Exception):
    """This replica did not take the request; another one may."""


class Ingress:
    def __init__(self, snapshot: Callable[[], Snapshot], config: IngressConfig) -> None:
        self._snapshot, self.config = snapshot, config
        self._balancer = Balancer()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.ServerRunner | None = None
        self.port = 0

    async def start(self) -> None:
        host, _, port = self.config.listen.rpartition(":")
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.config.connect_timeout_s,
            sock_read=self.config.read_timeout_s,
        )  # fmt: skip
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, enable_cleanup_closed=True),
            timeout=timeout, auto_decompress=False, skip_auto_headers=SKIP_AUTO,
            cookie_jar=aiohttp.DummyCookieJar(),
        )  # fmt: skip
        # Our own access lines (below) replace aiohttp's access logger.
        self._runner = web.ServerRunner(web.Server(self._handle, access_log=None))
        await self._runner.setup()
        site = web.TCPSite(self._runner, host.strip("[]") or None, int(port), reuse_address=True)
        try:
            await site.start()
        except OSError:
            await self.stop()
            raise
        server = site._server  # noqa: SLF001 - the only way to learn a port-0 bind
        self.port = server.sockets[0].getsockname()[1] if server and server.sockets else int(port)
        log.info("ingress listening", extra={"address": f"{host}:{self.port}"})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- one request ---------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        started = time.monotonic()
        out = Outcome()
        try:
            return await self._serve(request, out)
        finally:
            self._account(request, out, time.monotonic() - started)

    async def _serve(self, request: web.BaseRequest, out: Outcome) -> web.StreamResponse:
        snap = self._snapshot()
        host = _hostname(request.host)
        out.route = route = match(snap.routes, host, request.path)
        if route is None:
            return _plain(out, 404, f"no ingress route for host {host!r} and path {request.path!r}")
        name = f"{route.deployment}/{route.service}"
        eps = [e for e in snap.lookup(route.deployment, route.service) if route.port in e.ports]
        if not eps:
            return _plain(out, 503, f"service {name} has no healthy replica")
        self._balancer.forget_except(eps)
        upgrade = request.headers.get("Upgrade", "").lower()
        if upgrade and upgrade != "websocket":
            return _plain(out, 501, f"upgrade to {upgrade!r} is not supported (only websocket)")
        loop = asyncio.get_running_loop()
        tried: list[str] = []
        for ep in self._balancer.order(name, eps, loop.time())[: self.config.max_attempts]:
            out.attempts += 1
            out.replica = ep.replica_id
            url = f"{'ws' if upgrade else 'http'}://{ep.address(route.port)}{request.raw_path}"
            try:
                if upgrade:
                    return await self._websocket(request, url, ep, out)
                return await self._forward(request, url, ep, out)
            except _Retry as why:
                self._balancer.failed(ep.replica_id, loop.time())
                tried.append(f"{ep.replica_id} ({why})")
        out.replica = ""
        return _plain(out, 502, f"no replica of {name} took the request; tried " + ", ".join(tried))

    async def _forward(
        self, request: web.BaseRequest, url: str, ep: Endpoint, out: Outcome
    ) -> web.StreamResponse:
        assert self._session is not None
        headers = _upstream_headers(request)
        replayable = request.method in IDEMPOTENT and not request.body_exists
        try:
            upstream = await self._session.request(
                request.method, url, headers=headers, allow_redirects=False,
                data=request.content if request.body_exists else None,
            )  # fmt: skip
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise _Retry(_short(exc)) from None  # never connected: the body is untouched
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            if replayable:
                raise _Retry(_short(exc)) from None
            self._balancer.failed(ep.replica_id, asyncio.get_running_loop().time())
            return _plain(out, 502, f"replica {ep.replica_id} broke the connection: {_short(exc)}")
        except TimeoutError:
            return _plain(out, 504, f"replica {ep.replica_id} sent no response in time")
        except aiohttp.ClientError as exc:
            return _plain(out, 502, f"replica {ep.replica_id}: {_short(exc)}")
        self._balancer.succeeded(ep.replica_id)
        async with upstream:
            return await self._relay_body(request, upstream, ep, out)

    async def _relay_body(
        self, request: web.BaseRequest, upstream: aiohttp.ClientResponse, ep: Endpoint,
        out: Outcome,
    ) -> web.StreamResponse:  # fmt: skip
        out.status = upstream.status
        headers = downstream_response(upstream.headers)
        length = upstream.content_length
        if length is not None and length <= SMALL_BODY and request.method != "HEAD":
            # A small body of known size goes out with the headers in one
            # write: bounded (SMALL_BODY), and a third of the syscalls.
            try:
                body = await upstream.content.readexactly(length)
            except (aiohttp.ClientError, asyncio.IncompleteReadError, TimeoutError) as exc:
                return _plain(out, 502, f"replica {ep.replica_id} cut its response: {_short(exc)}")
            headers.popall("Content-Length", None)
            return web.Response(status=upstream.status, reason=upstream.reason, body=body,
                                headers=headers)  # fmt: skip
        resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        resp.headers.extend(headers)
        await resp.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Headers are out: the only honest signal left is a cut connection.
            out.error = f"response body from {ep.replica_id} broke off: {_short(exc)}"
            if request.transport is not None:
                request.transport.close()
            return resp
        await resp.write_eof()
        return resp

    async def _websocket(
        self, request: web.BaseRequest, url: str, ep: Endpoint, out: Outcome
    ) -> web.StreamResponse:
        assert self._session is not None
        try:
            return await websocket.relay(
                request, self._session, url, _upstream_headers(request), out
            )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise _Retry(_short(exc)) from None
        except aiohttp.WSServerHandshakeError as exc:
            return _plain(out, 502, f"replica {ep.replica_id} refused the websocket: {exc.status}")

    def _account(self, request: web.BaseRequest, out: Outcome, seconds: float) -> None:
        service = out.route.service if out.route else ""
        status = out.status or 500
        telemetry.record_ingress(service, request.method, status, seconds)
        extra: dict[str, object] = {
            "method": request.method, "host": request.host, "path": request.path,
            "status": status, "duration_ms": round(seconds * 1000, 3), "remote": request.remote,
        }  # fmt: skip
        if out.route is not None:
            extra.update(deployment=out.route.deployment, service=out.route.service)
        if out.replica:
            extra.update(replica_id=out.replica, attempts=out.attempts)
        if out.error:
            extra["error"] = out.error
            log.warning("request", extra=extra)
        else:
            log.info("request", extra=extra)


def _plain(out: Outcome, status: int, message: str) -> web.Response:
    out.status = status
    if status >= 500:
        out.error = message
    return web.Response(status=status, text=message + "\n", headers={"Via": "1.1 jaco-ingress"})


def _upstream_headers(request: web.BaseRequest) -> CIMultiDict[str]:
    return upstream_request(
        request.headers, peer=request.remote, scheme=request.scheme, host=request.host
    )


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")]
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() else host


def _short(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
