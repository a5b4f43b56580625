"""LogService on a real single-node raft cluster and a real process runtime.
The agent is not part of these tests: replicas are created, started, stopped
and removed through the runtime directly, with the ids the state assigns."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from jaco.logview import from_batch
from jaco.v1 import control_pb2
from jacod import errors
from jacod.api.logs import LogQuery

from .harness import NODE, Follower, Harness, collect, request, ts_ns


async def two_finished_replicas(h: Harness) -> None:
    await h.deploy("shop", {"web": 2, "worker": 1})
    t0 = time.time() + 0.3  # both replicas are running by then
    await h.scheduled("shop/web/0", "a", t0, [1, 3, 5])
    await h.scheduled("shop/web/1", "b", t0, [2, 4, 6], stderr="oops")
    await h.sh("shop/worker/0", "echo not-web")
    for rid in ("shop/web/0", "shop/web/1", "shop/worker/0"):
        await h.runtime.wait(rid)


async def test_backlog_of_two_replicas_merged_in_time_order(harness: Harness) -> None:
    await two_finished_replicas(harness)
    lines = await collect(harness.service().stream(request()))
    stdout = [ln.line for ln in lines if ln.stream == "stdout"]
    assert stdout == ["a1", "b2", "a3", "b4", "a5", "b6"]
    assert [ts_ns(ln) for ln in lines] == sorted(ts_ns(ln) for ln in lines)
    assert {ln.replica_id for ln in lines} == {"shop/web/0", "shop/web/1"}
    assert {ln.node for ln in lines} == {NODE}
    assert [(ln.stream, ln.line) for ln in lines if ln.stream == "stderr"] == [("stderr", "oops")]
    # started/exited lines of each run come from the runtime as `system`
    assert sum(ln.stream == "system" for ln in lines) == 4


async def test_tail_is_the_last_lines_across_replicas(harness: Harness) -> None:
    await two_finished_replicas(harness)
    svc = harness.service()
    full = await collect(svc.stream(request()))
    lines = await collect(svc.stream(request(tail=4)))
    assert lines == full[-4:]
    assert [ln.line for ln in lines] == ["exited with code 0", "b6", "oops", "exited with code 0"]
    assert [ln.replica_id for ln in lines] == ["shop/web/0"] + ["shop/web/1"] * 3
    one = await collect(svc.stream(request(replica_id="shop/web/0", tail=2)))
    assert [ln.line for ln in one] == ["a5", "exited with code 0"]
    since = ts_ns(lines[0])
    later = await collect(svc.stream(request(since_ns=since)))
    assert [ln.line for ln in later] == [ln.line for ln in lines]


async def test_unknown_names_and_bad_requests(harness: Harness) -> None:
    await harness.deploy("shop", {"web": 1, "worker": 1})
    svc = harness.service()
    with pytest.raises(errors.NotFound,
                       match="deployment 'shopp' does not exist; deployments: shop"):
        await collect(svc.stream(request("shopp/web")))
    with pytest.raises(errors.NotFound,
                       match="deployment 'shop' has no service 'wbe'; services: web, worker"):
        await collect(svc.stream(request("shop/wbe", follow=True)))
    with pytest.raises(errors.NotFound, match="replica shop/web/7 does not exist"):
        await collect(svc.stream(request(replica_id="shop/web/7")))
    with pytest.raises(errors.InvalidArgument, match="previous cannot be combined with follow"):
        await collect(svc.stream(request(follow=True, previous=True)))
    with pytest.raises(errors.InvalidArgument, match="not a replica of shop/web"):
        await collect(svc.stream(request(replica_id="shop/worker/0")))
    # known but silent (not started by any agent yet): an empty answer, not an error
    assert await collect(svc.stream(request())) == []


async def test_previous_run(harness: Harness) -> None:
    h = harness
    await h.deploy("shop", {"web": 1})
    await h.sh("shop/web/0", "echo first-run")
    await h.runtime.wait("shop/web/0")
    await h.runtime.start("shop/web/0")  # a restart: the first run becomes `previous`
    await h.runtime.wait("shop/web/0")
    svc = h.service()
    prev = await collect(svc.stream(request(previous=True)))
    assert "first-run" in [ln.line for ln in prev]
    now = await collect(svc.stream(request()))
    assert [ln.line for ln in now if ln.stream == "stdout"] == ["first-run"]  # same command
    assert ts_ns(now[0]) > ts_ns(prev[-1])


async def test_follow_across_a_restart_until_the_deployment_is_deleted(harness: Harness) -> None:
    h = harness
    await h.deploy("shop", {"web": 2})
    await h.ticker("shop/web/0", "a")
    await h.ticker("shop/web/1", "b", pause=0.07)
    f = Follower(h.service().stream(request(follow=True, tail=2)))
    try:
        await f.until(lambda ls: sum(ln.line.startswith("a ") for ln in ls) >= 5, what="a lines")
        # kill -9 the replica's process; the "agent" starts it again
        info = await h.runtime.inspect("shop/web/0")
        assert info is not None and info.pid
        os.kill(info.pid, signal.SIGKILL)
        await h.runtime.wait("shop/web/0")
        await h.runtime.start("shop/web/0")
        await f.until(lambda ls: sum(ln.line == "a 2" for ln in ls) == 2, what="a restarted")
        # deleting the deployment: the agent stops and removes its replicas
        await h.delete("shop")
        for rid in ("shop/web/0", "shop/web/1"):
            await h.runtime.stop(rid, grace_s=2)
            await h.runtime.remove(rid)
        await asyncio.wait_for(f.task, 10)
    finally:
        await f.stop()
    text = f.text(None)
    assert len(text) >= 10
    assert text[-1] == "deployment shop was deleted"
    assert f.lines[-1].stream == "system" and f.lines[-1].replica_id == ""
    a = [t for t in text if t.startswith("a ")]
    restart = a.index("a 0", 1)  # counting starts again after the restart...
    first = int(a[0].split()[1])  # (`tail` may have cut the first lines)
    assert a[:restart] == [f"a {i}" for i in range(first, first + restart)]  # ...none lost
    killed = text.index("exited with code 137 (killed by SIGKILL)")
    assert [i for i, t in enumerate(text) if t == "a 0"][-1] > killed
    # the stop lines came before the final line
    assert any(t.startswith("stop requested") for t in text)
    stamps = [ts_ns(ln) for ln in f.lines]
    assert stamps == sorted(stamps)
    # the tail applied across the replicas' backlog: at most 2 lines before live ones
    assert len(f.lines) > 2


async def test_follow_waits_for_a_service_and_picks_up_new_replicas(harness: Harness) -> None:
    h = harness
    await h.deploy("shop", {"web": 0})
    f = Follower(h.service().stream(request(follow=True)))
    try:
        await asyncio.sleep(0.3)
        assert f.lines == [] and not f.task.done()  # waits instead of failing
        await h.assign("shop", {"web": 1})
        await h.ticker("shop/web/0", "a")
        await f.until(lambda ls: "a 2" in [ln.line for ln in ls], what="first replica")
        await h.assign("shop", {"web": 2})
        await h.ticker("shop/web/1", "b")
        await f.until(lambda ls: "b 2" in [ln.line for ln in ls], what="second replica")
        assert {ln.replica_id for ln in f.lines} == {"shop/web/0", "shop/web/1"}
        # scaled down: web/1 is drained (its agent would stop it), then dropped
        await h.assign("shop", {"web": 1})
        await asyncio.sleep(1.5)  # drain_s=1.0
        count = sum(ln.replica_id == "shop/web/1" for ln in f.lines)
        await asyncio.sleep(0.3)
        assert sum(ln.replica_id == "shop/web/1" for ln in f.lines) == count
        assert f.lines[-1].replica_id == "shop/web/0"
        # scaled up again (its process kept running: no agent here): nothing repeated
        await h.assign("shop", {"web": 2})
        await f.until(lambda ls: sum(ln.replica_id == "shop/web/1" for ln in ls) > count + 3,
                      what="web/1 back")  # fmt: skip
        b = [ln.line for ln in f.lines if ln.line.startswith("b ")]
        assert b == [f"b {i}" for i in range(len(b))]
    finally:
        await f.stop()


async def test_deletion_ends_the_stream_even_if_nobody_stops_the_replicas(
    harness: Harness,
) -> None:
    h = harness
    await h.deploy("shop", {"web": 1})
    await h.ticker("shop/web/0", "a")
    f = Follower(h.service(drain_s=0.3).stream(request(follow=True)))
    try:
        await f.until(lambda ls: len(ls) > 3, what="some lines")
        await h.delete("shop")
        await asyncio.wait_for(f.task, 5)
    finally:
        await f.stop()
    assert f.text(None)[-1] == "deployment shop was deleted"


async def test_node_stream_sets_the_node_and_marks_the_end_of_the_backlog(
    harness: Harness,
) -> None:
    await two_finished_replicas(harness)
    svc = harness.service()
    batches = [b async for b in svc.node_stream(request(tail=1))]
    lines = [ln for b in batches for ln in from_batch(b)]
    assert [(ln.replica_id, ln.line) for ln in lines] == [("shop/web/1", "exited with code 0")]
    assert not any(b.caught_up for b in batches)  # not following: no marker
    f = Follower(svc.node_stream(request(follow=True, tail=1)))
    try:
        await f.until(lambda _: any(b.caught_up for b in f.batches), what="caught_up")
    finally:
        await f.stop()
    assert [b.caught_up for b in f.batches] == [True]  # the backlog's last batch, once
    assert [(ln.stream, ln.node) for ln in f.lines] == [("system", NODE)]


def test_query_from_a_request() -> None:
    q = LogQuery.from_pb(request(replica_id="shop/web/3", since_ns=5, tail=2))
    assert (q.deployment, q.service, q.replica_id, q.since_ns, q.tail) == (
        "shop", "web", "shop/web/3", 5, 2)  # fmt: skip
    only_id = LogQuery.from_pb(control_pb2.LogsRequest(replica_id="shop/web/3"))
    assert (only_id.deployment, only_id.service) == ("shop", "web")
    assert LogQuery.from_pb(q.to_pb()) == q
    resumed = q.after(10)
    assert (resumed.since_ns, resumed.tail) == (10, 0)
    with pytest.raises(errors.InvalidArgument, match="deployment and service are required"):
        LogQuery.from_pb(control_pb2.LogsRequest(deployment="shop"))
    with pytest.raises(errors.InvalidArgument, match="DEPLOYMENT/SERVICE/ORDINAL"):
        LogQuery.from_pb(control_pb2.LogsRequest(replica_id="shop/web"))
