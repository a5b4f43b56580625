"""The pure placement decision, table-driven on real states built by the FSM."""

from __future__ import annotations

from collections import Counter

import pytest

from jacod.scheduler.placement import plan
from jacod.state import (
    ApplyDeployment,
    AssignReplicas,
    NodeLeave,
    NodeStatusUpdate,
    ReplicaState,
    ReplicaStatus,
    Result,
    State,
    apply,
)
from tests.state.helpers import bootstrap_cmd, env, join_cmd, svc


def cluster(nodes: int = 3, labels: dict[int, dict[str, str]] | None = None) -> State:
    s = State()
    labels = labels or {}
    assert isinstance(apply(s, bootstrap_cmd(labels=labels.get(1, {}))), Result)
    for i in range(2, nodes + 1):
        assert isinstance(apply(s, join_cmd(f"n{i}", labels=labels.get(i, {}))), Result)
    return s


def deploy(s: State, *services, name: str = "shop") -> None:
    assert isinstance(
        apply(s, ApplyDeployment(**env(), name=name, services=list(services))), Result
    )


def commit(s: State, name: str = "shop") -> None:
    assignments = plan(s, name)
    assert assignments is not None
    assert isinstance(
        apply(s, AssignReplicas(**env(), deployment=name, assignments=assignments)), Result
    )


def report(s: State, state: ReplicaState = ReplicaState.RUNNING) -> None:
    for node in list(s.nodes):
        mine = [r for r in s.replicas.values() if r.node == node]
        apply(
            s,
            NodeStatusUpdate(
                **env(),
                node_name=node,
                replicas=[ReplicaStatus(id=r.id, state=state, revision=r.revision) for r in mine],
            ),
        )


def nodes_of(s: State, service: str) -> Counter[str]:
    return Counter(r.node for r in s.replicas.values() if r.service == service)


def test_spreads_replicas_across_nodes() -> None:
    s = cluster(3)
    deploy(s, svc("web", replicas=3), svc("worker", replicas=2))
    commit(s)
    assert nodes_of(s, "web") == Counter({"n1": 1, "n2": 1, "n3": 1})
    assert sorted(r.id for r in s.replicas.values()) == [
        "shop/web/0",
        "shop/web/1",
        "shop/web/2",
        "shop/worker/0",
        "shop/worker/1",
    ]
    # the two workers avoid piling on one node
    assert max(nodes_of(s, "worker").values()) == 1


def test_stable_when_nothing_changed() -> None:
    s = cluster(3)
    deploy(s, svc("web", replicas=2))
    commit(s)
    assert plan(s, "shop") is None


def test_placement_labels_are_required() -> None:
    s = cluster(3, labels={2: {"zone": "b"}, 3: {"zone": "c"}})
    deploy(s, svc("web", replicas=2, placement={"zone": "b"}))
    commit(s)
    assert nodes_of(s, "web") == Counter({"n2": 2})


def test_no_eligible_node_leaves_the_service_unplaced() -> None:
    s = cluster(2)
    deploy(s, svc("web", replicas=2, placement={"gpu": "yes"}), svc("api", replicas=1))
    commit(s)
    assert nodes_of(s, "web") == Counter()
    assert sum(nodes_of(s, "api").values()) == 1


@pytest.mark.parametrize(("before", "after"), [(3, 1), (1, 3), (2, 0)])
def test_scale_keeps_low_ordinals_in_place(before: int, after: int) -> None:
    s = cluster(3)
    deploy(s, svc("web", replicas=before))
    commit(s)
    placed = {r.id: r.node for r in s.replicas.values()}
    deploy(s, svc("web", replicas=after))
    report(s)
    commit(s)
    ids = sorted(r.id for r in s.replicas.values())
    assert ids == [f"shop/web/{i}" for i in range(after)]
    for rid in ids:
        if rid in placed:
            assert s.replicas[rid].node == placed[rid]


def test_node_leaving_replaces_its_replicas() -> None:
    s = cluster(3)
    deploy(s, svc("web", replicas=3))
    commit(s)
    apply(s, NodeLeave(**env(), name="n3"))
    commit(s)
    assert sum(nodes_of(s, "web").values()) == 3
    assert "n3" not in nodes_of(s, "web")


def test_rolling_update_one_at_a_time_gated_on_running() -> None:
    s = cluster(3)
    deploy(s, svc("web", replicas=3))
    commit(s)
    report(s)
    deploy(s, svc("web", replicas=3, env={"V": "2"}))
    new_rev = s.deployments["shop"].revision
    commit(s)
    assert sorted(r.revision for r in s.replicas.values()) == [1, 1, new_rev]
    # the updated one is not running yet: nothing else moves
    assert plan(s, "shop") is None
    report(s)  # it comes up: the next one goes
    commit(s)
    assert sorted(r.revision for r in s.replicas.values()) == [1, new_rev, new_rev]
    report(s)
    commit(s)
    assert {r.revision for r in s.replicas.values()} == {new_rev}
    report(s)
    assert plan(s, "shop") is None


def test_failed_replica_is_updated_without_waiting() -> None:
    s = cluster(2)
    deploy(s, svc("web", replicas=2))
    commit(s)
    report(s, ReplicaState.FAILED)
    deploy(s, svc("web", replicas=2, workdir="/srv/fixed"))
    commit(s)
    assert {r.revision for r in s.replicas.values()} == {s.deployments["shop"].revision}


def test_unknown_deployment_plans_nothing() -> None:
    assert plan(cluster(1), "nope") is None
