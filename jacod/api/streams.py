"""Graceful stop that does not wait for long-lived streams.

Status watches and log/audit follows never end on their own, so
``server.stop(grace)`` alone would always wait out the whole grace period.
Unary calls are counted here instead: once none is in flight, the server is
stopped at once, which ends the streams (their clients reconnect — to this
node when it is back, or to another).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import grpc

_unary_in_flight = 0


@contextlib.contextmanager
def unary_call() -> Iterator[None]:
    global _unary_in_flight
    _unary_in_flight += 1
    try:
        yield
    finally:
        _unary_in_flight -= 1


async def stop(server: grpc.aio.Server, grace: float) -> None:
    """Refuse new calls, let unary calls finish (up to ``grace``), then end the rest."""
    stopping = asyncio.create_task(server.stop(grace))
    deadline = time.monotonic() + grace
    while _unary_in_flight and time.monotonic() < deadline and not stopping.done():
        await asyncio.sleep(0.02)
    # A smaller grace in a later call stops the server sooner (grpc's contract).
    await server.stop(None)
    await stopping
