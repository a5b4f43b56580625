"""A deployment being deleted serves nothing: traffic stops at the delete."""

from __future__ import annotations

from jacod.discovery import build
from jacod.state import DeleteDeployment, Ingress, ReplicaState
from tests.discovery.test_registry import report, shop
from tests.state.helpers import apply_cmd, assign_cmd, env, must, svc


def test_a_deployment_being_deleted_has_no_route_and_no_endpoint() -> None:
    state = shop()
    api = svc("api", ports=[80], ingress=Ingress(host="other.example", port=80))
    must(state, apply_cmd("other", services=[api]))
    must(state, assign_cmd("other", [("api", 0, 1, "n1")]))
    report(state, "n1", "shop/web/0", ReplicaState.RUNNING, {8000: 41000, 9000: 41001})
    report(state, "n1", "other/api/0", ReplicaState.RUNNING, {80: 41002})
    before = build(state, local_node="n1")
    assert before.lookup("shop", "web") and before.has_service("shop", "db")
    assert {r.deployment for r in before.routes} == {"shop", "other"}

    must(state, DeleteDeployment(**env(), name="shop"))
    assert state.replicas["shop/web/0"].state == ReplicaState.RUNNING  # still stopping
    snap = build(state, local_node="n1")
    assert snap.lookup("shop", "web") == []
    assert not snap.has_service("shop", "web") and not snap.has_service("shop", "db")
    assert [r.deployment for r in snap.routes] == ["other"]
    assert [e.replica_id for e in snap.lookup("other", "api")] == ["other/api/0"]
