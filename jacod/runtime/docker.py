"""The ``docker`` runtime: each replica one container of a Docker-compatible engine.

Talks to the Docker Engine API (``aiodocker`` over ``docker_host``; podman's
``podman system service`` works too). The engine restarts nothing (restart
policy ``no``): the agent applies the service's policy and calls ``start``
again on the same container, so a replica's logs span its runs. Containers
carry labels (``docker_spec.py``), which is all re-adoption needs: a fresh
``DockerRuntime`` ``list()``\\s the containers of its node and the agent takes
them over; containers no replica owns any more are removed by the agent's
converge (it stops and removes what ``list()`` shows but raft does not want).

The engine may be down: every operation then raises :class:`RuntimeUnavailable`
naming the engine and why (logged once, and once when it is back). Nothing
here connects before the first operation, so jacod starts without an engine.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Literal

from jacod.errors import InvalidArgument
from jacod.runtime.base import (
    ContainerConflict,
    ContainerInfo,
    ContainerNotFound,
    InvalidSpec,
    Observe,
    ReplicaSpec,
    Runtime,
    StartFailed,
    no_observe,
)
from jacod.runtime.docker_engine import (
    DEFAULT_HOST,
    Engine,
    EngineError,
    ImagePullFailed,
    PullObserver,
    PullProgress,
)
from jacod.runtime.docker_follow import LogsMixin
from jacod.runtime.docker_spec import (
    REPLICA_ID,
    container_info,
    container_labels,
    container_name,
    create_body,
    is_ours,
    node_filter,
    stop_timeout,
)
from obs.logging import get_logger

log = get_logger("runtime")

__all__ = ["DEFAULT_HOST", "DockerRuntime", "EngineError", "ImagePullFailed", "PullProgress"]

PullPolicy = Literal["missing", "always", "never"]


class DockerRuntime(LogsMixin):
    name = "docker"

    def __init__(
        self,
        docker_host: str = DEFAULT_HOST,
        *,
        node: str,
        observe: Observe = no_observe,
        network: str = "host",
        pull_policy: PullPolicy = "missing",
        op_timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        follow_poll_s: float = 0.2,
        list_refresh_s: float = 10.0,
    ) -> None:
        self.engine = Engine(docker_host, op_timeout_s=op_timeout_s,
                             connect_timeout_s=connect_timeout_s)  # fmt: skip
        if pull_policy not in ("missing", "always", "never"):
            raise InvalidArgument(
                f"pull_policy: must be missing, always or never, got {pull_policy!r}"
            )
        self.docker_host, self.node, self.observe = docker_host, node, observe
        self.network, self.pull_policy = network, pull_policy
        self.follow_poll_s, self.list_refresh_s = follow_poll_s, list_refresh_s
        # Called with (replica id, progress) while an image is pulled (the agent shows `pulling`).
        self.pull_observers: list[PullObserver] = []
        self._locks: dict[str, asyncio.Lock] = {}
        self._start_errors: dict[str, tuple[str, str]] = {}  # replica -> (container id, why)
        self._known: dict[str, tuple[str, ContainerInfo, float]] = {}  # id -> (state, info, when)
        self._call = self.engine.call

    async def aclose(self) -> None:
        """Close the engine client (jacod calls this on shutdown)."""
        await self.engine.aclose()

    async def _inspect(self, ref: str, replica_id: str) -> dict[str, Any] | None:
        """The container's inspect, or None if it does not exist or is not this replica's."""
        try:
            data = await self._call("GET", f"containers/{ref}/json", replica_id)
        except ContainerNotFound:
            return None
        return data if isinstance(data, dict) and is_ours(data, self.node, replica_id) else None

    def _info(self, replica_id: str, data: dict[str, Any]) -> ContainerInfo:
        failed = self._start_errors.get(replica_id)
        why = failed[1] if failed is not None and failed[0] == data.get("Id") else ""
        info = container_info(data, start_error=why)
        state = str((data.get("State") or {}).get("Status", ""))
        self._known[str(data.get("Id"))] = (state, info, time.monotonic())
        return info

    def _name(self, replica_id: str) -> str:
        return container_name(self.node, replica_id)

    def _lock(self, replica_id: str) -> asyncio.Lock:
        return self._locks.setdefault(replica_id, asyncio.Lock())

    async def pull(self, spec: ReplicaSpec) -> None:
        rid, image = spec.replica_id, spec.image
        with self.observe("image_pull", rid):
            if not image:
                raise InvalidSpec(f"replica {rid}: the docker runtime needs an image")
            here = await self.engine.image_here(image, rid)
            if self.pull_policy == "never" or (here and self.pull_policy == "missing"):
                if not here:
                    raise ImagePullFailed(f"replica {rid}: image {image} is not on this node "
                                          "and the pull policy is never")  # fmt: skip
                return
            try:
                await self.engine.pull(rid, image, self.pull_observers)
            except ImagePullFailed as exc:
                if not here:
                    raise
                extra = {"replica_id": rid, "image": image, "reason": str(exc)}
                log.warning("image pull failed; using the copy on this node", extra=extra)

    # -- lifecycle -----------------------------------------------------------------

    async def create(self, spec: ReplicaSpec) -> ContainerInfo:
        rid = spec.replica_id
        with self.observe("container_create", rid):
            if not spec.image:
                raise InvalidSpec(f"replica {rid}: the docker runtime needs an image")
            name = self._name(rid)
            async with self._lock(rid):
                try:
                    old = await self._call("GET", f"containers/{name}/json", rid)
                except ContainerNotFound:
                    old = None
                if old is not None:
                    if not is_ours(old, self.node, rid):
                        why = f"a container named {name} exists and is not this replica's"
                        raise ContainerConflict(f"replica {rid}: {why}; remove it")
                    if container_info(old).status == "running":
                        why = "is running; stop it before re-creating"
                        raise ContainerConflict(f"replica {rid} {why}")
                    await self._call("DELETE", f"containers/{old['Id']}", rid,
                                     params={"force": "1", "v": "1"})  # fmt: skip
                self._start_errors.pop(rid, None)
                body = create_body(spec, self.node, self.network)
                try:
                    await self._call("POST", "containers/create", rid, params={"name": name},
                                     body=body)  # fmt: skip
                except ContainerNotFound:
                    why = f"image {spec.image} is not on this node"
                    raise ImagePullFailed(f"replica {rid}: {why}") from None
                data = await self._inspect(name, rid)
                if data is None:
                    raise ContainerNotFound(rid)
                log.debug("replica created", extra={"replica_id": rid, "revision": spec.revision,
                          "container": name})  # fmt: skip
                return self._info(rid, data)

    async def start(self, replica_id: str) -> ContainerInfo:
        rid = replica_id
        with self.observe("container_start", rid):
            async with self._lock(rid):
                data = await self._inspect(self._name(rid), rid)
                if data is None:
                    raise ContainerNotFound(rid)
                if container_info(data).status == "running":
                    return self._info(rid, data)  # never twice
                cid = str(data["Id"])
                try:
                    await self._call("POST", f"containers/{cid}/start", rid)
                except EngineError as exc:
                    why = str(exc).split("docker engine: ", 1)[-1]
                    self._start_errors[rid] = (cid, why)
                    log.warning("replica failed to start", extra={"replica_id": rid, "reason": why})
                    raise StartFailed(f"replica {rid}: {why}") from None
                self._start_errors.pop(rid, None)
                data = await self._inspect(cid, rid)
                if data is None:
                    raise ContainerNotFound(rid)
                info = self._info(rid, data)
                log.info("replica started", extra={"replica_id": rid, "pid": info.pid,
                         "revision": info.revision, "container": data.get("Name", "")})  # fmt: skip
                return info

    async def stop(self, replica_id: str, grace_s: float = 10) -> ContainerInfo:
        rid = replica_id
        with self.observe("container_stop", rid):
            async with self._lock(rid):
                data = await self._inspect(self._name(rid), rid)
                if data is None:
                    raise ContainerNotFound(rid)
                if container_info(data).status == "running":
                    t = stop_timeout(grace_s)
                    path, params = f"containers/{data['Id']}/stop", {"t": str(t)}
                    await self._call("POST", path, rid, params=params,
                                     timeout_s=t + self.engine.op_timeout_s)  # fmt: skip
                    data = await self._inspect(str(data["Id"]), rid)
                    if data is None:
                        raise ContainerNotFound(rid)
                info = self._info(rid, data)
                log.info("replica stopped", extra={"replica_id": rid, "exit_code": info.exit_code})
                return info

    async def remove(self, replica_id: str) -> None:
        """Forget the replica: its container is killed if it still runs (``stop`` first)."""
        rid = replica_id
        with self.observe("container_remove", rid):
            async with self._lock(rid):
                data = await self._inspect(self._name(rid), rid)
                if data is None:
                    raise ContainerNotFound(rid)
                await self._call("DELETE", f"containers/{data['Id']}", rid,
                                 params={"force": "1", "v": "1"})  # fmt: skip
                self._known.pop(str(data["Id"]), None)
                self._start_errors.pop(rid, None)
                log.info("replica removed", extra={"replica_id": rid})
            self._locks.pop(rid, None)

    async def inspect(self, replica_id: str) -> ContainerInfo | None:
        with self.observe("container_inspect", replica_id):
            data = await self._inspect(self._name(replica_id), replica_id)
            return None if data is None else self._info(replica_id, data)

    async def _summaries(self) -> builtins.list[dict[str, Any]]:
        params = {"all": "1", "filters": json.dumps(node_filter(self.node))}
        found = await self._call("GET", "containers/json", "", params=params)
        return [s for s in found or [] if is_ours(s, self.node)]

    async def list(self) -> builtins.list[ContainerInfo]:
        """This node's replicas (what re-adoption starts from). Containers are
        inspected again only when their state changed or ``list_refresh_s`` passed."""
        with self.observe("container_list", ""):
            now, infos, ids = time.monotonic(), [], set()
            for s in await self._summaries():
                rid = container_labels(s).get(REPLICA_ID, "")
                if not rid or "/" + self._name(rid) not in (s.get("Names") or []):
                    continue  # not under its replica's name: an orphan (see orphans())
                cid = str(s.get("Id"))
                ids.add(cid)
                known = self._known.get(cid)
                if known and known[0] == s.get("State") and now - known[2] < self.list_refresh_s:
                    infos.append(known[1])
                elif (data := await self._inspect(cid, rid)) is not None:
                    infos.append(self._info(rid, data))
            for cid in self._known.keys() - ids:
                del self._known[cid]
            return sorted(infos, key=lambda i: i.replica_id)

    async def orphans(self, keep: Collection[str] | None = None) -> builtins.list[str]:
        """Names of this node's JACO containers that no replica owns: ones not
        under their replica's name and, given ``keep`` (the replica ids this
        node should run), those of replicas not in it."""
        with self.observe("container_list", ""):
            out = []
            for s in await self._summaries():
                rid = container_labels(s).get(REPLICA_ID, "")
                names = [n.lstrip("/") for n in s.get("Names") or []]
                canonical = bool(rid) and self._name(rid) in names
                if not canonical or (keep is not None and rid not in keep):
                    out.extend(names[:1] or [str(s.get("Id"))])
            return sorted(out)

    async def remove_orphans(self, keep: Collection[str] | None = None) -> builtins.list[str]:
        removed = []
        for name in await self.orphans(keep):
            with self.observe("container_remove", ""), contextlib.suppress(ContainerNotFound):
                await self._call("DELETE", f"containers/{name}", "", params={"force": "1"})
                removed.append(name)
                log.info("orphan container removed", extra={"container": name})
        return removed

    async def wait(self, replica_id: str) -> int:
        """The exit code once the replica has exited; -1 if the engine does not know it."""
        with self.observe("container_wait", replica_id):
            while True:
                data = await self._inspect(self._name(replica_id), replica_id)
                if data is None:
                    raise ContainerNotFound(replica_id)
                info = self._info(replica_id, data)
                if info.status == "exited":
                    return -1 if info.exit_code is None else info.exit_code
                if info.status == "running":
                    await self._call("POST", f"containers/{data['Id']}/wait", replica_id,
                                     params={"condition": "not-running"}, forever=True)  # fmt: skip
                else:
                    await asyncio.sleep(self.follow_poll_s)


if TYPE_CHECKING:

    def _conforms(rt: DockerRuntime) -> Runtime:  # mypy checks the protocol here
        return rt
