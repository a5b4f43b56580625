"""Spans with telemetry on, checked at a real OTLP/gRPC receiver: the six
required attributes on every span, set in one place, and traces continued
across threads and tasks through a traceparent string."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import threading
import time

import pytest

from obs import telemetry
from obs.telemetry import SPAN_ATTRIBUTES, names
from tests.helpers.otlp import OtlpReceiver, ReceivedSpan
from tests.telemetry.conftest import flush


def exported(rx: OtlpReceiver, *wanted: str) -> dict[str, ReceivedSpan]:
    flush()
    spans = rx.wait_for_spans(set(wanted), timeout=10)
    return {s.name: s for s in spans}


def six(span: ReceivedSpan) -> dict[str, object]:
    return {k: span.attributes.get(k) for k in SPAN_ATTRIBUTES}


def test_every_span_carries_the_six_attributes(telemetry_on: OtlpReceiver) -> None:
    with telemetry.span("outer"):
        with telemetry.bind(deployment="shop", service="web"):
            with telemetry.span("inner", replica_id="shop/web/0", identity="alice"):
                pass
            with telemetry.span("sibling"):
                pass
    got = exported(telemetry_on, "outer", "inner", "sibling")
    for span in got.values():
        assert set(SPAN_ATTRIBUTES) <= set(span.attributes), span.name
        assert all(isinstance(span.attributes[k], str) for k in SPAN_ATTRIBUTES)
    assert six(got["outer"]) == {
        names.CLUSTER_ID: "c-1", names.NODE: "node-a", names.DEPLOYMENT: "",
        names.SERVICE: "", names.REPLICA_ID: "", names.IDENTITY: "",
    }  # fmt: skip
    assert six(got["inner"]) == {
        names.CLUSTER_ID: "c-1", names.NODE: "node-a", names.DEPLOYMENT: "shop",
        names.SERVICE: "web", names.REPLICA_ID: "shop/web/0", names.IDENTITY: "alice",
    }  # fmt: skip
    # A span's own binding ends with it.
    assert got["sibling"].attributes[names.REPLICA_ID] == ""
    assert got["sibling"].attributes[names.SERVICE] == "web"
    assert got["inner"].parent_span_id == got["outer"].span_id
    assert got["outer"].resource["service.name"] == "jacod"
    assert got["outer"].resource[names.NODE] == "node-a"
    assert got["outer"].resource[names.CLUSTER_ID] == "c-1"


def test_cluster_id_set_later_reaches_new_spans(telemetry_on: OtlpReceiver) -> None:
    telemetry.set_cluster(cluster_id="c-2")
    with telemetry.span("after"):
        pass
    got = exported(telemetry_on, "after")
    assert got["after"].attributes[names.CLUSTER_ID] == "c-2"
    assert got["after"].resource[names.CLUSTER_ID] == "c-1"  # the resource is immutable


def test_identity_source_and_update(telemetry_on: OtlpReceiver) -> None:
    request_identity: contextvars.ContextVar[str] = contextvars.ContextVar("id", default="system")
    telemetry.set_identity_source(request_identity.get)
    with telemetry.span("background"):
        pass

    async def rpc() -> None:
        request_identity.set("local")
        with telemetry.span("request"):
            telemetry.update(deployment="shop")
            with telemetry.span("child", identity="raft-cmd-identity"):
                pass

    asyncio.run(rpc())
    got = exported(telemetry_on, "background", "request", "child")
    assert got["background"].attributes[names.IDENTITY] == "system"
    assert got["request"].attributes[names.IDENTITY] == "local"
    assert got["request"].attributes[names.DEPLOYMENT] == "shop"  # update() reaches the span
    assert got["child"].attributes[names.IDENTITY] == "raft-cmd-identity"  # bound wins
    assert got["child"].attributes[names.DEPLOYMENT] == "shop"


def test_explicit_attribute_wins_over_binding(telemetry_on: OtlpReceiver) -> None:
    with telemetry.bind(service="web"):
        with telemetry.span("s", attributes={names.SERVICE: "db", "other": 1}):
            pass
    got = exported(telemetry_on, "s")
    assert got["s"].attributes[names.SERVICE] == "db"
    assert got["s"].attributes["other"] == 1


def test_traceparent_continues_on_another_thread(telemetry_on: OtlpReceiver) -> None:
    """What raft does: the proposer puts current_traceparent() in the command,
    the FSM applies it on PySyncObj's thread (a different context entirely)."""
    with telemetry.span(names.RAFT_COMMIT, deployment="shop", identity="alice") as commit:
        tp = telemetry.current_traceparent()
        assert tp == commit.traceparent and tp.startswith("00-")
    seen: list[str] = []

    def raft_thread() -> None:
        assert telemetry.current_traceparent() == ""  # nothing leaks by context
        with telemetry.span(names.RAFT_APPLY, traceparent=tp, deployment="shop", identity="alice"):
            seen.append(telemetry.current_traceparent())

    t = threading.Thread(target=raft_thread)
    t.start()
    t.join()
    got = exported(telemetry_on, names.RAFT_COMMIT, names.RAFT_APPLY)
    commit_span, apply_span = got[names.RAFT_COMMIT], got[names.RAFT_APPLY]
    assert apply_span.trace_id == commit_span.trace_id
    assert apply_span.parent_span_id == commit_span.span_id
    assert seen == [f"00-{apply_span.trace_id}-{apply_span.span_id}-{tp[-2:]}"]
    assert apply_span.attributes[names.IDENTITY] == "alice"


