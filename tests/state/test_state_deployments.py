"""ApplyDeployment, Rollback and AssignReplicas (deleting: test_state_deletion.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jacod.state import (
    MAX_REVISIONS,
    AuditType,
    Command,
    DeleteDeployment,
    DeploymentRevision,
    HealthCheck,
    ReplicaState,
    ReplicaStatus,
    Resources,
    Rollback,
    State,
    dump_state,
)

from .helpers import (
    T0,
    TRACE_ID,
    apply_cmd,
    assign_cmd,
    bootstrap_cmd,
    env,
    join_cmd,
    last_event,
    must,
    refused,
    status_cmd,
    svc,
    world,
)


def test_first_apply_creates_revision_1() -> None:
    state = State()
    must(state, bootstrap_cmd())
    result = must(state, apply_cmd(ts_ns=T0 + 1))
    dep = state.deployments["web"]
    assert dep.revision == 1
    assert [s.name for s in dep.current.services] == ["api", "worker"]
    assert dep.current.source == "src"
    assert (dep.created_at_ns, dep.updated_at_ns, dep.updated_by) == (T0 + 1, T0 + 1, "alice")
    event = last_event(state)
    assert result == type(result)(
        changed=True, audit_id=event.id, value=DeploymentRevision(deployment="web", revision=1)
    )
    assert event.type is AuditType.APPLY
    assert (event.identity, event.deployment, event.node, event.trace_id) == (
        "alice",
        "web",
        "n1",
        TRACE_ID,
    )
    assert event.payload == {"revision": 1, "previous_revision": 0, "services": ["api", "worker"]}


def test_changed_apply_adds_a_revision() -> None:
    state = world()
    result = must(state, apply_cmd(services=[svc("api", image="v3")], identity="bob"))
    assert result.value == DeploymentRevision(deployment="web", revision=3)
    assert [r.number for r in state.deployments["web"].revisions] == [1, 2, 3]
    assert state.deployments["web"].updated_by == "bob"
    assert last_event(state).payload == {
        "revision": 3,
        "previous_revision": 2,
        "services": ["api"],
    }


def test_apply_of_the_current_services_is_a_no_op_without_event() -> None:
    state = world()
    before = dump_state(state)
    same = [svc("api", image="v2"), svc("worker", replicas=2)]
    result = must(state, apply_cmd(services=same, source="reformatted", ts_ns=T0 + 99))
    assert result.changed is False and result.audit_id == 0
    assert result.value == DeploymentRevision(deployment="web", revision=2)
    assert dump_state(state) == before


def test_revision_history_is_capped() -> None:
    state = world()
    for i in range(MAX_REVISIONS + 3):
        must(state, apply_cmd(services=[svc("api", replicas=i + 10)]))
    numbers = [r.number for r in state.deployments["web"].revisions]
    assert numbers == list(range(MAX_REVISIONS + 6 - MAX_REVISIONS, MAX_REVISIONS + 6))
    assert len(numbers) == MAX_REVISIONS


def test_rollback_to_previous_copies_its_services_into_a_new_revision() -> None:
    state = world()
    result = must(state, Rollback(**env(identity="bob"), name="web"))
    dep = state.deployments["web"]
    assert result.value == DeploymentRevision(deployment="web", revision=3)
    assert dep.current.services == dep.revisions[0].services
    assert dep.current.rolled_back_to == 1
    assert dep.updated_by == "bob"
    event = last_event(state)
    assert result.audit_id == event.id
    assert event.type is AuditType.ROLLBACK
    assert (event.identity, event.deployment) == ("bob", "web")
    assert event.payload == {"from": 2, "to": 1, "revision": 3, "services": ["api", "worker"]}


def test_rollback_to_an_explicit_revision() -> None:
    state = world()
    must(state, apply_cmd(services=[svc("api", image="v3")]))
    must(state, Rollback(**env(), name="web", to_revision=1))
    assert (
        state.deployments["web"].current.services == state.deployments["web"].revisions[0].services
    )
    assert last_event(state).payload["to"] == 1
    # The rollback itself can be undone.
    must(state, Rollback(**env(), name="web"))
    assert last_event(state).payload == {"from": 4, "to": 3, "revision": 5, "services": ["api"]}


def test_rollback_to_a_revision_equal_to_the_current_one_is_a_no_op() -> None:
    state = world()
    must(state, Rollback(**env(), name="web"))  # 3 == 1
    before = dump_state(state)
    result = must(state, Rollback(**env(), name="web", to_revision=1))
    assert result.changed is False and result.audit_id == 0
    assert dump_state(state) == before


def test_assign_replicas_sets_the_desired_placement_without_event() -> None:
    state = world()
    events = len(state.audit)
    assert sorted(state.replicas) == ["web/api/0", "web/worker/0", "web/worker/1"]
    replica = state.replicas["web/worker/1"]
    assert (replica.service, replica.ordinal, replica.revision, replica.node, replica.state) == (
        "worker",
        1,
        2,
        "n2",
        ReplicaState.PENDING,
    )
    must(
        state,
        status_cmd(
            replicas=[ReplicaStatus(id="web/worker/1", state=ReplicaState.RUNNING, restarts=1)]
        ),
    )
    # Same incarnation keeps its observed state; moved ones start over; missing ones go.
    result = must(state, assign_cmd(placement=[("worker", 1, 2, "n2"), ("api", 0, 2, "n2")]))
    assert result.changed and result.audit_id == 0
    assert sorted(state.replicas) == ["web/api/0", "web/worker/1"]
    assert state.replicas["web/worker/1"].state is ReplicaState.RUNNING
    assert state.replicas["web/worker/1"].restarts == 1
    assert state.replicas["web/api/0"].node == "n2"
    assert state.replicas["web/api/0"].state is ReplicaState.PENDING
    assert len(state.audit) == events


def test_assign_replicas_with_the_same_placement_is_unchanged() -> None:
    state = world()
    before = dump_state(state)
    placement = [("api", 0, 2, "n1"), ("worker", 0, 2, "n1"), ("worker", 1, 2, "n2")]
    result = must(state, assign_cmd(placement=placement, ts_ns=T0 + 7))
    assert result.changed is False
    assert dump_state(state) == before


def test_assign_an_empty_list_removes_every_replica() -> None:
    state = world()
    assert must(state, assign_cmd(placement=[])).changed
    assert state.replicas == {}


@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(lambda: apply_cmd(name=""), "invalid", id="apply-no-name"),
        pytest.param(lambda: apply_cmd(name="a/b"), "invalid", id="apply-slash-name"),
        pytest.param(lambda: apply_cmd(services=[]), "invalid", id="apply-no-services"),
        pytest.param(
            lambda: apply_cmd(services=[svc("x"), svc("x")]), "invalid", id="apply-dup-svc"
        ),
        pytest.param(
            lambda: apply_cmd(services=[svc("x", replicas=-1)]), "invalid", id="apply-neg"
        ),
        pytest.param(lambda: apply_cmd(services=[svc("x", ports=[0])]), "invalid", id="apply-port"),
        pytest.param(
            lambda: apply_cmd(services=[svc("x", restart="sometimes")]),
            "invalid",
            id="apply-restart",
        ),
        pytest.param(
            lambda: apply_cmd(services=[svc("x", resources=Resources(cpu=float("inf")))]),
            "invalid",
            id="apply-cpu-inf",
        ),
        pytest.param(
            lambda: apply_cmd(services=[svc("x", health=HealthCheck(kind="smoke"))]),
            "invalid",
            id="apply-health-kind",
        ),
        pytest.param(lambda: Rollback(**env(), name="nope"), "not_found", id="rollback-unknown"),
        pytest.param(
            lambda: Rollback(**env(), name="web", to_revision=7),
            "not_found",
            id="rollback-missing-revision",
        ),
        pytest.param(
            lambda: Rollback(**env(), name="web", to_revision=2),
            "failed_precondition",
            id="rollback-to-current",
        ),
        pytest.param(
            lambda: Rollback(**env(), name="web", to_revision=-1), "invalid", id="rollback-negative"
        ),
        pytest.param(
            lambda: Rollback(**env(), name="solo"),
            "failed_precondition",
            id="rollback-single-revision",
        ),
        pytest.param(
            lambda: DeleteDeployment(**env(), name="nope"), "not_found", id="delete-unknown"
        ),
        pytest.param(lambda: assign_cmd("nope"), "not_found", id="assign-unknown-deployment"),
        pytest.param(
            lambda: assign_cmd(placement=[("api", 0, 2, "n9")]),
            "failed_precondition",
            id="assign-unknown-node",
        ),
        pytest.param(
            lambda: assign_cmd(placement=[("api", 0, 9, "n1")]),
            "failed_precondition",
            id="assign-unknown-revision",
        ),
        pytest.param(
            lambda: assign_cmd(placement=[("db", 0, 2, "n1")]),
            "invalid",
            id="assign-unknown-service",
        ),
        pytest.param(
            lambda: assign_cmd(placement=[("api", -1, 2, "n1")]),
            "invalid",
            id="assign-negative-ordinal",
        ),
        pytest.param(
            lambda: assign_cmd(placement=[("api", 0, 2, "n1"), ("api", 0, 2, "n2")]),
            "invalid",
            id="assign-duplicate",
        ),
    ],
)
def test_rejections_change_nothing(make: Callable[[], Command], code: str) -> None:
    state = world()
    must(state, apply_cmd(name="solo"))
    must(state, join_cmd("n3"))
    before = dump_state(state)
    rejected = refused(state, make())
    assert rejected.code == code
    assert rejected.message
    assert dump_state(state) == before
