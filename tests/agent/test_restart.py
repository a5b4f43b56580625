"""Restart policies, backoff, and restart counts."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from jacod.cluster.cluster import Cluster

from .conftest import Agents
from .helpers import Reports, deploy, svc, until, until_state

RID = "shop/web/0"


async def test_kill_9_restarts_with_backoff(cluster: Cluster, agents: Agents) -> None:
    reports = Reports(cluster)
    agent = await agents.start()
    await deploy(cluster, svc(["sleep", "30"]))
    first = await until_state(cluster, RID, "running")
    (info,) = await agent.runtime.list()
    os.kill(info.pid or 0, signal.SIGKILL)

    r = await until_state(cluster, RID, "running", restarts=1)
    assert r.last_error == "killed by SIGKILL" and r.exit_code == 137
    assert r.started_at_ns > first.started_at_ns
    (again,) = await agent.runtime.list()
    assert again.pid != info.pid and again.status == "running"
    waiting = [s for s in reports.of(RID) if s.state == "failed"]
    assert waiting and waiting[0].last_error == "killed by SIGKILL; restarting in 0.2s"
    assert waiting[0].restarts == 0  # counted when it restarts, not when it dies

    os.kill(again.pid or 0, signal.SIGKILL)
    await until_state(cluster, RID, "running", restarts=2)
    assert agent.store.get(RID).restarts == 2


async def test_crash_loop_backs_off_exponentially(cluster: Cluster, agents: Agents) -> None:
    reports = Reports(cluster)
    await agents.start()
    await deploy(cluster, svc("exit 3", restart="on-failure"))
    await until_state(cluster, RID, "failed", timeout=10, restarts=3)
    errors = []
    for s in reports.of(RID):
        if s.state == "failed" and s.last_error not in errors:
            errors.append(s.last_error)
    assert errors[:4] == [
        f"exited with code 3; restarting in {d}s" for d in ("0.2", "0.4", "0.8", "1")
    ]
    r = await until_state(cluster, RID, "failed", exit_code=3)
    assert r.revision == 1


@pytest.mark.parametrize(
    ("policy", "script", "state", "code", "error"),
    [
        ("never", "exit 3", "failed", 3, "exited with code 3"),
        ("never", "exit 0", "exited", 0, ""),
        ("on-failure", "exit 0", "exited", 0, ""),
        ("never", "kill -9 $$", "failed", 137, "killed by SIGKILL"),
    ],
)
async def test_policy_leaves_the_replica_exited(
    cluster: Cluster, agents: Agents, policy: str, script: str, state: str, code: int, error: str
) -> None:
    agent = await agents.start()
    await deploy(cluster, svc(script, restart=policy))
    r = await until_state(cluster, RID, state)
    assert (r.exit_code, r.last_error, r.restarts) == (code, error, 0)
    await asyncio.sleep(0.5)  # longer than the backoff: nothing restarts it
    (info,) = await agent.runtime.list()
    assert info.status == "exited"
    r = await until_state(cluster, RID, state)
    assert r.restarts == 0


async def test_command_not_found_is_reported_failed(cluster: Cluster, agents: Agents) -> None:
    await agents.start()
    await deploy(cluster, svc(["/nonexistent/jaco-test"], restart="always"))
    r = await until_state(cluster, RID, "failed", restarts=1)
    assert r.last_error.startswith("exec failed: command not found: /nonexistent/jaco-test")
    assert r.exit_code == 127


async def test_restarts_survive_an_agent_restart(cluster: Cluster, agents: Agents) -> None:
    agent = await agents.start()
    await deploy(cluster, svc(["sleep", "30"]))
    await until_state(cluster, RID, "running")
    (info,) = await agent.runtime.list()
    os.kill(info.pid or 0, signal.SIGKILL)
    await until_state(cluster, RID, "running", restarts=1)
    await agents.stop(agent)

    agent = await agents.start()
    (info,) = await agent.runtime.list()
    await until(lambda: agent.status(RID) is not None)
    assert agent.status(RID).restarts == 1  # type: ignore[union-attr]
    os.kill(info.pid or 0, signal.SIGKILL)
    await until_state(cluster, RID, "running", restarts=2)
