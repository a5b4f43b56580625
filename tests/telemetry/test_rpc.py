"""W3C propagation over real grpc.aio calls: client span -> traceparent in
the metadata -> server span -> the handler's spans, unary and server-streaming,
with the OpenTelemetry RPC attributes and status codes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from obs import telemetry
from obs.telemetry import SPAN_ATTRIBUTES, names
from tests.helpers import clean_env
from tests.helpers.otlp import OtlpReceiver, ReceivedSpan
from tests.telemetry import echo
from tests.telemetry.conftest import flush

SAY, COUNT = f"{echo.SERVICE}/Say", f"{echo.SERVICE}/Count"


@pytest.fixture
def server(telemetry_on: OtlpReceiver) -> Iterator[echo.ThreadedServer]:
    telemetry.set_identity_source(echo.identity.get)
    echo.received.clear()
    with echo.ThreadedServer() as srv:
        yield srv


def one(spans: list[ReceivedSpan], name: str, kind: str | None = None) -> ReceivedSpan:
    found = [s for s in spans if s.name == name and (kind is None or s.kind == kind)]
    assert len(found) == 1, (name, kind, [(s.name, s.kind) for s in spans])
    return found[0]


async def test_unary_parent_child_across_the_boundary(
    server: echo.ThreadedServer, telemetry_on: OtlpReceiver
) -> None:
    async with echo.channel(server.port) as ch:
        with telemetry.span(names.CLI_APPLY, identity="alice") as cli:
            assert await echo.method(ch, "Say")(b"jaco") == b"hello jaco"
    flush()
    spans = telemetry_on.wait_for_spans({names.CLI_APPLY, SAY, "echo.work"})
    root = one(spans, names.CLI_APPLY)
    client = one(spans, SAY, "client")
    srv = one(spans, SAY, "server")
    work = one(spans, "echo.work")
    assert {s.trace_id for s in (root, client, srv, work)} == {root.trace_id}
    assert client.parent_span_id == root.span_id
    assert srv.parent_span_id == client.span_id
    assert work.parent_span_id == srv.span_id
    # What travelled: the client span's context, in W3C form.
    assert (
        echo.received[-1]["traceparent"]
        == f"00-{client.trace_id}-{client.span_id}-" + (cli.traceparent[-2:])
    )
    for s in (client, srv):
        assert s.attributes["rpc.system"] == "grpc"
        assert s.attributes["rpc.service"] == echo.SERVICE
        assert s.attributes["rpc.method"] == "Say"
        assert s.attributes["rpc.grpc.status_code"] == 0
        assert s.status == "unset"
    for s in spans:
        assert set(SPAN_ATTRIBUTES) <= set(s.attributes), s.name
    assert client.attributes[names.IDENTITY] == "alice"
    # Resolved by the identity interceptor after the server span started.
    assert srv.attributes[names.IDENTITY] == "local"
    assert work.attributes[names.IDENTITY] == "local"
    assert work.attributes[names.DEPLOYMENT] == "shop"


async def test_server_streaming(server: echo.ThreadedServer, telemetry_on: OtlpReceiver) -> None:
    async with echo.channel(server.port) as ch:
        with telemetry.span("cli.logs"):
            items = [item async for item in echo.method(ch, "Count", stream=True)(b"3")]
    assert items == [b"0", b"1", b"2"]
    flush()
    spans = telemetry_on.wait_for_spans({"cli.logs", COUNT, "echo.item2"})
    root = one(spans, "cli.logs")
    client = one(spans, COUNT, "client")
    srv = one(spans, COUNT, "server")
    assert client.parent_span_id == root.span_id
    assert srv.parent_span_id == client.span_id
    for i in range(3):
        assert one(spans, f"echo.item{i}").parent_span_id == srv.span_id
    assert client.attributes["rpc.grpc.status_code"] == 0
    assert srv.attributes["rpc.grpc.status_code"] == 0
    # The client span covers the whole stream.
    assert client.start_ns <= srv.start_ns and client.end_ns >= srv.end_ns - 5_000_000


async def test_stream_cancelled_by_the_reader(
    server: echo.ThreadedServer, telemetry_on: OtlpReceiver
) -> None:
    async with echo.channel(server.port) as ch:
        call = echo.method(ch, "Count", stream=True)(b"1000")
        async for _ in call:
            break
        call.cancel()
    flush()
    spans = telemetry_on.wait_for_spans(
        lambda got: any(s.name == COUNT and s.kind == "client" for s in got)
    )
    client = one(spans, COUNT, "client")
    assert client.attributes["rpc.grpc.status_code"] == grpc.StatusCode.CANCELLED.value[0]
    assert client.status == "error"


async def test_status_codes(server: echo.ThreadedServer, telemetry_on: OtlpReceiver) -> None:
    async with echo.channel(server.port) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as not_found:
            await echo.method(ch, "Fail")(b"")
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await echo.method(ch, "Boom")(b"")
    # The caller sees exactly what it would without telemetry.
    assert not_found.value.code() == grpc.StatusCode.NOT_FOUND
    assert not_found.value.details() == "no such thing"
    assert unknown.value.code() == grpc.StatusCode.UNKNOWN
    flush()
    fail, boom = f"{echo.SERVICE}/Fail", f"{echo.SERVICE}/Boom"
    spans = telemetry_on.wait_for_spans(lambda got: sum(s.name in (fail, boom) for s in got) == 4)
    code = {(s.name, s.kind): s for s in spans}
    assert code[(fail, "client")].attributes["rpc.grpc.status_code"] == 5
    assert code[(fail, "client")].status == "error"
    assert code[(fail, "server")].attributes["rpc.grpc.status_code"] == 5
    # NOT_FOUND is the caller's problem, not a server error (RPC conventions).
    assert code[(fail, "server")].status == "unset"
    assert code[(boom, "client")].attributes["rpc.grpc.status_code"] == 2
    assert code[(boom, "server")].attributes["rpc.grpc.status_code"] == 2
    assert code[(boom, "server")].status == "error"
    assert "exception" in code[(boom, "server")].events


async def test_without_client_interceptor_the_server_starts_a_new_trace(
    server: echo.ThreadedServer, telemetry_on: OtlpReceiver
) -> None:
    """Control: the link above comes from the metadata, not from a shared context."""
    async with echo.channel(server.port, traced=False) as ch:
        with telemetry.span("untraced-caller"):
            await echo.method(ch, "Say")(b"x")
    flush()
    spans = telemetry_on.wait_for_spans({"untraced-caller", SAY})
    assert "traceparent" not in echo.received[-1]
    srv = one(spans, SAY, "server")
    assert srv.parent_span_id == ""
    assert srv.trace_id != one(spans, "untraced-caller").trace_id


async def test_server_span_helper_in_an_existing_interceptor(telemetry_on: OtlpReceiver) -> None:
    """``server_span`` is what jacod's own interceptor can call instead of
    adding a second interceptor."""

    class Existing(grpc.aio.ServerInterceptor):
        async def intercept_service(self, continuation, details):  # type: ignore[no-untyped-def]
            handler = await continuation(details)
            md = {k: v for k, v in details.invocation_metadata or () if isinstance(v, str)}
            inner = handler.unary_unary

            async def unary(request, ctx):  # type: ignore[no-untyped-def]
                with telemetry.server_span(details.method, md, ctx):
                    return await inner(request, ctx)

            return grpc.unary_unary_rpc_method_handler(unary)

    srv = grpc.aio.server(interceptors=[Existing()])
    srv.add_generic_rpc_handlers((echo.handlers(),))
    port = srv.add_insecure_port("127.0.0.1:0")
    await srv.start()
    try:
        async with echo.channel(port) as ch:
            with telemetry.span("caller"):
                await echo.method(ch, "Say")(b"x")
    finally:
        await srv.stop(None)
    flush()
    spans = telemetry_on.wait_for_spans({"caller", SAY, "echo.work"})
    assert one(spans, SAY, "server").parent_span_id == one(spans, SAY, "client").span_id
    assert one(spans, "echo.work").parent_span_id == one(spans, SAY, "server").span_id


async def test_across_real_processes(telemetry_on: OtlpReceiver, tmp_path: Path) -> None:
    """The server in another process (service.name jacod) and this one as the
    client, both exporting to the same receiver: one trace."""
    port_file = tmp_path / "port"
    env = clean_env({k: v for k, v in os.environ.items() if k.startswith(("OTEL_", "JACO_"))})
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.telemetry.echo", str(port_file)],
        env=env, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text()):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "echo server did not start"
            time.sleep(0.02)
        port = int(port_file.read_text())
        async with echo.channel(port) as ch:
            with telemetry.span(names.CLI_APPLY):
                await echo.method(ch, "Say")(b"x")
                _ = [i async for i in echo.method(ch, "Count", stream=True)(b"2")]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # the server flushes its telemetry and exits
        rc = proc.wait(20)
    assert rc == 0, proc.stderr.read() if proc.stderr else ""
    flush()
    spans = telemetry_on.wait_for_spans(
        lambda got: {"echo.work", "echo.item1", names.CLI_APPLY} <= {s.name for s in got}
    )
    root = one(spans, names.CLI_APPLY)
    trace = [s for s in spans if s.trace_id == root.trace_id]
    assert {s.name for s in trace} >= {names.CLI_APPLY, SAY, COUNT, "echo.work", "echo.item1"}
    srv_say = one(trace, SAY, "server")
    assert srv_say.parent_span_id == one(trace, SAY, "client").span_id
    assert srv_say.attributes[names.NODE] == "server-node"
    assert srv_say.attributes[names.IDENTITY] == "local"
    assert one(trace, COUNT, "server").parent_span_id == one(trace, COUNT, "client").span_id
    assert {s.resource["service.name"] for s in trace if s.kind == "server"} == {"jacod"}
    assert srv_say.resource["service.instance.id"] != root.resource["service.instance.id"]
