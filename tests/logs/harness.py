"""A real single-node raft ``Cluster`` and a real ``ProcessRuntime`` in tmp dirs,
with the agent's part (create/start/stop/remove replicas) done by hand."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from jaco.logview import Line, from_batch
from jaco.v1 import control_pb2
from jaco.v1 import entities_pb2 as pb
from jacod.api.logs import LogService
from jacod.cluster import raft
from jacod.cluster.cluster import Cluster
from jacod.runtime import ProcessRuntime, ReplicaSpec
from jacod.state import (
    ApplyDeployment,
    AssignReplicas,
    Bootstrap,
    DeleteDeployment,
    NodeJoin,
    ReplicaAssignment,
    ServiceSpec,
)

SECRET = "00" * 32
NODE = "n1"

# Prints its argv[1] prefix and a counter, one line per `pause` seconds, forever.
TICKER = (
    "import sys, time\n"
    "name, pause = sys.argv[1], float(sys.argv[2])\n"
    "i = 0\n"
    "while True:\n"
    "    print(f'{name} {i}', flush=True)\n"
    "    i += 1\n"
    "    time.sleep(pause)\n"
)


# Prints `prefix + n` at wall-clock time t0 + n * step for each n given, then
# optionally a line on stderr: replicas started one after the other still interleave.
SCHEDULED = (
    "import sys, time\n"
    "prefix, t0, step, stderr = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]\n"
    "for n in sys.argv[5:]:\n"
    "    time.sleep(max(0.0, t0 + int(n) * step - time.time()))\n"
    "    print(prefix + n, flush=True)\n"
    "if stderr:\n"
    "    print(stderr, file=sys.stderr, flush=True)\n"
)


def free_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def envelope() -> dict[str, Any]:
    return {"ts_ns": time.time_ns(), "identity": "test", "node": NODE}


class Harness:
    def __init__(self, cluster: Cluster, runtime: ProcessRuntime) -> None:
        self.cluster, self.runtime = cluster, runtime

    def service(self, **kw: Any) -> LogService:
        kw.setdefault("window_s", 0.2)
        kw.setdefault("drain_s", 1.0)
        return LogService(self.cluster, self.runtime, **kw)

    async def deploy(self, name: str, services: dict[str, int],
                     nodes: dict[str, str] | None = None) -> None:  # fmt: skip
        specs = [ServiceSpec(name=svc, command=["true"], replicas=n) for svc, n in services.items()]
        await self.cluster.propose(ApplyDeployment(**envelope(), name=name, services=specs))
        await self.assign(name, services, 1, nodes)

    async def join(self, name: str, address: str) -> None:
        """Another member, as far as the state knows (its raft is never asked)."""
        await self.cluster.propose(NodeJoin(**envelope(), name=name, address=address,
                                            raft_address=f"{name}.invalid:1"))  # fmt: skip

    async def assign(self, name: str, services: dict[str, int], revision: int = 1,
                     nodes: dict[str, str] | None = None) -> None:  # fmt: skip
        """``nodes``: replica id -> node, for those not on this node."""
        where = nodes or {}
        assignments = [
            ReplicaAssignment(service=svc, ordinal=i, revision=revision,
                              node=where.get(f"{name}/{svc}/{i}", NODE))
            for svc, n in services.items() for i in range(n)
        ]  # fmt: skip
        await self.cluster.propose(
            AssignReplicas(**envelope(), deployment=name, assignments=assignments)
        )

    async def delete(self, name: str) -> None:
        await self.cluster.propose(DeleteDeployment(**envelope(), name=name))

    async def run(self, rid: str, command: list[str]) -> None:
        dep, svc, _ = rid.split("/")
        spec = ReplicaSpec(replica_id=rid, deployment=dep, service=svc, revision=1,
                           command=command)  # fmt: skip
        await self.runtime.create(spec)
        await self.runtime.start(rid)

    async def sh(self, rid: str, script: str) -> None:
        await self.run(rid, ["sh", "-c", script])

    async def scheduled(self, rid: str, prefix: str, t0: float, ns: list[int],
                        step: float = 0.1, stderr: str = "") -> None:  # fmt: skip
        await self.run(rid, [sys.executable, "-c", SCHEDULED, prefix, str(t0), str(step), stderr,
                             *map(str, ns)])  # fmt: skip

    async def ticker(self, rid: str, name: str, pause: float = 0.05) -> None:
        await self.run(rid, [sys.executable, "-c", TICKER, name, str(pause)])


async def start_cluster(tmp: Path) -> Cluster:
    address = free_address()
    cluster = Cluster(NODE, address, SECRET)
    (tmp / "raft").mkdir()
    cluster.start_raft(
        lambda fsm: raft.start(fsm, address, [], SECRET, tmp / "raft", raft.RaftTimings())
    )
    await cluster.wait_for_leader(10)
    await cluster.propose(Bootstrap(**envelope(), cluster_id="logs-test", node_name=NODE,
                                    address="", raft_address=address))  # fmt: skip
    return cluster


def request(target: str = "shop/web", **kw: Any) -> control_pb2.LogsRequest:
    dep, svc = target.split("/")
    since = kw.pop("since_ns", 0)
    req = control_pb2.LogsRequest(deployment=dep, service=svc, **kw)
    if since:
        req.since.FromNanoseconds(since)
    return req


def ts_ns(line: Line) -> int:
    return line.ts_ns


async def collect(stream: AsyncIterator[pb.LogBatch]) -> list[Line]:
    return [line async for batch in stream for line in from_batch(batch)]


class Follower:
    """Consumes a stream of batches in a task, collecting them and their lines."""

    def __init__(self, stream: AsyncIterator[pb.LogBatch]) -> None:
        self.lines: list[Line] = []
        self.batches: list[pb.LogBatch] = []
        self.task = asyncio.create_task(self._run(stream))

    async def _run(self, stream: AsyncIterator[pb.LogBatch]) -> None:
        async for batch in stream:
            self.batches.append(batch)
            self.lines.extend(from_batch(batch))

    def text(self, stream: str | None = "stdout") -> list[str]:
        return [ln.line for ln in self.lines if stream is None or ln.stream == stream]

    async def until(self, predicate: Callable[[list[Line]], bool], timeout: float = 8.0,
                    what: str = "condition") -> None:  # fmt: skip
        deadline = time.monotonic() + timeout
        while not predicate(self.lines):
            if self.task.done():
                self.task.result()
                raise AssertionError(f"stream ended before {what}: {self.text(None)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not met; got {self.text(None)}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
