"""Reading a container's logs for the ``docker`` runtime: windows per run,
the engine's stream, and following across restarts until removal.

A mixin of :class:`jacod.runtime.docker.DockerRuntime` (kept apart so each
module holds one idea); it needs the runtime's engine, inspect and naming.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from jacod.runtime.base import (
    ContainerNotFound,
    LinesFromBatches,
    LogEntry,
    Observe,
    RuntimeErrorBase,
    RuntimeUnavailable,
)
from jacod.runtime.docker_engine import Engine, EngineError
from jacod.runtime.docker_logs import SECOND, Decoder, Window
from jacod.runtime.docker_spec import container_info, parse_time

# A run's first lines may be stamped a little before the engine's StartedAt;
# the agent's restart backoff (>= 1 s) keeps the previous run's lines further away.
RUN_SLACK_NS = 250_000_000
ENGINE_RETRY_S = 1.0


class LogsMixin(LinesFromBatches):
    engine: Engine
    observe: Observe
    follow_poll_s: float

    async def _inspect(self, ref: str, replica_id: str) -> dict[str, Any] | None:
        raise NotImplementedError  # DockerRuntime's

    def _name(self, replica_id: str) -> str:
        raise NotImplementedError  # DockerRuntime's

    def _window(self, data: dict[str, Any], since_ns: int, follow: bool, previous: bool) -> Window:
        """Runs are told apart by the engine's StartedAt (a container keeps one log)."""
        started, _ = parse_time(str((data.get("State") or {}).get("StartedAt", "")))
        boundary = max(started - RUN_SLACK_NS, 1) if started else 0
        after = max(since_ns - 1, 0)
        if previous:
            return Window(lo=0, hi=boundary or 1, after=after)
        if follow and since_ns:
            return Window(lo=0, after=after)  # resuming: whatever came after, in any run
        return Window(lo=boundary, after=after)

    async def _stream(
        self, rid: str, data: dict[str, Any], window: Window, follow: bool
    ) -> AsyncGenerator[builtins.list[LogEntry], None]:
        params = {"stdout": "1", "stderr": "1", "timestamps": "1"}
        if follow:
            params["follow"] = "1"
        if since := window.since_param():
            params["since"] = str(since)
        if window.hi:
            params["until"] = str(window.hi // SECOND + 1)
        raw = bool((data.get("Config") or {}).get("Tty"))
        decoder = Decoder(rid, window, raw=raw)
        async with self.engine.stream(f"containers/{data['Id']}/logs", params, rid) as resp:
            while True:
                chunk = await self.engine.read(resp, rid)
                if not chunk:
                    break
                if entries := decoder.feed(chunk):
                    yield entries
        if entries := decoder.finish():
            yield entries

    async def log_batches(
        self,
        replica_id: str,
        *,
        since_ns: int = 0,
        tail: int = 0,
        follow: bool = False,
        previous: bool = False,
    ) -> AsyncIterator[builtins.list[LogEntry]]:
        """The current run's lines (``previous``: the earlier runs'), ``follow``
        continuing across restarts of the container until it is removed."""
        rid = replica_id
        follow = follow and not previous
        with self.observe("container_logs", rid):  # only the opening: a follow may last days
            data = await self._opening(rid, wait=follow)
        window = self._window(data, since_ns, follow, previous)
        if previous and window.hi <= 1:
            return  # never started: no earlier run
        if tail > 0:
            backlog: deque[LogEntry] = deque(maxlen=tail)
            async with contextlib.aclosing(self._stream(rid, data, window, False)) as batches:
                async for batch in batches:
                    backlog.extend(batch)
            if backlog:
                yield list(backlog)
            if not follow:
                return
        elif not follow:
            async with contextlib.aclosing(self._stream(rid, data, window, False)) as batches:
                async for batch in batches:
                    yield batch
            return
        async with contextlib.aclosing(self._follow(rid, data, window)) as batches:
            async for batch in batches:
                yield batch

    async def _opening(self, rid: str, *, wait: bool) -> dict[str, Any]:
        """The container to read; following, an engine away is waited for (not an end)."""
        while True:
            try:
                data = await self._inspect(self._name(rid), rid)
            except (RuntimeUnavailable, EngineError):
                if not wait:
                    raise
                await asyncio.sleep(ENGINE_RETRY_S)
                continue
            if data is None:
                raise ContainerNotFound(rid)
            return data

    async def _still_there(self, rid: str, cid: str) -> dict[str, Any] | None:
        """The container now, None once it is removed (or re-created: a new follow).
        Asked twice before concluding: an engine coming back may not know it at once."""
        for attempt in range(2):
            try:
                fresh = await self._opening(rid, wait=True)
            except ContainerNotFound:
                fresh = None
            if fresh is not None and fresh.get("Id") == cid:
                return fresh
            if attempt == 0:
                await asyncio.sleep(self.follow_poll_s)
        return None

    async def _follow(
        self, rid: str, data: dict[str, Any], window: Window
    ) -> AsyncGenerator[builtins.list[LogEntry], None]:
        cid = str(data["Id"])
        started = (data.get("State") or {}).get("StartedAt")
        while True:
            try:
                async with contextlib.aclosing(self._stream(rid, data, window, True)) as batches:
                    async for batch in batches:
                        yield batch
            except RuntimeErrorBase:
                pass  # removed, or the engine went away: told apart below
            # The stream ended: the run ended, the container was removed or the
            # engine went away. Until it runs again (the agent restarts it) or is gone.
            while True:
                await asyncio.sleep(self.follow_poll_s)
                fresh = await self._still_there(rid, cid)
                if fresh is None:
                    return
                state = fresh.get("State") or {}
                if state.get("StartedAt") != started or container_info(fresh).status == "running":
                    started, data = state.get("StartedAt"), fresh
                    break
