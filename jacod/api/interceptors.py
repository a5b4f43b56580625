"""Server interceptor: resolve the caller's identity into a contextvar, then
run the servicer under the error mapping of ``errors.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from jacod import errors
from jacod.api import context
from jacod.api.errors import wrap_stream, wrap_unary
from jacod.cluster import peers

NODE_SERVICE = "/jaco.v1.NodeService/"
JOIN = NODE_SERVICE + "Join"


class Authenticator:
    """Unix-socket callers are `local` (the socket's file mode is the gate).
    Over TCP: the node service needs peer credentials (``cluster/peers.py``),
    except Join, which the servicer checks against the join token; the control
    API needs a bearer token, which lands with the identity issue."""

    def __init__(self, secret: str = ""):
        self._secret = secret

    async def __call__(self, method: str, metadata: dict[str, str], peer: str) -> str:
        if peer.startswith("unix:"):
            return "local"
        if method == JOIN:
            return "system"
        if method.startswith(NODE_SERVICE):
            if not self._secret:
                raise errors.Unauthenticated("this node is not part of a cluster yet")
            peers.verify(self._secret, metadata.get(peers.HEADER, ""), method)
            return "system"
        raise errors.Unauthenticated(
            "the control API over TCP needs a bearer token, which this build does not support "
            "yet; use the unix socket (jaco --server unix:///run/jaco/jacod.sock)"
        )


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
                    context.identity.set(await auth(method, metadata, c.peer()))
                    return await handler.unary_unary(req, c)

                return await wrap_unary(call, method)(request, ctx)

            return grpc.unary_unary_rpc_method_handler(
                unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:

            async def stream(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
                async def call(req: Any, c: grpc.aio.ServicerContext) -> Any:
                    context.identity.set(await auth(method, metadata, c.peer()))
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
