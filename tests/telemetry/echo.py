"""A tiny grpc.aio service for propagation tests, with no generated stubs:
raw-bytes unary and server-streaming methods behind the same two layers jacod
has (telemetry's server interceptor first, then an identity interceptor).

``python -m tests.telemetry.echo PORT_FILE`` serves it in its own process
(telemetry from the environment, service.name ``jacod``) until stdin closes.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from obs import telemetry

SERVICE = "test.v1.Echo"
identity: contextvars.ContextVar[str] = contextvars.ContextVar("identity", default="system")
# Metadata keys each call arrived with (to check what travelled).
received: list[dict[str, str]] = []


def _record(ctx: grpc.aio.ServicerContext) -> None:
    received.append({k: v for k, v in ctx.invocation_metadata() or () if isinstance(v, str)})


async def say(request: bytes, ctx: grpc.aio.ServicerContext) -> bytes:
    _record(ctx)
    with telemetry.span("echo.work", deployment="shop"):
        await asyncio.sleep(0)
    return b"hello " + request


async def count(request: bytes, ctx: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    _record(ctx)
    for i in range(int(request or b"3")):
        with telemetry.span(f"echo.item{i}"):
            await asyncio.sleep(0)
        yield str(i).encode()


async def fail(request: bytes, ctx: grpc.aio.ServicerContext) -> bytes:
    _record(ctx)
    await ctx.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    raise AssertionError("unreachable")


async def boom(request: bytes, ctx: grpc.aio.ServicerContext) -> bytes:
    _record(ctx)
    raise RuntimeError("bug")


class IdentityInterceptor(grpc.aio.ServerInterceptor):
    """Like jacod's: resolves the caller inside the handler, after the
    telemetry server span has started."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            async def unary(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
                identity.set("local")
                return await inner(request, ctx)

            return grpc.unary_unary_rpc_method_handler(unary)
        inner_stream = handler.unary_stream

        async def stream(request: Any, ctx: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            identity.set("local")
            async for item in inner_stream(request, ctx):
                yield item

        return grpc.unary_stream_rpc_method_handler(stream)


def handlers() -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Say": grpc.unary_unary_rpc_method_handler(say),
            "Count": grpc.unary_stream_rpc_method_handler(count),
            "Fail": grpc.unary_unary_rpc_method_handler(fail),
            "Boom": grpc.unary_unary_rpc_method_handler(boom),
        },
    )


async def start_server(
    generic: grpc.GenericRpcHandler | None = None,
) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(interceptors=[*telemetry.server_interceptors(), IdentityInterceptor()])
    server.add_generic_rpc_handlers((generic or handlers(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


class ThreadedServer:
    """The server on its own thread and event loop: nothing reaches it from
    the client's context except what travels in metadata."""

    def __init__(self, generic: grpc.GenericRpcHandler | None = None) -> None:
        self.port = 0
        self._generic = generic
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="echo-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        server, self.port = await start_server(self._generic)
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await server.stop(None)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        assert self._ready.wait(10), "echo server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._loop.close()


def channel(port: int, traced: bool = True) -> grpc.aio.Channel:
    interceptors = telemetry.client_interceptors() if traced else []
    return grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=interceptors)


def method(ch: grpc.aio.Channel, name: str, stream: bool = False) -> Any:
    path = f"/{SERVICE}/{name}"
    return ch.unary_stream(path) if stream else ch.unary_unary(path)


async def _main(port_file: str) -> None:
    telemetry.setup("jacod", cluster_id="c-1", node="server-node")
    telemetry.set_identity_source(identity.get)
    server, port = await start_server()
    with open(port_file, "w") as fh:
        fh.write(str(port))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop(None)
    telemetry.shutdown()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
