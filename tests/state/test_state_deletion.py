"""Deleting a deployment: the tombstone (DeleteDeployment), StopReplicas, PurgeDeployment."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jacod.state import (
    AuditType,
    Command,
    DeleteDeployment,
    DeploymentRevision,
    PurgeDeployment,
    ReplicaState,
    ReplicaStatus,
    ReplicaStop,
    Rollback,
    State,
    StopReplicas,
    dump_state,
    stopping,
)
from jacod.state.restore import rebased

from .helpers import (
    T0,
    TRACE_ID,
    apply_cmd,
    assign_cmd,
    env,
    last_event,
    must,
    refused,
    status_cmd,
    svc,
    world,
)

WEB = ["web/api/0", "web/worker/0", "web/worker/1"]
RECONCILE_TP = f"00-{TRACE_ID}-1111111111111111-01"


def delete(**overrides: object) -> DeleteDeployment:
    return DeleteDeployment(**{**env(identity="bob", ts_ns=T0 + 9), "name": "web", **overrides})


def stop(*ids: str, deployment: str = "web") -> StopReplicas:
    return StopReplicas(
        **env(identity="system"),
        deployment=deployment,
        replicas=[ReplicaStop(id=i, traceparent=RECONCILE_TP) for i in ids],
    )


def purge(deployment: str = "web") -> PurgeDeployment:
    return PurgeDeployment(**env(identity="system"), deployment=deployment)


def stopped(node: str, *ids: str, revision: int = 2) -> Command:
    replicas = [ReplicaStatus(id=i, state=ReplicaState.STOPPED, revision=revision) for i in ids]
    return status_cmd(node=node, node_name=node, replicas=replicas)


def deleting_world() -> State:
    state = world()
    must(state, delete())
    return state


def test_delete_marks_the_deployment_and_keeps_its_replicas() -> None:
    state = world()
    replicas_before = dump_state(State(replicas=state.replicas))
    result = must(state, delete())
    dep = state.deployments["web"]
    assert (dep.deleting, dep.deleted_at_ns, dep.deleted_by) == (True, T0 + 9, "bob")
    assert sorted(state.replicas) == WEB
    assert dump_state(State(replicas=state.replicas)) == replicas_before  # untouched
    assert stopping(state, "web") == 3
    event = last_event(state)
    assert result.changed and result.audit_id == event.id
    assert event.type is AuditType.DELETE
    assert (event.identity, event.deployment, event.trace_id) == ("bob", "web", TRACE_ID)
    assert event.payload == {"revision": 2, "replicas_removed": 3}


def test_deleting_again_is_a_no_op_without_a_second_event() -> None:
    state = deleting_world()
    before = dump_state(state)
    result = must(state, delete(identity="carol", ts_ns=T0 + 20))
    assert (result.changed, result.audit_id) == (False, 0)
    assert dump_state(state) == before
    assert [e.type for e in state.audit].count(AuditType.DELETE) == 1


def test_stop_replicas_marks_them_with_the_reconcile_trace_without_event() -> None:
    state = deleting_world()
    events = len(state.audit)
    result = must(state, stop("web/api/0", "web/worker/1"))
    assert result.changed and result.audit_id == 0
    assert len(state.audit) == events
    marked = {rid: (r.removing, r.traceparent) for rid, r in state.replicas.items()}
    assert marked == {
        "web/api/0": (True, RECONCILE_TP),
        "web/worker/0": (False, ""),
        "web/worker/1": (True, RECONCILE_TP),
    }
    # Asked again (a new leader's first pass): the first request's trace stays.
    again = StopReplicas(
        **env(identity="system"),
        deployment="web",
        replicas=[
            ReplicaStop(id="web/api/0", traceparent="00-" + "2" * 32 + "-" + "3" * 16 + "-01")
        ],
    )
    before = dump_state(state)
    assert must(state, again).changed is False
    assert dump_state(state) == before


def test_a_stopped_report_counts_only_for_replicas_marked_for_removal() -> None:
    state = deleting_world()
    must(state, stopped("n1", "web/api/0", "web/worker/0"))  # not asked yet: still counted
    assert stopping(state, "web") == 3
    must(state, stop(*WEB))
    must(state, stopped("n1", "web/api/0", "web/worker/0"))
    assert stopping(state, "web") == 1
    must(state, stopped("n2", "web/worker/1"))
    assert stopping(state, "web") == 0
    assert "web" in state.deployments  # until the scheduler purges it


def test_purge_drops_the_deployment_and_its_replicas_without_event() -> None:
    state = deleting_world()
    must(state, apply_cmd(name="other", services=[svc("x")]))
    must(state, assign_cmd("other", placement=[("x", 0, 1, "n2")]))
    events = len(state.audit)
    result = must(state, purge())
    assert result.changed and result.audit_id == 0
    assert "web" not in state.deployments
    assert sorted(state.replicas) == ["other/x/0"]
    assert len(state.audit) == events


def test_revisions_restart_at_1_once_the_deletion_is_over() -> None:
    state = deleting_world()
    must(state, purge())
    assert must(state, apply_cmd()).value == DeploymentRevision(deployment="web", revision=1)


def test_apply_while_deleting_is_refused_and_says_how_many_still_stop() -> None:
    state = deleting_world()
    must(state, stop(*WEB))
    must(state, stopped("n2", "web/worker/1"))
    before = dump_state(state)
    rejected = refused(state, apply_cmd(services=[svc("api", image="v3")]))
    assert rejected.code == "failed_precondition"
    assert rejected.message == (
        "deployment web is being deleted (2 replicas still stopping); "
        "apply again once `jaco status` no longer lists it"
    )
    assert dump_state(state) == before


def test_apply_of_the_same_services_while_deleting_is_refused_too() -> None:
    # Otherwise it would look like a successful no-op while the replicas stop.
    state = deleting_world()
    same = [svc("api", image="v2"), svc("worker", replicas=2)]
    assert refused(state, apply_cmd(services=same)).code == "failed_precondition"


def test_rollback_while_deleting_is_refused() -> None:
    state = deleting_world()
    before = dump_state(state)
    rejected = refused(state, Rollback(**env(), name="web"))
    assert rejected.code == "failed_precondition"
    assert rejected.message.startswith(
        "deployment web is being deleted (3 replicas still stopping)"
    )
    assert "cannot be rolled back" in rejected.message
    assert dump_state(state) == before


def test_no_replica_is_placed_for_a_deployment_being_deleted() -> None:
    state = deleting_world()
    before = dump_state(state)
    assert refused(state, assign_cmd(placement=[])).code == "failed_precondition"
    assert dump_state(state) == before


def test_other_deployments_are_not_affected() -> None:
    state = deleting_world()
    result = must(state, apply_cmd(name="other", services=[svc("x")]))
    assert result.value == DeploymentRevision(deployment="other", revision=1)
    assert not state.deployments["other"].deleting


@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(lambda: stop("web/api/0"), "failed_precondition", id="stop-not-deleting"),
        pytest.param(lambda: purge(), "failed_precondition", id="purge-not-deleting"),
        pytest.param(lambda: stop("x/a/0", deployment="x"), "not_found", id="stop-unknown"),
        pytest.param(lambda: purge("x"), "not_found", id="purge-unknown"),
    ],
)
def test_scheduler_commands_for_a_live_deployment_change_nothing(
    make: Callable[[], Command], code: str
) -> None:
    state = world()
    before = dump_state(state)
    rejected = refused(state, make())
    assert rejected.code == code and rejected.message
    assert dump_state(state) == before


@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(lambda: stop("web/api/0", "web/nope/0"), "failed_precondition", id="unknown"),
        pytest.param(lambda: stop("web/api/0", "web/api/0"), "invalid", id="twice"),
        pytest.param(lambda: stop("solo/api/0"), "failed_precondition", id="other-deployment"),
    ],
)
def test_a_stop_list_with_one_bad_replica_marks_none(
    make: Callable[[], Command], code: str
) -> None:
    state = deleting_world()
    must(state, apply_cmd(name="solo", services=[svc("api")]))
    must(state, assign_cmd("solo", placement=[("api", 0, 1, "n1")]))
    before = dump_state(state)
    assert refused(state, make()).code == code
    assert dump_state(state) == before
    assert not any(r.removing for r in state.replicas.values())


def test_a_restore_leaves_out_a_deployment_being_deleted() -> None:
    state = deleting_world()
    must(state, apply_cmd(name="other", services=[svc("x")]))
    restored = rebased(state, "c-2")
    assert sorted(restored.deployments) == ["other"]
    assert restored.replicas == {} and restored.nodes == {}
    assert [e.type for e in restored.audit].count(AuditType.DELETE) == 1
