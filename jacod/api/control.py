"""The Control service (what `jaco` and the console call)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from jaco.v1 import control_pb2, control_pb2_grpc
from jaco.v1 import entities_pb2 as pb
from jacod import errors
from jacod.api import context, convert, workloads
from jacod.api.logs import LogService
from jacod.api.unimplemented import fill_unimplemented
from jacod.api.views import Views
from jacod.auth import service as token_service
from jacod.cluster import backups, membership
from jacod.cluster.clusterfile import ClusterFile
from jacod.state import query_audit

BACKUP_CHUNK = 1 << 20
AUDIT_PAGE = 1000


def _ns(ts: object) -> int | None:
    n = ts.ToNanoseconds() if ts.ByteSize() else 0  # type: ignore[attr-defined]
    return n or None


class ControlService(control_pb2_grpc.ControlServicer):
    def __init__(self, views: Views, cf: ClusterFile, logs: LogService):
        self._views = views
        self._cluster = views.cluster
        self._cf = cf
        self._logs = logs

    async def StreamLogs(
        self, request: control_pb2.LogsRequest, ctx: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.LogBatch]:
        async for batch in self._logs.stream(request):
            yield batch

    async def GetStatus(
        self, request: control_pb2.GetStatusRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.GetStatusResponse:
        if request.consistent:
            await self._cluster.barrier()
        return self._views.status(context.identity.get())

    async def WatchStatus(
        self, request: control_pb2.WatchStatusRequest, ctx: grpc.aio.ServicerContext
    ) -> AsyncIterator[control_pb2.StatusEvent]:
        # A full snapshot first and after every burst of changes: simple and
        # always consistent; bursts coalesce because we drain the queue first.
        sub = self._cluster.bus.subscribe()
        try:
            if request.consistent:
                await self._cluster.barrier()
            yield control_pb2.StatusEvent(snapshot=self._views.status(context.identity.get()))
            while True:
                await sub.queue.get()
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                await asyncio.sleep(0.05)  # let a burst of applies land in one snapshot
                yield control_pb2.StatusEvent(snapshot=self._views.status(context.identity.get()))
        finally:
            self._cluster.bus.unsubscribe(sub)

    async def Apply(
        self, request: control_pb2.ApplyRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.ApplyResponse:
        return await workloads.apply(self._cluster, request)

    async def Rollback(
        self, request: control_pb2.RollbackRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.RollbackResponse:
        return await workloads.rollback(self._cluster, request)

    async def Delete(
        self, request: control_pb2.DeleteRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.DeleteResponse:
        return await workloads.delete(self._cluster, request)

    async def ListRevisions(
        self, request: control_pb2.ListRevisionsRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.ListRevisionsResponse:
        return workloads.revisions(self._cluster, request.deployment)

    async def ListNodes(
        self, request: control_pb2.ListNodesRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.ListNodesResponse:
        if request.consistent:
            await self._cluster.barrier()
        return control_pb2.ListNodesResponse(nodes=self._views.nodes())

    async def CreateJoinToken(
        self, request: control_pb2.CreateJoinTokenRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.CreateJoinTokenResponse:
        token, expires = membership.create_join_token(self._cluster, self._cf, request.ttl_seconds)
        return control_pb2.CreateJoinTokenResponse(
            join_token=token, expires_at=convert.timestamp(expires)
        )

    async def CreateToken(
        self, request: control_pb2.CreateTokenRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.CreateTokenResponse:
        return await token_service.create(self._cluster, request, context.identity.get())

    async def ListTokens(
        self, request: control_pb2.ListTokensRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.ListTokensResponse:
        return token_service.list_all(self._cluster)

    async def RevokeToken(
        self, request: control_pb2.RevokeTokenRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.RevokeTokenResponse:
        return await token_service.revoke(self._cluster, request, context.identity.get())

    async def RemoveNode(
        self, request: control_pb2.RemoveNodeRequest, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.RemoveNodeResponse:
        audit_id = await membership.remove(self._cluster, request.name, context.identity.get())
        return control_pb2.RemoveNodeResponse(audit_id=audit_id)

    async def Backup(
        self, request: control_pb2.BackupRequest, ctx: grpc.aio.ServicerContext
    ) -> AsyncIterator[control_pb2.BackupChunk]:
        data, audit_id = await backups.take(self._cluster, context.identity.get(), "client")
        for start in range(0, len(data), BACKUP_CHUNK):
            last = start + BACKUP_CHUNK >= len(data)
            yield control_pb2.BackupChunk(
                data=data[start : start + BACKUP_CHUNK], audit_id=audit_id if last else 0
            )

    def _query(self, q: control_pb2.AuditQuery, after_id: int, limit: int) -> list[pb.AuditEvent]:
        types = [convert.audit_type_from_pb(t) for t in q.types] or None
        return self._cluster.read(
            lambda s: [
                convert.audit_event(e)
                for e in query_audit(
                    s,
                    since_ns=_ns(q.since),
                    until_ns=_ns(q.until),
                    types=types,
                    identity=q.identity or None,
                    deployment=q.deployment or None,
                    after_id=after_id,
                    limit=limit,
                )
            ]
        )

    async def QueryAudit(
        self, request: control_pb2.AuditQuery, ctx: grpc.aio.ServicerContext
    ) -> control_pb2.AuditQueryResponse:
        if any(t == pb.AUDIT_EVENT_TYPE_UNSPECIFIED for t in request.types):
            raise errors.InvalidArgument("types: unspecified is not an audit event type")
        events = self._query(request, request.after_id, request.limit or AUDIT_PAGE)
        last = self._cluster.read(lambda s: s.last_audit_id)
        return control_pb2.AuditQueryResponse(events=events, last_id=last)

    async def FollowAudit(
        self, request: control_pb2.AuditQuery, ctx: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.AuditEvent]:
        """The backlog after ``after_id``, then new events in id order: the
        client resumes from the last id it printed, so no gap, no duplicate."""
        sub = self._cluster.bus.subscribe()
        after = request.after_id
        try:
            while True:
                page = self._query(request, after, AUDIT_PAGE)
                for event in page:
                    yield event
                if page:
                    after = page[-1].id
                if len(page) == AUDIT_PAGE:
                    continue
                await sub.queue.get()  # Applied or Resync: either way, query again
        finally:
            self._cluster.bus.unsubscribe(sub)


fill_unimplemented(ControlService, control_pb2.DESCRIPTOR.services_by_name["Control"])
