"""The discovery registry over a real FSM state (pure: no daemon)."""

from __future__ import annotations

from jacod.discovery import build, environment, match
from jacod.discovery.registry import Route, node_host
from jacod.state import Ingress, ReplicaState, ReplicaStatus, State
from tests.state.helpers import (
    apply_cmd,
    assign_cmd,
    bootstrap_cmd,
    join_cmd,
    must,
    status_cmd,
    svc,
)


def shop() -> State:
    """n1 (10.0.0.1), n2 (10.0.0.2); deployment shop: web ×3 with ingress, db ×1, job (no ports)."""
    state = State()
    must(state, bootstrap_cmd())
    must(state, join_cmd("n2"))
    web = svc("web", replicas=3, ports=[8000, 9000],
              ingress=Ingress(host="Shop.Example", path="/", port=8000))  # fmt: skip
    must(state, apply_cmd("shop", services=[web, svc("db", ports=[5432]), svc("job")]))
    placement = [("web", 0, 1, "n1"), ("web", 1, 1, "n2"), ("web", 2, 1, "n2"),
                 ("db", 0, 1, "n2"), ("job", 0, 1, "n1")]  # fmt: skip
    must(state, assign_cmd("shop", placement))
    return state


def report(state: State, node: str, rid: str, st: ReplicaState, ports: dict[int, int]) -> None:
    status = ReplicaStatus(id=rid, state=st, revision=1, ports=tuple(sorted(ports.items())))
    must(state, status_cmd(node=node, node_name=node, replicas=[status]))


def test_only_running_replicas_with_ports_are_endpoints() -> None:
    state = shop()
    report(state, "n1", "shop/web/0", ReplicaState.RUNNING, {8000: 41000, 9000: 41001})
    report(state, "n2", "shop/web/1", ReplicaState.UNHEALTHY, {8000: 42000, 9000: 42001})
    report(state, "n2", "shop/web/2", ReplicaState.RUNNING, {8000: 42002, 9000: 42003})
    report(state, "n2", "shop/db/0", ReplicaState.STARTING, {5432: 43000})
    snap = build(state, local_node="n1")
    web = snap.lookup("shop", "web")
    assert [e.replica_id for e in web] == ["shop/web/0", "shop/web/2"]
    # On the asking node a replica is reached on loopback, elsewhere at its node's address.
    assert [e.address(8000) for e in web] == ["127.0.0.1:41000", "10.0.0.2:42002"]
    assert web[1].address(9000) == "10.0.0.2:42003" and web[1].address(1234) is None
    assert snap.lookup("shop", "db") == [] and snap.has_service("shop", "db")
    assert not snap.has_service("shop", "nope")
    assert [e.address() for e in build(state, local_node="n2").lookup("shop", "web")] == [
        "10.0.0.1:41000", "127.0.0.1:42002",
    ]  # fmt: skip


def test_routes_come_from_the_current_revision() -> None:
    state = shop()
    assert build(state).routes == [Route("shop", "web", "shop.example", "/", 8000)]
    must(state, apply_cmd("shop", services=[svc("web", ports=[8000])]))
    assert build(state).routes == []


def test_match_prefers_exact_host_then_longest_prefix() -> None:
    routes = [
        Route("a", "any", "", "/", 80),
        Route("a", "root", "x.io", "/", 80),
        Route("a", "api", "x.io", "/api", 80),
        Route("a", "v2", "x.io", "/api/v2/", 80),
    ]
    routes.sort(key=lambda r: (r.host == "", -len(r.path)))
    pick = lambda host, path: m.service if (m := match(routes, host, path)) else None  # noqa: E731
    assert pick("x.io", "/api/v2/users") == "v2"
    assert pick("X.IO", "/api/v2") == "v2"
    assert pick("x.io", "/api/v1") == "api"
    assert pick("x.io", "/apiary") == "root"
    assert pick("y.io", "/api") == "any"
    assert match([Route("a", "b", "x.io", "/p", 80)], "y.io", "/p") is None


def test_environment_lists_healthy_addresses_per_service_and_port() -> None:
    state = shop()
    report(state, "n1", "shop/web/0", ReplicaState.RUNNING, {8000: 41000, 9000: 41001})
    report(state, "n2", "shop/web/2", ReplicaState.RUNNING, {8000: 42002, 9000: 42003})
    env = environment(build(state, local_node="n2"), "shop")
    assert env == {
        "JACO_SERVICE_WEB_ADDRS": "10.0.0.1:41000,127.0.0.1:42002",
        "JACO_SERVICE_WEB_PORT_8000_ADDRS": "10.0.0.1:41000,127.0.0.1:42002",
        "JACO_SERVICE_WEB_PORT_9000_ADDRS": "10.0.0.1:41001,127.0.0.1:42003",
        "JACO_SERVICE_DB_ADDRS": "",
        "JACO_SERVICE_DB_PORT_5432_ADDRS": "",
    }
    assert environment(build(state), "other") == {}


def test_node_host_parses_v4_v6_and_names() -> None:
    assert node_host("10.0.0.1:7000") == "10.0.0.1"
    assert node_host("[fd00::1]:7000") == "fd00::1"
    assert node_host("node-a.lan:7000") == "node-a.lan"
    assert node_host("node-a.lan") == "node-a.lan"
