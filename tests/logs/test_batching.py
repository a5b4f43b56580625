"""Lines travel in batches: bounded ``LogBatch`` columns on the wire, a burst
in few messages, a lone line at once, order kept across batch boundaries."""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from jaco.logview import Line, from_batch
from jaco.v1 import control_pb2, node_pb2_grpc
from jaco.v1 import entities_pb2 as pb
from jacod.api.logwire import MAX_BYTES, MAX_LINES, Received, decode, encode, encode_runs

from .harness import Follower, Harness, request, ts_ns

# Prints `count` numbered lines of `width` characters at once, then `after` once `gate` exists.
BURST = (
    "import os, sys, time\n"
    "count, width, gate, after = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]\n"
    "sys.stdout.write(''.join(f'{i:06d}'.ljust(width, '.') + '\\n' for i in range(count)))\n"
    "sys.stdout.flush()\n"
    "while gate and not os.path.exists(gate):\n"
    "    time.sleep(0.01)\n"
    "if after:\n"
    "    print(after, flush=True)\n"
)


def records(n: int, width: int = 10) -> list[Line]:
    return [Line(1_000 + i, "shop/web/0", "n1", "stdout", f"{i:06d}".ljust(width, "é"))
            for i in range(n)]  # fmt: skip


# -- the wire, pure ---------------------------------------------------------------


