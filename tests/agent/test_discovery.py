"""Discovery on a real raft node: the live registry follows the agent's
reports, and a replica's environment names its deployment's healthy peers."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from jacod.cluster.cluster import Cluster
from jacod.discovery import environment
from jacod.discovery.live import Registry

from .conftest import Agents
from .helpers import DEP, deploy, environ, http_server, reconcile, svc, until, until_state


async def test_registry_and_replica_env_follow_the_replicas(
    cluster: Cluster, agents: Agents, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry(cluster, "n1")
    watcher = asyncio.create_task(registry.run())
    agent = await agents.start(discovery=lambda dep: environment(registry.snapshot(), dep))
    try:
        with caplog.at_level(logging.INFO, logger="jaco.discovery"):
            web = http_server(replicas=2)
            await deploy(cluster, web)
            for rid in (f"{DEP}/web/0", f"{DEP}/web/1"):
                await until_state(cluster, rid, "running")
            eps = await until(lambda: len(registry.snapshot().lookup(DEP, "web")) == 2
                              and registry.snapshot().lookup(DEP, "web"))  # fmt: skip
            want = {f"127.0.0.1:{agent.ports(e.replica_id)[8000]}" for e in eps}
            assert {e.address(8000) for e in eps} == want
            await until(
                lambda: any(
                    r.getMessage() == "service endpoints changed" and r.__dict__["healthy"] == 2
                    for r in caplog.records
                )
            )

            # A new revision adds a client; web rolls one replica at a time, so
            # the client is created while some web replica is healthy.
            await deploy(cluster, web, svc("exec sleep 30", name="client"))
            client = await until_state(cluster, f"{DEP}/client/0", "running")
            info = await agent.runtime.inspect(client.id)
            assert info is not None and info.pid
            env = environ(info.pid)
            listed = [a for a in env["JACO_SERVICE_WEB_ADDRS"].split(",") if a]
            assert listed and set(listed) <= want, (listed, want)
            assert env["JACO_SERVICE_WEB_PORT_8000_ADDRS"] == env["JACO_SERVICE_WEB_ADDRS"]
            assert "JACO_SERVICE_CLIENT_ADDRS" not in env  # declares no port
            # Let the rolling update finish: no replica start may be under way
            # when the agent is cancelled at teardown.
            await until_state(cluster, f"{DEP}/web/0", "running", revision=2)
            await reconcile(cluster)
            await until_state(cluster, f"{DEP}/web/1", "running", revision=2)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
