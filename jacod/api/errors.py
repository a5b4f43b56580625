"""The one place domain errors become gRPC statuses (and the one place an
unexpected exception is logged and hidden behind INTERNAL)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from jacod import errors
from jacod.api import context
from obs.logging import get_logger

log = get_logger("controlplane")

STATUS = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unimplemented: grpc.StatusCode.UNIMPLEMENTED,
    errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
}


def status_for(exc: errors.JacoError) -> grpc.StatusCode:
    for cls in type(exc).__mro__:
        code = STATUS.get(cls)  # type: ignore[call-overload]
        if code is not None:
            return code
    return grpc.StatusCode.UNKNOWN


async def _abort(exc: BaseException, ctx: grpc.aio.ServicerContext, method: str) -> None:
    if isinstance(exc, errors.JacoError):
        await ctx.abort(status_for(exc), str(exc))
    if isinstance(exc, grpc.aio.AioRpcError):
        # A call this node forwarded (to the leader) failed: the caller gets
        # that node's answer, not an INTERNAL of ours.
        await ctx.abort(exc.code(), exc.details() or exc.code().name)
    log.error(
        "unexpected error in RPC",
        exc_info=exc,
        extra={"method": method, "identity": context.identity.get()},
    )
    await ctx.abort(grpc.StatusCode.INTERNAL, f"internal error in {method}; see the jacod log")


def wrap_unary(
    fn: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]], method: str
) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    @functools.wraps(fn)
    async def handler(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
        try:
            return await fn(request, ctx)
        except (grpc.aio.AbortError, GeneratorExit):
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to a status right here
            await _abort(exc, ctx, method)

    return handler


def wrap_stream(
    fn: Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]], method: str
) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
    @functools.wraps(fn)
    async def handler(request: Any, ctx: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            async for item in fn(request, ctx):
                yield item
        except (grpc.aio.AbortError, GeneratorExit):
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to a status right here
            await _abort(exc, ctx, method)

    return handler
