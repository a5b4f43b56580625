"""The agent driving the docker runtime: a REAL single-node raft cluster in
process (``tests/agent/conftest.py``), a real engine (podman's Docker API) and
the node agent — apply → running, a new agent re-adopts, the engine stopped →
replicas reported with the reason, the engine back → recovered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from jacod.agent import Agent, Backoff
from jacod.cluster.cluster import Cluster
from jacod.runtime.docker import DockerRuntime
from jacod.state import ServiceSpec
from tests.agent.conftest import cluster  # noqa: F401 - the in-process raft cluster fixture
from tests.agent.helpers import NODE, deploy, replica, until, until_state
from tests.helpers.podman import IMAGE, Podman, missing, running_podman

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def podman() -> Iterator[Podman]:
    if (why := missing()) is not None:
        pytest.fail(why, pytrace=False)
    with running_podman() as pm:
        yield pm


class DockerAgents:
    """Agents on one node (each a fresh DockerRuntime: a jacod restart)."""

    def __init__(self, raft: Cluster, podman: Podman, state_dir: Path) -> None:
        self.cluster, self.podman, self.state_dir = raft, podman, state_dir
        self.running: dict[Agent, asyncio.Task[None]] = {}

    async def start(self) -> Agent:
        rt = DockerRuntime(self.podman.host, node=NODE, follow_poll_s=0.05)
        agent = Agent(
            self.cluster, rt, NODE, state_dir=self.state_dir, sync_interval_s=0.1,
            debounce_s=0.01, coalesce_s=0.02, report_interval_s=5.0, stop_grace_s=1.0,
            backoff=Backoff(initial_s=0.2, max_s=1.0, reset_after_s=60.0),
        )  # fmt: skip
        self.running[agent] = asyncio.create_task(agent.run())
        await asyncio.wait_for(agent.converged.wait(), 15)
        return agent

    async def stop(self, agent: Agent) -> None:
        task = self.running.pop(agent)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        await agent.runtime.aclose()  # type: ignore[attr-defined]

    async def close(self) -> None:
        for agent in list(self.running):
            await self.stop(agent)
        if self.podman.proc is not None and self.podman.proc.poll() is None:
            for name in self.podman.containers(f"label=jaco.node={NODE}"):
                self.podman.cli("rm", "--force", "--time", "0", name)


@pytest.fixture
async def agents(
    cluster: Cluster,  # noqa: F811 - the imported fixture
    podman: Podman,
    tmp_path: Path,
) -> AsyncIterator[DockerAgents]:
    a = DockerAgents(cluster, podman, tmp_path / "agent")
    try:
        yield a
    finally:
        await a.close()


def image_svc(script: str, name: str = "web", **kw: Any) -> ServiceSpec:
    return ServiceSpec(name=name, image=IMAGE, command=["sh", "-c", script], **kw)


async def test_apply_runs_containers_and_a_new_agent_adopts_them(
    cluster: Cluster,  # noqa: F811
    agents: DockerAgents,
    podman: Podman,
) -> None:
    agent = await agents.start()
    await deploy(cluster, image_svc("echo up; sleep 60", replicas=2))
    rids = ["shop/web/0", "shop/web/1"]
    first = {rid: await until_state(cluster, rid, "running") for rid in rids}
    assert len(podman.containers(f"label=jaco.node={NODE}")) == 2
    env = await agent.runtime.inspect("shop/web/0")
    assert env is not None and env.revision == 1
    await agents.stop(agent)

    agent = await agents.start()
    await until(lambda: len(agent.statuses()) == 2, what="both replicas adopted")
    for _ in range(3):
        await agent.converge()
    for rid in rids:
        r = await until_state(cluster, rid, "running")
        assert (r.started_at_ns, r.restarts) == (first[rid].started_at_ns, 0)
    assert len(podman.containers(f"label=jaco.node={NODE}")) == 2


async def test_engine_down_is_reported_then_recovered(
    cluster: Cluster,  # noqa: F811
    agents: DockerAgents,
    podman: Podman,
) -> None:
    await agents.start()
    await deploy(cluster, image_svc("sleep 60"))
    before = await until_state(cluster, "shop/web/0", "running")
    podman.stop_service()
    try:
        down = await until_state(cluster, "shop/web/0", "failed", timeout=15)
        assert f"docker engine at {podman.host} is unreachable" in down.last_error
    finally:
        podman.start_service()
    after = await until_state(cluster, "shop/web/0", "running", timeout=15)
    # The container ran on while the API was away: the same run, not a restart.
    assert after.started_at_ns == before.started_at_ns
    r = replica(cluster, "shop/web/0")
    assert r is not None and r.restarts == 0