@pytest.mark.parametrize(("n", "width", "per_batch"), [
    (1, 10, 1),
    (1200, 10, MAX_LINES),  # short lines: the line bound
    (300, 1000, MAX_BYTES // 1048),  # long lines: the size bound (len + 48 a line)
])  # fmt: skip
def test_encode_bounds_each_batch_and_keeps_the_order(n: int, width: int, per_batch: int) -> None:
    recs = records(n, width)
    batches = list(encode(recs))
    assert [len(b.ts_ns) for b in batches[:-1]] == [per_batch] * (len(batches) - 1)
    assert len(batches) == math.ceil(n / per_batch)
    assert all(len(b.line) == len(b.ts_ns) == len(b.node) for b in batches)  # whole columns
    assert [r for b in batches for r in decode(b)] == recs  # nothing lost, nothing reordered
    assert all(sum(len(t) + 48 for t in b.line) <= MAX_BYTES for b in batches)


def test_a_line_larger_than_the_bound_goes_alone() -> None:
    recs = records(3)
    recs[1] = (*recs[1][:4], "x" * (MAX_BYTES + 1))
    assert [len(b.ts_ns) for b in encode(recs)] == [1, 1, 1]
    assert list(encode([])) == []


def test_decode_refuses_columns_of_different_lengths() -> None:
    [batch] = encode(records(2))
    del batch.node[1]
    with pytest.raises(ValueError):
        decode(batch)


def test_a_received_batch_goes_on_as_it_came_unless_cut() -> None:
    whole, cut = (next(encode(records(3))), next(encode(records(4))))
    run = Received(cut)
    assert list(run) == decode(cut) and run[1:3] == decode(cut)[1:3] and run[-1] == records(4)[-1]
    out = list(encode_runs([records(2), Received(whole), run[:2], run[2:]]))
    assert out[1] is whole  # not decoded and encoded again
    assert [r for b in out for r in decode(b)] == records(2) + records(3) + records(4)
    assert [len(b.ts_ns) for b in out] == [2, 3, 4]  # lists around it are joined
    del cut.line[0]
    with pytest.raises(ValueError):
        Received(cut)


# -- the service, on a real runtime -------------------------------------------------


async def burst(h: Harness, rid: str, count: int, width: int = 10, gate: Path | None = None,
                after: str = "") -> None:  # fmt: skip
    await h.run(rid, [sys.executable, "-c", BURST, str(count), str(width), str(gate or ""),
                      after])  # fmt: skip


async def test_a_burst_comes_in_few_bounded_batches_in_order(harness: Harness) -> None:
    h = harness
    await h.deploy("shop", {"web": 2})
    await burst(h, "shop/web/0", 5000)
    await burst(h, "shop/web/1", 300, width=1000)
    for rid in ("shop/web/0", "shop/web/1"):
        await h.runtime.wait(rid)
    batches = [b async for b in h.service().stream(request())]
    lines = [ln for b in batches for ln in from_batch(b)]
    # 5,000 + 300 lines (and 4 started/exited lines): tens of messages, not thousands
    assert len(lines) == 5304
    assert len(batches) <= len(lines) // 100, len(batches)  # ~26: reads and bounds split them
    assert all(len(b.ts_ns) <= MAX_LINES for b in batches)
    assert all(sum(len(t) + 48 for t in b.line) <= MAX_BYTES for b in batches)
    for rid, count in (("shop/web/0", 5000), ("shop/web/1", 300)):
        mine = [ln.line[:6] for ln in lines if ln.replica_id == rid and ln.stream == "stdout"]
        assert mine == [f"{i:06d}" for i in range(count)]  # across every batch boundary
    stamps = [ts_ns(ln) for ln in lines]
    assert stamps == sorted(stamps)


async def test_a_lone_line_is_sent_without_waiting_for_more(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    await h.deploy("shop", {"web": 1})
    gate = tmp_path / "gate"
    f = Follower(h.service().stream(request(follow=True)))
    try:
        await burst(h, "shop/web/0", 1, gate=gate, after="two")
        # out while the replica writes nothing more (it waits for the gate)
        await f.until(lambda ls: "000000...." in f.text(), what="the lone line")
        assert "two" not in f.text()
        gate.touch()
        await f.until(lambda ls: "two" in f.text(), what="the next line")
    finally:
        await f.stop()
    assert f.text() == ["000000....", "two"]


class BatchedPeer(node_pb2_grpc.NodeServiceServicer):
    """A node whose NodeLogs sends its backlog in bounded batches, caught_up
    set on the last one (not a message of its own), then nothing."""

    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines

    async def NodeLogs(  # noqa: N802 - the gRPC method name
        self, request: control_pb2.LogsRequest, ctx: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.LogBatch]:
        batches = list(encode(self.lines))
        batches[-1].caught_up = request.follow
        for batch in batches:
            yield batch
        if request.follow:
            await asyncio.Event().wait()


async def test_a_remote_backlog_in_batches_is_merged_in_order(
    harness: Harness, tmpdir_short: Path
) -> None:
    h = harness
    sock = tmpdir_short / "n2.sock"
    await h.join("n2", f"unix://{sock}")
    await h.deploy("shop", {"web": 2}, nodes={"shop/web/1": "n2"})
    await burst(h, "shop/web/0", 700)
    await h.runtime.wait("shop/web/0")
    local = [ln async for b in h.service().node_stream(request()) for ln in from_batch(b)]
    taken = {ln.ts_ns for ln in local}
    # n2's lines fall right after each of this node's (no equal stamps: their order is open)
    stamps = [ln.ts_ns + 1 for ln in local if ln.ts_ns + 1 not in taken]
    remote = [Line(ts, "shop/web/1", "n2", "stdout", f"r{i:04d}") for i, ts in enumerate(stamps)]
    assert len(remote) > 500
    # The generated servicer declares every RPC abstract; this peer only answers NodeLogs.
    server = grpc.aio.server()
    node_pb2_grpc.add_NodeServiceServicer_to_server(BatchedPeer(remote), server)  # type: ignore[abstract]
    server.add_insecure_port(f"unix:{sock}")
    await server.start()
    try:
        f = Follower(h.service().stream(request(follow=True)))
        try:
            await f.until(lambda ls: len(ls) == len(local) + len(remote), what="both nodes")
        finally:
            await f.stop()
    finally:
        await server.stop(0)
    # the two nodes' backlogs interleaved exactly, across every batch boundary
    assert f.lines == sorted(local + remote)
    assert len(f.batches) <= 20 and not any(b.caught_up for b in f.batches)  # never to clients


async def test_another_nodes_batches_go_on_in_order_without_their_caught_up(
    harness: Harness, tmpdir_short: Path
) -> None:
    h = harness
    sock = tmpdir_short / "n2.sock"
    await h.join("n2", f"unix://{sock}")
    await h.deploy("shop", {"web": 1}, nodes={"shop/web/0": "n2"})
    remote = [Line(10_000 + i, "shop/web/0", "n2", "stdout", f"r{i:04d}") for i in range(2500)]
    peer = BatchedPeer(remote)
    server = grpc.aio.server()
    node_pb2_grpc.add_NodeServiceServicer_to_server(peer, server)  # type: ignore[abstract]
    server.add_insecure_port(f"unix:{sock}")
    await server.start()
    try:
        f = Follower(h.service().stream(request(follow=True)))
        try:
            await f.until(lambda ls: len(ls) == len(remote), what="n2's lines")
        finally:
            await f.stop()
    finally:
        await server.stop(0)
    assert f.lines == remote
    assert [len(b.ts_ns) for b in f.batches] == [len(b.ts_ns) for b in encode(remote)]
    assert not any(b.caught_up for b in f.batches)  # set on n2's last one: cleared here
