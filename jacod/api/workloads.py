"""Apply, rollback, delete: admission, then one command through raft each."""

from __future__ import annotations

import time

from jaco.v1 import control_pb2
from jacod import admission, errors
from jacod.api import context, convert
from jacod.cluster.cluster import Cluster
from jacod.state import (
    ApplyDeployment,
    DeleteDeployment,
    DeploymentRevision,
    Rollback,
    State,
    stopping,
)
from jacod.state.deletion import APPLY_AGAIN, deleting_refusal
from jacod.state.spec import ServiceSpec


def _envelope(cluster: Cluster) -> dict[str, object]:
    return {"ts_ns": time.time_ns(), "identity": context.identity.get(), "node": cluster.node_name}


def _current(cluster: Cluster, name: str) -> list[ServiceSpec] | None:
    return cluster.read(
        lambda s: list(s.deployments[name].current.services) if name in s.deployments else None
    )


def _deployment_pb(cluster: Cluster, name: str, revision: int = 0) -> object:
    def view(s: object) -> object:
        dep = s.deployments.get(name)  # type: ignore[attr-defined]
        if dep is None:
            return None
        rev = dep.find_revision(revision) if revision else None
        return convert.deployment(dep, rev)

    return cluster.read(view)


async def apply(cluster: Cluster, req: control_pb2.ApplyRequest) -> control_pb2.ApplyResponse:
    admitted = admission.admit(bytes(req.spec), req.format)  # AdmissionError is InvalidArgument
    current = _current(cluster, admitted.name)
    diff = admission.diff(current, admitted.services)
    if req.dry_run:
        _refuse_if_deleting(cluster, admitted.name)  # what the apply itself would answer
        return control_pb2.ApplyResponse(changed=bool(diff) or current is None, diff=diff)
    result = await cluster.propose(
        ApplyDeployment(
            **_envelope(cluster),
            name=admitted.name,
            services=admitted.services,  # type: ignore[arg-type]
            source=admitted.source,
        )
    )
    revision = result.value.revision if isinstance(result.value, DeploymentRevision) else 0
    return control_pb2.ApplyResponse(
        deployment=_deployment_pb(cluster, admitted.name, revision),  # type: ignore[arg-type]
        changed=result.changed,
        diff=diff,
        audit_id=result.audit_id,
    )


def _refuse_if_deleting(cluster: Cluster, name: str) -> None:
    def refusal(s: State) -> str:
        dep = s.deployments.get(name)
        found = deleting_refusal(s, dep, APPLY_AGAIN) if dep is not None else None
        return found.message if found is not None else ""

    if message := cluster.read(refusal):
        raise errors.FailedPrecondition(message)


async def rollback(
    cluster: Cluster, req: control_pb2.RollbackRequest
) -> control_pb2.RollbackResponse:
    if not req.deployment:
        raise errors.InvalidArgument("deployment: required")
    result = await cluster.propose(
        Rollback(
            **_envelope(cluster),
            name=req.deployment,  # type: ignore[arg-type]
            to_revision=req.to_revision,
        )
    )
    revision = result.value.revision if isinstance(result.value, DeploymentRevision) else 0
    return control_pb2.RollbackResponse(
        deployment=_deployment_pb(cluster, req.deployment, revision),  # type: ignore[arg-type]
        audit_id=result.audit_id,
    )


async def delete(cluster: Cluster, req: control_pb2.DeleteRequest) -> control_pb2.DeleteResponse:
    if not req.deployment:
        raise errors.InvalidArgument("deployment: required")
    result = await cluster.propose(
        DeleteDeployment(
            **_envelope(cluster),  # type: ignore[arg-type]
            name=req.deployment,
        )
    )
    return control_pb2.DeleteResponse(
        audit_id=result.audit_id,
        already_deleting=not result.changed,
        replicas_stopping=cluster.read(lambda s: stopping(s, req.deployment)),
    )


def revisions(cluster: Cluster, name: str) -> control_pb2.ListRevisionsResponse:
    def view(s: object) -> list[object] | None:
        dep = s.deployments.get(name)  # type: ignore[attr-defined]
        return None if dep is None else [convert.deployment(dep, r) for r in dep.revisions]

    found = cluster.read(view)
    if found is None:
        raise errors.NotFound(f"deployment {name!r} does not exist; see `jaco status`")
    return control_pb2.ListRevisionsResponse(revisions=found)  # type: ignore[arg-type]
