"""Helpers for agent tests: a real single-node raft cluster, specs, raft reads, /proc."""

from __future__ import annotations

import asyncio
import copy
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jacod.cluster.bus import Applied
from jacod.cluster.cluster import Cluster
from jacod.runtime import ProcessRuntime
from jacod.runtime.layout import replica_key
from jacod.scheduler import deletion
from jacod.scheduler.reconcile import Scheduler
from jacod.state import (
    ApplyDeployment,
    DeleteDeployment,
    HealthCheck,
    NodeStatusUpdate,
    Replica,
    ReplicaStatus,
    ServiceSpec,
)
from tests.runtime.helpers import shims_for

NODE = "n1"
DEP = "shop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def svc(command: list[str] | str, name: str = "web", **kw: Any) -> ServiceSpec:
    if isinstance(command, str):
        command = ["sh", "-c", command]
    return ServiceSpec(name=name, command=command, **kw)


def http_server(**kw: Any) -> ServiceSpec:
    kw.setdefault("ports", [8000])
    return svc("exec python3 -m http.server --bind 127.0.0.1 $PORT", **kw)


def check(kind: str, **kw: Any) -> HealthCheck:
    kw.setdefault("interval_s", 0.1)
    kw.setdefault("timeout_s", 1.0)
    kw.setdefault("retries", 2)
    return HealthCheck(kind=kind, **kw)


def envelope() -> dict[str, Any]:
    return {"ts_ns": time.time_ns(), "identity": "test", "node": NODE}


async def deploy(cluster: Cluster, *services: ServiceSpec, name: str = DEP) -> None:
    """Apply a revision and commit its placement (what the leader's scheduler does)."""
    await cluster.propose(ApplyDeployment(**envelope(), name=name, services=list(services)))
    await Scheduler(cluster).reconcile(name)


async def reconcile(cluster: Cluster, name: str = DEP) -> None:
    """Another scheduler pass: a rolling update moves one running replica at a time."""
    await Scheduler(cluster).reconcile(name)


async def delete(cluster: Cluster, name: str = DEP) -> None:
    """`jaco delete` and the leader's next pass: the tombstone, then every replica
    asked to stop (the agent then stops, removes and reports each one)."""
    await cluster.propose(DeleteDeployment(**envelope(), name=name))
    await Scheduler(cluster).delete(name)


async def purge(cluster: Cluster, name: str = DEP, timeout: float = 10.0) -> None:
    """The leader's pass once the node reported every replica stopped: the
    deployment is dropped (what `jaco delete --wait` waits for)."""
    await until(
        lambda: cluster.read(lambda s: deletion.holding(s, name, time.time_ns())) == [],
        timeout, f"every replica of {name} reported stopped",
    )  # fmt: skip
    assert await Scheduler(cluster).delete(name)
    assert cluster.read(lambda s: name not in s.deployments)


def replica(cluster: Cluster, rid: str) -> Replica | None:
    return cluster.read(lambda s: copy.copy(s.replicas.get(rid)))


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := predicate()):
        if loop.time() > deadline:
            raise AssertionError(f"condition not met in time: {what or predicate}")
        await asyncio.sleep(0.02)
    return value


async def until_state(
    cluster: Cluster, rid: str, *states: str, timeout: float = 10.0, **fields: Any
) -> Replica:
    def ok() -> Replica | None:
        r = replica(cluster, rid)
        if r is None or r.state not in states:
            return None
        return r if all(getattr(r, k) == v for k, v in fields.items()) else None

    try:
        return await until(ok, timeout)
    except AssertionError:
        raise AssertionError(f"{rid} not {states} {fields}: {replica(cluster, rid)}") from None


class Reports:
    """Every replica status this node proposed, as committed (from the bus)."""

    def __init__(self, cluster: Cluster) -> None:
        self.sub = cluster.bus.subscribe()
        self.seen: list[ReplicaStatus] = []

    def drain(self) -> list[ReplicaStatus]:
        while not self.sub.queue.empty():
            event = self.sub.queue.get_nowait()
            if isinstance(event, Applied) and isinstance(event.command, NodeStatusUpdate):
                self.seen.extend(event.command.replicas)
        return self.seen

    def of(self, rid: str) -> list[ReplicaStatus]:
        return [s for s in self.drain() if s.id == rid]


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def shims(rt: ProcessRuntime, rid: str) -> list[int]:
    return shims_for(rt.replicas / replica_key(rid))


def alive(pid: int | None) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, TypeError):
        return False
