"""One Docker-compatible engine as the docker runtime sees it: a client opened
on first use (jacod starts without an engine), every engine or transport
error turned into a runtime error, and image pulls with progress.

Unreachable (no socket, refused, dropped, no answer within ``op_timeout_s``)
→ :class:`RuntimeUnavailable` ``docker engine at <host> is unreachable: <why>``,
logged once when it happens and once when the engine answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError

from jacod.errors import FailedPrecondition, InvalidArgument
from jacod.runtime.base import (
    ContainerConflict,
    ContainerNotFound,
    RuntimeErrorBase,
    RuntimeUnavailable,
    StartFailed,
)
from obs.logging import get_logger

log = get_logger("runtime")

DEFAULT_HOST = "unix:///var/run/docker.sock"


class ImagePullFailed(StartFailed):
    """The image could not be pulled and is not on this node."""


class EngineError(RuntimeErrorBase, FailedPrecondition):
    """The engine refused an operation; the message is the engine's."""


@dataclass(frozen=True)
class PullProgress:
    image: str
    status: str  # the engine's latest status line ("Downloading", "Pull complete", …)
    current_bytes: int
    total_bytes: int
    layers_done: int
    layers: int


PullObserver = Callable[[str, PullProgress], None]


class _Progress:
    def __init__(self, image: str) -> None:
        self.image, self.status = image, ""
        self.layers: dict[str, tuple[int, int, bool]] = {}

    def update(self, event: dict[str, Any]) -> PullProgress:
        self.status = str(event.get("status") or self.status)
        layer = str(event.get("id") or "")
        detail = event.get("progressDetail") or {}
        if layer and (detail or "complete" in self.status.lower()):
            cur, total, _ = self.layers.get(layer, (0, 0, False))
            done = "complete" in self.status.lower() or "exists" in self.status.lower()
            self.layers[layer] = (int(detail.get("current", cur) or 0),
                                  int(detail.get("total", total) or 0), done)  # fmt: skip
        vals = self.layers.values()
        return PullProgress(
            image=self.image, status=self.status, current_bytes=sum(v[0] for v in vals),
            total_bytes=sum(v[1] for v in vals), layers_done=sum(1 for v in vals if v[2]),
            layers=len(self.layers),
        )  # fmt: skip


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError) and exc.os_error.strerror:
        text = exc.os_error.strerror.lower()
        if "no such file" in text:
            return f"{text} (is the engine running?)"
        return text
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the engine closed the connection"
    if isinstance(exc, DockerError):
        return _reason(exc.__context__) if exc.__context__ is not None else exc.message
    text = str(exc) if exc is not None else ""
    return text or type(exc).__name__


class Engine:
    def __init__(
        self, docker_host: str = DEFAULT_HOST, *, op_timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
    ) -> None:  # fmt: skip
        if not docker_host.startswith(("unix://", "tcp://", "http://", "https://")):
            raise InvalidArgument(
                f"docker_host: expected unix:///path or tcp://host:port, got {docker_host!r}"
            )
        self.docker_host = docker_host
        self.op_timeout_s, self.connect_timeout_s = op_timeout_s, connect_timeout_s
        self._docker: aiodocker.Docker | None = None
        self._down: str | None = None  # why the engine is unreachable, while it is

    def client(self) -> aiodocker.Docker:
        if self._docker is None:
            timeout = aiohttp.ClientTimeout(
                total=None, connect=self.connect_timeout_s, sock_connect=self.connect_timeout_s
            )
            self._docker = aiodocker.Docker(url=self.docker_host, timeout=timeout)
        return self._docker

    async def aclose(self) -> None:
        if self._docker is not None:
            docker, self._docker = self._docker, None
            await docker.close()

    def _unavailable(self, exc: BaseException) -> RuntimeUnavailable:
        reason = _reason(exc)
        if self._down is None:
            log.warning("docker engine unreachable; replicas are reported with this reason",
                        extra={"docker_host": self.docker_host, "reason": reason})  # fmt: skip
        self._down = reason
        return RuntimeUnavailable(f"docker engine at {self.docker_host} is unreachable: {reason}")

    def _up(self) -> None:
        if self._down is not None:
            log.info("docker engine reachable again", extra={"docker_host": self.docker_host})
            self._down = None

    @contextlib.contextmanager
    def translate(self, replica_id: str) -> Iterator[None]:
        """Engine and transport errors → runtime errors (404 → ContainerNotFound)."""
        try:
            yield
        except DockerError as exc:
            if exc.status == 900:
                raise self._unavailable(exc) from None
            self._up()
            if exc.status == 404:
                raise ContainerNotFound(replica_id) from None
            if exc.status == 409:
                raise ContainerConflict(f"replica {replica_id}: {exc.message}") from None
            raise EngineError(f"replica {replica_id}: docker engine: {exc.message}") from None
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise self._unavailable(exc) from None
        except TimeoutError:
            msg = f"did not answer within {self.op_timeout_s:g}s"
            raise self._unavailable(TimeoutError(msg)) from None
        self._up()

    async def call(
        self, method: str, path: str, replica_id: str, *, params: dict[str, str] | None = None,
        body: Any = None, timeout_s: float | None = None, forever: bool = False,
    ) -> Any:  # fmt: skip
        """One request; the decoded JSON answer (None when there is none)."""
        with self.translate(replica_id):
            async with asyncio.timeout(None if forever else timeout_s or self.op_timeout_s):
                data = None if body is None else json.dumps(body)
                async with self.client()._query(path, method, params=params, data=data) as resp:
                    if "json" in resp.headers.get("content-type", ""):
                        return await resp.json()
                    await resp.read()
                    return None

    @contextlib.asynccontextmanager
    async def stream(
        self, path: str, params: dict[str, str], replica_id: str
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A streamed GET (logs): opening is bounded by ``op_timeout_s``, reading is not."""
        async with contextlib.AsyncExitStack() as stack:
            with self.translate(replica_id):
                async with asyncio.timeout(self.op_timeout_s):
                    resp = await stack.enter_async_context(
                        self.client()._query(path, params=params)
                    )
            yield resp

    async def read(self, resp: aiohttp.ClientResponse, replica_id: str) -> bytes:
        with self.translate(replica_id):
            return await resp.content.readany()

    async def image_here(self, image: str, replica_id: str) -> bool:
        try:
            await self.call("GET", f"images/{image}/json", replica_id)
        except ContainerNotFound:
            return False
        return True

    async def pull(self, rid: str, image: str, observers: Sequence[PullObserver] = ()) -> None:
        """Pull ``image``; :class:`ImagePullFailed` with the engine's reason if it cannot."""
        progress, last_note = _Progress(image), 0.0
        t0 = time.monotonic()
        try:
            with self.translate(rid):
                async for event in self.client().images.pull(image, stream=True):
                    now = time.monotonic()
                    current = progress.update(event)
                    if observers and now - last_note >= 0.5:
                        last_note = now
                        for observe in observers:
                            observe(rid, current)
        except (EngineError, ContainerNotFound) as exc:
            raise ImagePullFailed(f"replica {rid}: cannot pull image {image}: {exc}") from None
        seconds = round(time.monotonic() - t0, 3)
        extra = {"replica_id": rid, "image": image, "layers": len(progress.layers)}
        log.info("image pulled", extra={**extra, "seconds": seconds})
