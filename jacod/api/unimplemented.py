"""Every RPC of the API exists from day one; those not built yet answer
UNIMPLEMENTED with a message naming the RPC (not grpc's bare default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

from google.protobuf.descriptor import ServiceDescriptor

from jacod import errors

T = TypeVar("T", bound=type)


def fill_unimplemented(cls: T, service: ServiceDescriptor) -> T:
    """Give ``cls`` a handler for every RPC of ``service`` it does not define."""
    for method in service.methods:
        if method.name in vars(cls):
            continue
        full = f"{service.full_name}/{method.name}"
        if method.server_streaming:

            async def stream(
                self: Any, request: Any, ctx: Any, _full: str = full
            ) -> AsyncIterator[Any]:
                raise errors.Unimplemented(f"{_full} is not implemented by this jacod yet")
                yield  # pragma: no cover - makes this an async generator

            setattr(cls, method.name, stream)
        else:

            async def unary(self: Any, request: Any, ctx: Any, _full: str = full) -> Any:
                raise errors.Unimplemented(f"{_full} is not implemented by this jacod yet")

            setattr(cls, method.name, unary)
    return cls
