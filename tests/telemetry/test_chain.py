"""The spec's apply chain, built with the facade exactly as the wiring uses
it: cli.apply -> (RPC) -> raft.commit -> raft.apply (on the raft thread) ->
scheduler.reconcile.<service> -> runtime.<op> (in an agent worker, later).

A stand-in for the end-to-end test with real jacod processes: it proves the
helpers compose into the spec's parent/child chain, and shows the wiring."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import grpc

from obs import telemetry
from obs.telemetry import SPAN_ATTRIBUTES, names
from tests.helpers.otlp import OtlpReceiver, chain, without_rpc
from tests.telemetry import echo
from tests.telemetry.conftest import flush

SPEC_CHAIN = [
    names.CLI_APPLY, names.RAFT_COMMIT, names.RAFT_APPLY, "scheduler.reconcile.web",
]  # fmt: skip


class FakeNode:
    """One jacod: an Apply RPC proposes a command; the raft thread applies it;
    the scheduler reconciles; the agent runs the runtime ops."""

    def __init__(self) -> None:
        self.runtime_done = threading.Event()

    def raft_apply(self, cmd: dict[str, str], loop: asyncio.AbstractEventLoop) -> None:
        # PySyncObj's thread: nothing but the envelope links it to the proposer.
        with telemetry.span(
            names.RAFT_APPLY, traceparent=cmd["traceparent"], identity=cmd["identity"],
            deployment=cmd["deployment"], only_in_trace=True,
        ):  # fmt: skip
            applied_tp = telemetry.current_traceparent()  # -> Applied(..., traceparent)
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self.scheduler(cmd, applied_tp)))

    async def scheduler(self, cause: dict[str, str], applied_tp: str) -> None:
        with telemetry.use_context(applied_tp), telemetry.bind(identity="system"):
            spans = {
                svc: telemetry.span(
                    names.reconcile_span(svc), deployment=cause["deployment"], service=svc
                ).start()
                for svc in ("web", "db")
            }
            # placement ... propose AssignReplicas with one traceparent per assignment
            assignments = {svc: sp.traceparent for svc, sp in spans.items()}
            for sp in spans.values():
                sp.end()
        await self.agent_worker("shop/web/0", assignments["web"])

    async def agent_worker(self, replica_id: str, assignment_tp: str) -> None:
        # Later, in a worker task of its own: re-enter the assignment's trace.
        with telemetry.use_context(assignment_tp), telemetry.bind(identity="system"):
            for op in ("image_pull", "container_create", "container_start"):
                with telemetry.runtime_span(op, replica_id):
                    await asyncio.sleep(0)
        self.runtime_done.set()

    async def apply(self, request: bytes, ctx: grpc.aio.ServicerContext) -> bytes:
        loop = asyncio.get_running_loop()
        with telemetry.span(names.RAFT_COMMIT, deployment="shop"):
            cmd = {
                "traceparent": telemetry.current_traceparent(),
                "identity": "local",
                "deployment": "shop",
            }
            done = loop.create_future()

            def on_raft_thread() -> None:
                self.raft_apply(cmd, loop)
                loop.call_soon_threadsafe(done.set_result, None)

            threading.Thread(target=on_raft_thread).start()
            await done
        return b"ok"

    def handlers(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            "jaco.v1.Control", {"Apply": grpc.unary_unary_rpc_method_handler(self.apply)}
        )


async def test_apply_chain(telemetry_on: OtlpReceiver) -> None:
    telemetry.set_identity_source(echo.identity.get)
    node = FakeNode()
    with echo.ThreadedServer(node.handlers()) as srv:
        async with echo.channel(srv.port) as ch:
            with telemetry.span(names.CLI_APPLY, identity="local"):
                await ch.unary_unary("/jaco.v1.Control/Apply")(b"spec")
        assert await asyncio.to_thread(node.runtime_done.wait, 10)
    flush()
    spans = telemetry_on.wait_for_spans(
        {*SPEC_CHAIN, "runtime.image_pull", "runtime.container_start"}
    )
    [root] = [s for s in spans if s.name == names.CLI_APPLY]
    assert {s.trace_id for s in spans} == {root.trace_id}  # one trace for the whole apply
    for op in ("image_pull", "container_create", "container_start"):
        [span] = [s for s in spans if s.name == f"runtime.{op}"]
        full = chain(span, spans)
        assert without_rpc(full, spans) == [*SPEC_CHAIN, f"runtime.{op}"], full
        assert full[1:3] == ["jaco.v1.Control/Apply"] * 2  # client, server: RPC conventions
    for s in spans:
        attrs: dict[str, Any] = s.attributes
        assert set(SPAN_ATTRIBUTES) <= set(attrs), s.name
        assert attrs[names.CLUSTER_ID] == "c-1" and attrs[names.NODE] == "node-a"
    by_name = {s.name: s for s in spans}
    assert by_name[names.RAFT_APPLY].attributes[names.IDENTITY] == "local"
    assert by_name["runtime.container_start"].attributes[names.REPLICA_ID] == "shop/web/0"
    assert by_name["runtime.container_start"].attributes[names.SERVICE] == "web"
    assert by_name["scheduler.reconcile.db"].parent_span_id == by_name[names.RAFT_APPLY].span_id
