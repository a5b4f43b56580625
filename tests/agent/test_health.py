"""Health checks drive starting / running / unhealthy, reported to raft."""

from __future__ import annotations

from pathlib import Path

import pytest

from jacod.cluster.cluster import Cluster

from .conftest import Agents
from .helpers import Reports, check, deploy, http_server, svc, until_state

RID = "shop/web/0"


@pytest.mark.parametrize("kind", ["http", "tcp"])
async def test_http_and_tcp_checks_make_a_server_running(
    cluster: Cluster, agents: Agents, kind: str
) -> None:
    reports = Reports(cluster)
    agent = await agents.start()
    await deploy(cluster, http_server(health=check(kind, port=8000, path="/")))
    r = await until_state(cluster, RID, "running")
    assert r.last_error == ""
    states = [str(s.state) for s in reports.of(RID)]
    assert states.index("starting") < states.index("running")  # starting until a probe passes
    assert agent.ports(RID)[8000] > 0


async def test_http_error_status_makes_it_unhealthy(cluster: Cluster, agents: Agents) -> None:
    await agents.start()
    await deploy(cluster, http_server(health=check("http", port=8000, path="/missing")))
    r = await until_state(cluster, RID, "unhealthy")
    assert r.last_error == "health check failed: http: status 404"


async def test_tcp_check_on_a_closed_port_is_unhealthy(cluster: Cluster, agents: Agents) -> None:
    await agents.start()
    await deploy(cluster, svc(["sleep", "30"], ports=[9000], health=check("tcp", port=9000)))
    r = await until_state(cluster, RID, "unhealthy")
    assert r.last_error.startswith("health check failed: tcp: ")


async def test_exec_check_transitions(cluster: Cluster, agents: Agents, tmp_path: Path) -> None:
    flag = tmp_path / "healthy"
    reports = Reports(cluster)
    agent = await agents.start()
    probe = check("exec", command=["sh", "-c", f'test -f {flag} && test "$JACO_SERVICE" = web'])
    await deploy(cluster, svc(["sleep", "30"], health=probe))
    r = await until_state(cluster, RID, "unhealthy")  # never succeeded: starting -> unhealthy
    assert r.last_error == "health check failed: exec: exited with code 1"
    assert [s.state for s in reports.of(RID)][-2:] == ["starting", "unhealthy"]
    flag.touch()
    await until_state(cluster, RID, "running")
    flag.unlink()
    await until_state(cluster, RID, "unhealthy")
    flag.touch()
    await until_state(cluster, RID, "running")
    (info,) = await agent.runtime.list()
    assert info.status == "running" and r.restarts == 0  # unhealthy is reported, not restarted


async def test_exec_check_timeout(cluster: Cluster, agents: Agents) -> None:
    await agents.start()
    probe = check("exec", command=["sleep", "5"], timeout_s=0.1, retries=1)
    await deploy(cluster, svc(["sleep", "30"], health=probe))
    r = await until_state(cluster, RID, "unhealthy")
    assert r.last_error == "health check failed: exec: still running after 0.1s"
