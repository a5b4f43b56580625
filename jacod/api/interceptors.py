"""Server interceptor: resolve the caller's identity into a contextvar
(``jacod/auth/authenticator.py`` decides who it is and what it may call, from
the metadata, the peer address and the node name of a client certificate the
TLS handshake verified), then run the servicer under the error mapping of
``errors.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from jacod.api import context, streams
from jacod.api.errors import wrap_stream, wrap_unary
from jacod.api.unixfront import parse_peer
from jacod.auth.authenticator import Authenticator  # who may call what: jacod/auth
from jacod.pki.node import peer_node

__all__ = ["Authenticator", "IdentityInterceptor"]


def _peer(ctx: grpc.aio.ServicerContext) -> tuple[str, str]:
    return ctx.peer(), peer_node(ctx.auth_context())


def _resolve(ctx: grpc.aio.ServicerContext, identity: str) -> None:
    context.identity.set(identity)
    cred = parse_peer(ctx.peer())
    context.peer_uid.set(cred.uid if cred is not None else None)


class IdentityInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, authenticate: Authenticator):
        self._authenticate = authenticate

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        auth = self._authenticate
        metadata = {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}

        if handler.unary_unary is not None:

            async def unary(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
                async def call(req: Any, c: grpc.aio.ServicerContext) -> Any:
                    _resolve(c, await auth(method, metadata, *_peer(c)))
                    return await handler.unary_unary(req, c)

                with streams.unary_call():  # a graceful stop waits for these only
                    return await wrap_unary(call, method)(request, ctx)

            return grpc.unary_unary_rpc_method_handler(
                unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:

            async def stream(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
                async def call(req: Any, c: grpc.aio.ServicerContext) -> Any:
                    _resolve(c, await auth(method, metadata, *_peer(c)))
                    async for item in handler.unary_stream(req, c):
                        yield item

                async for item in wrap_stream(call, method)(request, ctx):
                    yield item

            return grpc.unary_stream_rpc_method_handler(
                stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
