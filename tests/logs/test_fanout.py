"""The serving node's fan-out: another node's NodeLogs over real gRPC (a
scripted peer on a unix socket), merged with this node's replicas; the peer
going away and coming back; a node that cannot be reached at all."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from jaco.logview import Line
from jaco.v1 import control_pb2, node_pb2_grpc
from jaco.v1 import entities_pb2 as pb
from jacod.api.logwire import encode

from .harness import NODE, Follower, Harness, collect, request, ts_ns


def from_lines(*lines: Line) -> pb.LogBatch:
    [batch] = encode(list(lines))
    return batch


class ScriptedPeer(node_pb2_grpc.NodeServiceServicer):
    """A node's NodeLogs: its backlog (honouring since), then lines fed by the test."""

    def __init__(self, backlog: list[Line]) -> None:
        self.lines = backlog
        self.live: asyncio.Queue[Line] = asyncio.Queue()
        self.requests: list[control_pb2.LogsRequest] = []

    async def NodeLogs(  # noqa: N802 - the gRPC method name
        self, request: control_pb2.LogsRequest, ctx: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.LogBatch]:
        self.requests.append(request)
        since = request.since.ToNanoseconds() if request.HasField("since") else 0
        for line in list(self.lines):  # a line a batch: the serving side must not mind
            if ts_ns(line) >= since:
                yield from_lines(line)
        if not request.follow:
            return
        yield pb.LogBatch(caught_up=True)
        while True:
            line = await self.live.get()
            self.lines.append(line)
            yield from_lines(line)

    def say(self, text: str) -> Line:
        line = Line(time.time_ns(), "shop/web/1", "n2", "stdout", text)
        self.live.put_nowait(line)
        return line


async def serve(peer: ScriptedPeer, sock: Path) -> grpc.aio.Server:
    server = grpc.aio.server()
    node_pb2_grpc.add_NodeServiceServicer_to_server(peer, server)
    server.add_insecure_port(f"unix:{sock}")
    await server.start()
    return server


async def test_another_nodes_lines_are_merged_and_its_restart_ridden_out(
    harness: Harness, tmpdir_short: Path
) -> None:
    h = harness
    sock = tmpdir_short / "n2.sock"
    await h.join("n2", f"unix://{sock}")
    await h.deploy("shop", {"web": 2}, nodes={"shop/web/1": "n2"})
    start = time.time_ns()
    # The generated servicer declares every RPC abstract; this peer only answers NodeLogs.
    peer = ScriptedPeer([  # type: ignore[abstract]
        Line(start - 900_000_000 + i * 200_000_000, "shop/web/1", "n2", "stdout", f"b{i}")
        for i in range(4)
    ])  # fmt: skip
    await h.sh("shop/web/0", "echo a0")
    await h.runtime.wait("shop/web/0")
    server = await serve(peer, sock)
    svc = h.service(backoff_s=0.1, max_backoff_s=0.5)
    try:
        backlog = await collect(svc.stream(request()))
        assert [ln.line for ln in backlog if ln.stream == "stdout"] == ["b0", "b1", "b2", "b3",
                                                                         "a0"]  # fmt: skip
        assert [ln.node for ln in backlog if ln.stream == "stdout"] == ["n2"] * 4 + [NODE]
        assert peer.requests[-1].deployment == "shop" and not peer.requests[-1].follow

        f = Follower(svc.stream(request(follow=True, tail=2)))
        try:
            await f.until(lambda ls: "exited with code 0" in [ln.line for ln in ls], what="backlog")
            assert peer.requests[-1].tail == 2 and peer.requests[-1].follow
            live = peer.say("b-live")
            await f.until(lambda ls: "b-live" in [ln.line for ln in ls], what="live line")
            await server.stop(0)  # the node dies
            await f.until(lambda ls: any("lost the log stream from node n2" in ln.line
                                         for ln in ls), what="loss reported")  # fmt: skip
            server = await serve(peer, sock)  # ...and is back
            await f.until(lambda ls: any(ln.line == "reconnected to node n2" for ln in ls),
                          timeout=10, what="reconnection")  # fmt: skip
            resumed = peer.requests[-1]
            assert resumed.since.ToNanoseconds() == ts_ns(live) + 1 and resumed.tail == 0
            peer.say("b-after")
            await f.until(lambda ls: "b-after" in [ln.line for ln in ls], what="after reconnect")
        finally:
            await f.stop()
        text = f.text(None)
        # tail 2 across both nodes (this scripted peer ignores tail: the merge applies it)
        assert text[:2] == ["a0", "exited with code 0"] and "b3" not in text
        assert text.count("b-live") == 1  # resumed after it, not again
        lost = next(ln for ln in f.lines if "lost the log stream" in ln.line)
        assert (lost.stream, lost.replica_id, lost.node) == ("system", "", "n2")
        stamps = [ts_ns(ln) for ln in f.lines]
        assert stamps == sorted(stamps)
    finally:
        await server.stop(0)


async def test_a_node_without_an_address_is_reported_not_waited_for(harness: Harness) -> None:
    h = harness
    await h.join("n3", "")
    await h.deploy("shop", {"web": 2}, nodes={"shop/web/1": "n3"})
    await h.sh("shop/web/0", "echo a0")
    await h.runtime.wait("shop/web/0")
    lines = await asyncio.wait_for(collect(h.service().stream(request())), 5)
    system = [ln.line for ln in lines if ln.node == "n3"]
    assert system == ["cannot read the logs on node n3: node n3 has no gRPC address; "
                      "start it with --listen"]  # fmt: skip
    assert "a0" in [ln.line for ln in lines]
