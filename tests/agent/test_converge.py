"""Converging a node: start, replace on a new revision, remove when unassigned."""

from __future__ import annotations

import logging

import pytest

from jacod.cluster.cluster import Cluster
from jacod.state import AssignReplicas, NodeJoin, ReplicaAssignment

from .conftest import Agents
from .helpers import (
    DEP,
    NODE,
    alive,
    check,
    delete,
    deploy,
    envelope,
    environ,
    purge,
    shims,
    svc,
    until,
    until_state,
)


async def test_replicas_start_and_are_reported_running(cluster: Cluster, agents: Agents) -> None:
    agent = await agents.start()
    await deploy(cluster, svc(["sleep", "30"], replicas=2, env={"GREETING": "hi"}))
    for i in range(2):
        r = await until_state(cluster, f"{DEP}/web/{i}", "running", revision=1)
        assert r.restarts == 0 and r.started_at_ns > 0 and r.last_error == ""
    infos = await agent.runtime.list()
    assert [(i.replica_id, i.status) for i in infos] == [
        ("shop/web/0", "running"),
        ("shop/web/1", "running"),
    ]
    env = environ(infos[1].pid or 0)
    assert env["GREETING"] == "hi"
    assert {k: env[k] for k in env if k.startswith("JACO_")} == {
        "JACO_DEPLOYMENT": DEP,
        "JACO_SERVICE": "web",
        "JACO_REPLICA_ID": "shop/web/1",
        "JACO_REPLICA_ORDINAL": "1",
        "JACO_NODE": NODE,
        "JACO_REVISION": "1",
    }
    assert "PORT" not in env  # no declared ports
    assert agent.status("shop/web/0").state == "running"  # type: ignore[union-attr]
    assert agent.state_counts() == {("web", "running"): 2}


async def test_start_observers_see_every_start(cluster: Cluster, agents: Agents) -> None:
    started: list[str] = []
    a = await agents.start()
    a.start_observers.append(started.append)
    await deploy(cluster, svc(["sleep", "30"], replicas=2))
    await until(lambda: len(started) == 2)
    assert started == ["web", "web"]


async def test_new_revision_replaces_the_replica(cluster: Cluster, agents: Agents) -> None:
    agent = await agents.start()
    await deploy(cluster, svc(["sleep", "30"], env={"V": "1"}))
    await until_state(cluster, "shop/web/0", "running", revision=1)
    (old,) = await agent.runtime.list()
    await deploy(cluster, svc(["sleep", "31"], env={"V": "2"}))
    await until_state(cluster, "shop/web/0", "running", revision=2)
    (new,) = await agent.runtime.list()
    assert new.revision == 2 and new.pid != old.pid
    assert not alive(old.pid)
    assert environ(new.pid or 0)["V"] == "2" and environ(new.pid or 0)["JACO_REVISION"] == "2"
    assert len(shims(agent.runtime, "shop/web/0")) == 1  # type: ignore[arg-type]
    r = await until_state(cluster, "shop/web/0", "running", revision=2)
    assert r.restarts == 0


async def test_scale_down_then_delete_removes_replicas(cluster: Cluster, agents: Agents) -> None:
    agent = await agents.start()
    await deploy(cluster, svc(["sleep", "30"], replicas=2, ports=[80]))
    await until_state(cluster, "shop/web/1", "running")
    await until_state(cluster, "shop/web/0", "running")
    pids = {i.replica_id: i.pid for i in await agent.runtime.list()}
    assert agent.ports("shop/web/1")

    await deploy(cluster, svc(["sleep", "30"], replicas=1, ports=[80]))

    async def ids() -> list[str]:
        return [i.replica_id for i in await agent.runtime.list()]

    await until_async(lambda: ids(), ["shop/web/0"])
    assert not alive(pids["shop/web/1"])
    await until(lambda: agent.ports("shop/web/1") == {})  # freed with the replica
    await until_state(cluster, "shop/web/0", "running", revision=2)  # a new revision: replaced
    (left,) = await agent.runtime.list()

    await delete(cluster)
    await until_async(lambda: ids(), [])
    assert not alive(left.pid)
    await purge(cluster)
    await until(lambda: agent.store.ids() == [] and agent.statuses() == [])


async def test_replica_moved_to_another_node_is_removed(cluster: Cluster, agents: Agents) -> None:
    agent = await agents.start()
    await deploy(cluster, svc(["sleep", "30"]))
    await until_state(cluster, "shop/web/0", "running")
    (info,) = await agent.runtime.list()
    await cluster.propose(NodeJoin(**envelope(), name="n2", address="", raft_address="x:1"))
    await cluster.propose(
        AssignReplicas(
            **envelope(),
            deployment=DEP,
            assignments=[ReplicaAssignment(service="web", ordinal=0, revision=1, node="n2")],
        )
    )
    await until_async(lambda: agent.runtime.list(), [])
    assert not alive(info.pid)
    await until(lambda: agent.statuses() == [])


async def test_replicas_deleted_while_the_agent_was_down_are_removed(
    cluster: Cluster, agents: Agents
) -> None:
    agent = await agents.start()
    await deploy(cluster, svc(["sleep", "30"], replicas=2))
    await until_state(cluster, "shop/web/1", "running")
    await until_state(cluster, "shop/web/0", "running")
    pids = [i.pid for i in await agent.runtime.list()]
    await agents.stop(agent)
    await delete(cluster)
    agent = await agents.start()
    await until_async(lambda: agent.runtime.list(), [])
    assert not any(alive(pid) for pid in pids)


async def until_async(fn, expected, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (got := await fn()) != expected:
        assert loop.time() < deadline, f"got {got}, expected {expected}"
        await asyncio.sleep(0.02)


async def test_env_values_are_never_logged(
    cluster: Cluster, agents: Agents, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "s3cr3t-value-never-logged"
    await agents.start()
    probe = check("exec", command=["sh", "-c", 'test "$TOKEN" = nope'], retries=1)
    await deploy(cluster, svc("exit 3", env={"TOKEN": secret}, health=probe))
    await until_state(cluster, "shop/web/0", "failed", timeout=10)
    await deploy(cluster, svc(["sleep", "30"], env={"TOKEN": secret}, health=probe))
    await until_state(cluster, "shop/web/0", "unhealthy", revision=2)
    assert caplog.records
    for record in caplog.records:
        assert secret not in repr(record.__dict__)
