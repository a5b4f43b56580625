"""A new Agent on the same state dirs (a jacod restart) adopts, never duplicates;
host ports stay the same for a replica's life."""

from __future__ import annotations

import os
import signal

from jacod.cluster.cluster import Cluster

from .conftest import Agents
from .helpers import (
    Reports,
    check,
    deploy,
    environ,
    http_server,
    reconcile,
    shims,
    svc,
    until,
    until_state,
)


async def test_new_agent_readopts_without_duplicates(cluster: Cluster, agents: Agents) -> None:
    agent = await agents.start()
    await deploy(
        cluster,
        svc(["sleep", "30"], replicas=2),
        http_server(name="api", health=check("http", port=8000, path="/")),
    )
    rids = ["shop/web/0", "shop/web/1", "shop/api/0"]
    for rid in rids:
        await until_state(cluster, rid, "running")
    before = {i.replica_id: i for i in await agent.runtime.list()}
    await agents.stop(agent)

    reports = Reports(cluster)
    agent = await agents.start()
    await until(lambda: len(agent.statuses()) == 3)
    for _ in range(3):  # several converge passes, each free to (wrongly) start duplicates
        await agent.converge()
    after = {i.replica_id: i for i in await agent.runtime.list()}
    assert sorted(after) == sorted(rids)
    for rid in rids:
        assert (after[rid].pid, after[rid].started_at_ns) == (
            before[rid].pid,
            before[rid].started_at_ns,
        )
        assert len(shims(agent.runtime, rid)) == 1  # type: ignore[arg-type]
        r = await until_state(cluster, rid, "running")
        assert r.restarts == 0 and r.started_at_ns == before[rid].started_at_ns
    # Adopted replicas do not flap (an adopted healthy one stays running, not starting).
    assert agent.status("shop/api/0").state == "running"  # type: ignore[union-attr]
    assert {str(s.state) for s in reports.drain()} <= {"running"}


async def test_host_ports_are_stable(cluster: Cluster, agents: Agents) -> None:
    agent = await agents.start()
    await deploy(cluster, svc(["sleep", "30"], replicas=2, ports=[8000, 9000]))
    await until_state(cluster, "shop/web/0", "running")
    await until_state(cluster, "shop/web/1", "running")
    ports = {rid: agent.ports(rid) for rid in ("shop/web/0", "shop/web/1")}
    assert sorted(ports["shop/web/0"]) == [8000, 9000]
    every = [p for m in ports.values() for p in m.values()]
    assert len(set(every)) == 4  # two replicas of one service on one machine: no clash

    def env_of(rid: str, infos: list) -> dict[str, str]:  # type: ignore[type-arg]
        pid = next(i.pid for i in infos if i.replica_id == rid)
        return environ(pid)

    infos = await agent.runtime.list()
    env = env_of("shop/web/0", infos)
    assert env["PORT"] == env["JACO_PORT_8000"] == str(ports["shop/web/0"][8000])
    assert env["JACO_PORT_9000"] == str(ports["shop/web/0"][9000])

    os.kill(
        env_pid := next(i.pid for i in infos if i.replica_id == "shop/web/0") or 0, signal.SIGKILL
    )
    await until_state(cluster, "shop/web/0", "running", restarts=1)
    infos = await agent.runtime.list()
    assert next(i.pid for i in infos if i.replica_id == "shop/web/0") != env_pid
    assert env_of("shop/web/0", infos)["PORT"] == env["PORT"]  # across a restart

    await agents.stop(agent)
    agent = await agents.start()  # across a jacod restart
    assert {rid: agent.ports(rid) for rid in ports} == ports

    # Across a new revision too (the process gets a new env, same host ports).
    await deploy(cluster, svc(["sleep", "31"], replicas=2, ports=[8000, 9000]))
    await until_state(cluster, "shop/web/0", "running", revision=2)
    await reconcile(cluster)
    await until_state(cluster, "shop/web/1", "running", revision=2)
    infos = await agent.runtime.list()
    assert env_of("shop/web/0", infos)["PORT"] == env["PORT"]
    assert {rid: agent.ports(rid) for rid in ports} == ports
