"""Agent tests: a REAL single-node raft cluster in-process, real ProcessRuntimes
in tmp dirs, short intervals and backoffs; every process is killed at teardown."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jacod.agent import Agent, Backoff
from jacod.cluster import raft
from jacod.cluster.cluster import Cluster
from jacod.runtime import ProcessRuntime
from jacod.state import Bootstrap
from tests.runtime.helpers import kill_everything

from .helpers import NODE, free_port

SECRET = "00" * 32
FAST = raft.RaftTimings(raft_min_timeout=0.1, raft_max_timeout=0.2)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    addr = f"127.0.0.1:{free_port()}"
    raft_dir = tmp_path / "raft"
    raft_dir.mkdir()
    c = Cluster(NODE, addr, SECRET)
    c.start_raft(lambda fsm: raft.start(fsm, addr, [], SECRET, raft_dir, FAST))
    try:
        await c.wait_for_leader(10)
        await c.propose(
            Bootstrap(
                ts_ns=time.time_ns(),
                identity="system",
                node=NODE,
                cluster_id="test",
                node_name=NODE,
                address="",
                raft_address=addr,
            )
        )
        yield c
    finally:
        await c.stop()


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "runtime"
    yield d
    kill_everything(d)


class Agents:
    """Start agents (each one a fresh ProcessRuntime on the same dirs, like a jacod
    restart) and stop them; whatever is left is cancelled at teardown."""

    def __init__(self, cluster: Cluster, runtime_dir: Path, state_dir: Path) -> None:
        self.cluster, self.runtime_dir, self.state_dir = cluster, runtime_dir, state_dir
        self.running: dict[Agent, asyncio.Task[None]] = {}

    async def start(self, **kw: Any) -> Agent:
        kw.setdefault("sync_interval_s", 0.1)
        kw.setdefault("debounce_s", 0.01)
        kw.setdefault("coalesce_s", 0.02)
        kw.setdefault("report_interval_s", 5.0)
        kw.setdefault("stop_grace_s", 1.0)
        kw.setdefault("backoff", Backoff(initial_s=0.2, max_s=1.0, reset_after_s=60.0))
        rt = ProcessRuntime(self.runtime_dir, cgroup_parent=None)
        agent = Agent(self.cluster, rt, NODE, state_dir=self.state_dir, **kw)
        self.running[agent] = asyncio.create_task(agent.run())
        await asyncio.wait_for(agent.converged.wait(), 10)
        return agent

    async def stop(self, agent: Agent) -> None:
        task = self.running.pop(agent)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=10)
        if not done:  # say where it is stuck instead of hanging the suite
            stacks = "\n".join(
                f"{t.get_name()}: {t.get_stack(limit=3)}" for t in asyncio.all_tasks()
            )
            raise AssertionError(f"the agent did not stop when cancelled:\n{stacks}")
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def close(self) -> None:
        for agent in list(self.running):
            await self.stop(agent)


@pytest.fixture
async def agents(cluster: Cluster, runtime_dir: Path, tmp_path: Path) -> AsyncIterator[Agents]:
    a = Agents(cluster, runtime_dir, tmp_path / "agent")
    try:
        yield a
    finally:
        await a.close()


@pytest.fixture
def start_agent(agents: Agents) -> Callable[..., Any]:
    return agents.start