async def test_use_context_parents_later_work(telemetry_on: OtlpReceiver) -> None:
    """An agent's worker runs a replica's runtime ops long after the raft
    apply that assigned it: it re-enters the assignment's trace."""
    with telemetry.span("scheduler.reconcile.web"):
        tp = telemetry.current_traceparent()

    async def worker() -> None:
        with telemetry.use_context(tp), telemetry.bind(replica_id="shop/web/0"):
            with telemetry.span("runtime.container_create"):
                await asyncio.sleep(0)
            async with telemetry.span("runtime.container_start"):
                await asyncio.sleep(0)

    await asyncio.create_task(worker())
    got = exported(
        telemetry_on,
        "scheduler.reconcile.web",
        "runtime.container_create",
        "runtime.container_start",
    )
    for op in ("runtime.container_create", "runtime.container_start"):
        assert got[op].parent_span_id == got["scheduler.reconcile.web"].span_id
        assert got[op].attributes[names.REPLICA_ID] == "shop/web/0"


def test_errors_mark_the_span(telemetry_on: OtlpReceiver) -> None:
    with pytest.raises(ValueError), telemetry.span("fails"):
        raise ValueError("image not found")
    with telemetry.span("rejected") as s:
        s.set_error("deployment shop not found")
    with pytest.raises(asyncio.CancelledError), telemetry.span("cancelled"):
        raise asyncio.CancelledError
    got = exported(telemetry_on, "fails", "rejected", "cancelled")
    assert got["fails"].status == "error"
    assert "image not found" in got["fails"].status_message
    assert "exception" in got["fails"].events
    assert got["rejected"].status == "error"
    assert got["cancelled"].status == "unset"


