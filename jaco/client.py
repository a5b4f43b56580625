"""The one async client of the control API, used by every verb and the console."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import grpc

from jaco.targets import Target
from jaco.v1 import control_pb2, control_pb2_grpc, entities_pb2
from obs import telemetry
from obs.logging import get_logger

log = get_logger("cli")

DEFAULT_TIMEOUT = 15.0


class Unreachable(Exception):
    """jacod could not be reached at all: exit code 3."""

    def __init__(self, target: Target, reason: str):
        self.target, self.reason = target, reason
        hint = (
            "is jacod running? start one with `jacod --dev`, "
            "or point --server / JACO_SERVER at a node"
        )
        low = reason.lower()
        if target.transport == "tcp" and ("handshake" in low or "certificate" in low):
            hint = (
                "the node's TLS certificate is not from the CA in --ca-file / "
                "the context's ca_file; use that cluster's DATA_DIR/pki/ca.crt"
            )
        elif target.transport == "tcp" and not target.ca_file:
            hint += (
                "; a cluster node speaks TLS: pass its CA with --ca-file DATA_DIR/pki/ca.crt "
                "or use a context (`jaco context add`)"
            )
        where = "" if target.source == "--server" else f" [target from {target.source}]"
        super().__init__(f"cannot reach jacod at {target.grpc_target} ({reason}){where}; {hint}")


class Client:
    def __init__(self, target: Target, *, timeout: float = DEFAULT_TIMEOUT):
        self.target = target
        self.timeout = timeout
        self._channel: grpc.aio.Channel | None = None
        self.control: control_pb2_grpc.ControlStub

    async def __aenter__(self) -> Client:
        self.connect()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def connect(self) -> None:
        # The only dial log: transport and target, never credentials.
        log.info(
            "dialing jacod",
            extra={"transport": self.target.transport, "target": self.target.address},
        )
        if self.target.transport == "unix" and not os.path.exists(self.target.address):
            raise Unreachable(self.target, f"no socket at {self.target.address}")
        self._channel = self._dial()
        self.control = control_pb2_grpc.ControlStub(self._channel)

    def _dial(self) -> grpc.aio.Channel:
        """TCP with a CA: TLS verifying the node against it, plus the token.
        Without a CA nothing can be verified: plaintext, and the token stays
        home (only a --dev node listens like that, and it takes no tokens)."""
        target, token = self.target, self.target.token
        if target.transport == "tcp" and target.ca_file:
            from jaco.targets import UsageError

            try:
                with open(os.path.expanduser(target.ca_file), "rb") as fh:
                    ca = fh.read()
            except OSError as exc:
                raise UsageError(f"CA file {target.ca_file}: {exc.strerror}") from None
            creds = grpc.ssl_channel_credentials(root_certificates=ca)
            if token is not None:
                creds = grpc.composite_channel_credentials(
                    creds, grpc.access_token_call_credentials(token.reveal())
                )
            return grpc.aio.secure_channel(
                target.grpc_target, creds, interceptors=telemetry.client_interceptors()
            )
        if target.transport == "tcp" and token is not None:
            log.warning(
                "not sending the token: no CA for this TCP target to verify it with "
                "(--ca-file, JACO_CA_FILE or a context's ca_file)"
            )
        return grpc.aio.insecure_channel(
            target.grpc_target, interceptors=telemetry.client_interceptors()
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    def translate(self, err: grpc.aio.AioRpcError) -> Exception:
        """UNAVAILABLE before any answer means unreachable; the rest stay RPC errors."""
        if err.code() == grpc.StatusCode.UNAVAILABLE and "no leader" not in (err.details() or ""):
            return Unreachable(self.target, (err.details() or "unavailable").splitlines()[0])
        return err

    async def _unary(self, method: str, request: object, timeout: float | None = None) -> Any:
        try:
            return await getattr(self.control, method)(request, timeout=timeout or self.timeout)
        except grpc.aio.AioRpcError as err:
            raise self.translate(err) from None

    async def status(self, consistent: bool = False) -> control_pb2.GetStatusResponse:
        return await self._unary("GetStatus", control_pb2.GetStatusRequest(consistent=consistent))

    async def watch_status(
        self, consistent: bool = False
    ) -> AsyncIterator[control_pb2.StatusEvent]:
        """Status events until cancelled; no deadline (a watch is long-lived)."""
        try:
            async for event in self.control.WatchStatus(
                control_pb2.WatchStatusRequest(consistent=consistent)
            ):
                yield event
        except grpc.aio.AioRpcError as err:
            raise self.translate(err) from None

    async def apply(self, spec: bytes, fmt: str, dry_run: bool) -> control_pb2.ApplyResponse:
        return await self._unary(
            "Apply", control_pb2.ApplyRequest(spec=spec, format=fmt, dry_run=dry_run)
        )

    async def rollback(self, deployment: str, to_revision: int) -> control_pb2.RollbackResponse:
        return await self._unary(
            "Rollback", control_pb2.RollbackRequest(deployment=deployment, to_revision=to_revision)
        )

    async def delete(self, deployment: str) -> control_pb2.DeleteResponse:
        return await self._unary("Delete", control_pb2.DeleteRequest(deployment=deployment))

    async def revisions(self, deployment: str) -> list[entities_pb2.Deployment]:
        resp = await self._unary(
            "ListRevisions", control_pb2.ListRevisionsRequest(deployment=deployment)
        )
        return list(resp.revisions)

    async def query_audit(self, query: control_pb2.AuditQuery) -> control_pb2.AuditQueryResponse:
        return await self._unary("QueryAudit", query)

    async def follow_audit(
        self, query: control_pb2.AuditQuery, retry_for: float = 60.0
    ) -> AsyncIterator[entities_pb2.AuditEvent]:
        """The backlog, then new events. After a dropped connection (jacod
        restart, leader change) it reconnects and resumes after the last id it
        yielded: no gap, no duplicate. Gives up after ``retry_for`` seconds
        without a connection."""
        import asyncio
        import time

        last_id = query.after_id
        down_since: float | None = None
        while True:
            q = control_pb2.AuditQuery()
            q.CopyFrom(query)
            q.after_id = last_id
            try:
                async for event in self.control.FollowAudit(q):
                    down_since = None
                    last_id = event.id
                    yield event
                return
            except grpc.aio.AioRpcError as err:
                if err.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                    raise self.translate(err) from None
                now = time.monotonic()
                down_since = down_since or now
                if now - down_since > retry_for:
                    raise self.translate(err) from None
                log.warning(
                    "audit stream interrupted; reconnecting",
                    extra={"code": err.code().name, "after_id": last_id},
                )
                await asyncio.sleep(0.5)

    async def create_token(
        self, identity: str, role: str, ttl_seconds: int
    ) -> control_pb2.CreateTokenResponse:
        """``role``: viewer | operator | admin."""
        request = control_pb2.CreateTokenRequest(
            identity=identity, role=f"ROLE_{role.upper()}", ttl_seconds=ttl_seconds
        )
        return await self._unary("CreateToken", request)

    async def list_tokens(self) -> list[entities_pb2.TokenInfo]:
        resp = await self._unary("ListTokens", control_pb2.ListTokensRequest())
        return list(resp.tokens)

    async def revoke_token(self, token_id: str) -> control_pb2.RevokeTokenResponse:
        return await self._unary("RevokeToken", control_pb2.RevokeTokenRequest(id=token_id))

    async def list_nodes(self, consistent: bool = False) -> list[entities_pb2.Node]:
        resp = await self._unary("ListNodes", control_pb2.ListNodesRequest(consistent=consistent))
        return list(resp.nodes)

    async def create_join_token(self, ttl_seconds: int) -> control_pb2.CreateJoinTokenResponse:
        return await self._unary(
            "CreateJoinToken", control_pb2.CreateJoinTokenRequest(ttl_seconds=ttl_seconds)
        )

    async def remove_node(self, name: str) -> control_pb2.RemoveNodeResponse:
        return await self._unary("RemoveNode", control_pb2.RemoveNodeRequest(name=name))

    async def backup(self) -> tuple[bytes, int]:
        chunks, audit_id = [], 0
        try:
            async for chunk in self.control.Backup(
                control_pb2.BackupRequest(), timeout=self.timeout * 4
            ):
                chunks.append(chunk.data)
                audit_id = chunk.audit_id or audit_id
        except grpc.aio.AioRpcError as err:
            raise self.translate(err) from None
        return b"".join(chunks), audit_id

    async def logs(
        self,
        deployment: str,
        service: str,
        *,
        replica_id: str = "",
        follow: bool = False,
        since_ns: int = 0,
        tail: int = 0,
        previous: bool = False,
    ) -> AsyncIterator[entities_pb2.LogBatch]:
        """Batches of merged log lines until the server ends the stream; no
        deadline (a backlog read by a slow pipe, or a follow, may take as long
        as it takes)."""
        request = control_pb2.LogsRequest(
            deployment=deployment, service=service, replica_id=replica_id, follow=follow,
            tail=tail, previous=previous,
        )  # fmt: skip
        if since_ns:
            request.since.FromNanoseconds(since_ns)
        call = self.control.StreamLogs(request)
        try:
            async for batch in call:
                yield batch
        except grpc.aio.AioRpcError as err:
            raise self.translate(err) from None
        finally:
            call.cancel()  # a no-op once finished; frees the stream if we stopped reading
