"""The ingress on a thread and event loop of its own (uvloop when installed).

Proxied traffic is the one load on a node that outsiders control: on its own
loop, a burst of requests never delays the gRPC API, raft proposals or the
agent on the main loop (they still share the interpreter, so CPU is shared).
uvloop roughly halves the proxy's cost per request; plain asyncio is the
fallback.

The only thing crossing threads is ``snapshot()`` (the discovery registry),
which returns immutable snapshots and reads the state under its lock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable

from jacod.discovery import Snapshot
from jacod.ingress.proxy import Ingress, IngressConfig
from obs.logging import get_logger

log = get_logger("ingress")


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; kept optional
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class IngressThread:
    def __init__(self, snapshot: Callable[[], Snapshot], config: IngressConfig) -> None:
        self.ingress = Ingress(snapshot, config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.ingress.port

    async def start(self) -> None:
        """Listening when this returns; the bind's OSError is raised here."""
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="ingress", daemon=True
        )
        self._thread.start()
        await asyncio.wrap_future(started)

    def _run(self, started: concurrent.futures.Future[None]) -> None:
        loop = self._loop = new_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.ingress.start())
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            started.set_exception(exc)
            loop.close()
            return
        started.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.ingress.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join, 30)
        if thread.is_alive():
            log.warning("ingress thread did not stop in 30s")