async def test_span_across_async_generator_yields(
    telemetry_on: OtlpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    async def stream() -> object:
        with telemetry.span("stream"):
            for i in range(3):
                with telemetry.span(f"item{i}"):
                    pass
                yield i

    items = [i async for i in stream()]  # type: ignore[attr-defined]
    assert items == [0, 1, 2]
    # Abandoned and closed by the garbage collector elsewhere: no error, span ends.
    gen = stream()
    await gen.__anext__()  # type: ignore[attr-defined]
    del gen
    gc.collect()
    await asyncio.sleep(0.01)  # the loop's finalizer closes it in a task of its own
    got = exported(telemetry_on, "stream", "item0", "item1", "item2")
    assert len(telemetry_on.spans_named("stream")) == 2
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert got["item2"].parent_span_id in {s.span_id for s in telemetry_on.spans_named("stream")}


def test_inject_extract_round_trip(telemetry_on: OtlpReceiver) -> None:
    from opentelemetry import baggage
    from opentelemetry import context as otel_context

    token = otel_context.attach(baggage.set_baggage("tenant", "blue"))
    try:
        with telemetry.span("client-side") as s:
            md = telemetry.inject([("x-jaco-peer", "n:1:mac"), ("traceparent", "stale")])
    finally:
        otel_context.detach(token)
    keys = [k for k, _ in md]
    assert keys.count("traceparent") == 1 and "x-jaco-peer" in keys
    assert dict(md)["traceparent"] == s.traceparent
    assert dict(md)["baggage"] == "tenant=blue"
    parent = telemetry.extract(md)
    assert baggage.get_baggage("tenant", parent) == "blue"  # type: ignore[arg-type]
    with telemetry.span("server-side", context=parent, kind="server"):
        pass
    got = exported(telemetry_on, "client-side", "server-side")
    assert got["server-side"].parent_span_id == got["client-side"].span_id
    assert got["server-side"].kind == "server"


def test_invalid_traceparent_starts_a_new_trace(telemetry_on: OtlpReceiver) -> None:
    assert telemetry.context_from_traceparent("") is None
    with telemetry.span("orphan", traceparent="00-garbage"):
        pass
    got = exported(telemetry_on, "orphan")
    assert got["orphan"].parent_span_id == ""


def test_sibling_spans_started_without_becoming_current(telemetry_on: OtlpReceiver) -> None:
    with telemetry.span(names.RAFT_APPLY) as parent:
        t0 = time.time_ns()  # placement starts before the services are known
        started = [
            telemetry.span(names.reconcile_span(svc), deployment="shop", service=svc).start(t0)
            for svc in ("db", "web")
        ]
        assert telemetry.current_traceparent() == parent.traceparent  # still the parent
        tps = [s.traceparent for s in started]
        for s in started:
            s.end()
    got = exported(
        telemetry_on, names.RAFT_APPLY, "scheduler.reconcile.db", "scheduler.reconcile.web"
    )
    for svc, tp in zip(("db", "web"), tps, strict=True):
        span = got[f"scheduler.reconcile.{svc}"]
        assert span.parent_span_id == got[names.RAFT_APPLY].span_id
        assert span.attributes[names.SERVICE] == svc
        assert tp.split("-")[2] == span.span_id
        assert span.start_ns == t0
    assert got[names.RAFT_APPLY].attributes[names.SERVICE] == ""  # the binding did not leak


def test_only_in_trace(telemetry_on: OtlpReceiver) -> None:
    """Background work (a periodic status report's commit) starts no trace."""
    with telemetry.span(names.RAFT_COMMIT, only_in_trace=True) as s:
        assert not s.recording and telemetry.current_traceparent() == ""
    with telemetry.span("request"):
        with telemetry.span("inside", only_in_trace=True) as s:
            assert s.recording
    with telemetry.span("request2") as r:
        tp = r.traceparent
    with telemetry.span("continued", traceparent=tp, only_in_trace=True) as s:
        assert s.recording
    with telemetry.span("bad-parent", traceparent="00-zz", only_in_trace=True) as s:
        assert not s.recording
    flush()
    telemetry_on.wait_for_spans({"request", "inside", "request2", "continued"})
    assert {s.name for s in telemetry_on.spans} == {"request", "inside", "request2", "continued"}


def test_runtime_span(telemetry_on: OtlpReceiver) -> None:
    with telemetry.runtime_span("container_inspect", "shop/web/0") as s:
        assert not s.recording  # periodic, outside any trace: no span
    with telemetry.span("scheduler.reconcile.web") as parent:
        tp = parent.traceparent
    with telemetry.use_context(tp):
        with telemetry.runtime_span("image_pull", "shop/web/0"):
            pass
        with telemetry.runtime_span("container_wait", "shop/web/0") as s:
            assert not s.recording  # lives as long as the container: never a span
    got = exported(telemetry_on, "scheduler.reconcile.web", "runtime.image_pull")
    pull = got["runtime.image_pull"]
    assert pull.parent_span_id == got["scheduler.reconcile.web"].span_id
    assert (pull.attributes[names.DEPLOYMENT], pull.attributes[names.SERVICE]) == ("shop", "web")
    assert pull.attributes[names.REPLICA_ID] == "shop/web/0"
    assert {s.name for s in telemetry_on.spans} == {"scheduler.reconcile.web", "runtime.image_pull"}


def test_required_attributes_fast_and_public_paths_agree() -> None:
    """The processor writes straight into a new span's attributes only where
    the SDK's public path would store the same thing; a value length limit
    (which must truncate) or a non-string binding takes the public path."""
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from obs.telemetry import binding
    from obs.telemetry.processor import RequiredAttributes, fast_set

    def spans(limits: SpanLimits | None) -> list[dict[str, object]]:
        memory = InMemorySpanExporter()
        provider = TracerProvider(span_limits=limits) if limits else TracerProvider()
        provider.add_span_processor(RequiredAttributes())
        provider.add_span_processor(SimpleSpanProcessor(memory))
        tracer = provider.get_tracer("t")
        with tracer.start_as_current_span("a", attributes={names.SERVICE: "db", "x": 1}):
            pass
        with tracer.start_as_current_span("b", attributes={names.SERVICE: ""}) as b:
            assert fast_set(b, {}) is (limits is None)  # type: ignore[arg-type]
        return [dict(s.attributes or {}) for s in memory.get_finished_spans()]

    binding.Process.cluster_id, binding.Process.node = "cluster-1", "node-a"
    token = binding.bound.set(("shop", None, None, None))  # bind() needs telemetry on
    try:
        fast, truncated = spans(None), spans(SpanLimits(max_span_attribute_length=3))
    finally:
        binding.bound.reset(token)
        binding.Process.cluster_id = binding.Process.node = ""
    # "" is replaced and moves after the others, as the SDK's set_attributes does.
    assert fast == [
        {names.SERVICE: "db", "x": 1, names.CLUSTER_ID: "cluster-1", names.NODE: "node-a",
         names.DEPLOYMENT: "shop", names.REPLICA_ID: "", names.IDENTITY: ""},
        {names.CLUSTER_ID: "cluster-1", names.NODE: "node-a", names.DEPLOYMENT: "shop",
         names.SERVICE: "", names.REPLICA_ID: "", names.IDENTITY: ""},
    ]  # fmt: skip
    assert list(fast[1]) == [names.CLUSTER_ID, names.NODE, names.DEPLOYMENT, names.SERVICE,
                             names.REPLICA_ID, names.IDENTITY]  # fmt: skip
    assert truncated[0][names.CLUSTER_ID] == "clu" and truncated[0][names.SERVICE] == "db"
    assert list(truncated[1]) == list(fast[1])
