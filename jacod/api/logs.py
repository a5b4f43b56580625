"""Log streaming: a node's own replicas (NodeLogs) and the merged view the
serving node assembles from every node that hosts a service (StreamLogs).

Both levels are the same shape: one producer per source (a replica's runtime
log here, a node's stream there), each into a bounded queue, merged in
timestamp order by ``logmerge``. Lines travel in batches end to end: a
replica's log is read in chunks, the merge releases everything that is ready
at once, and that goes out as one ``LogBatch`` (or a few, bounded: ``logwire``)
without waiting for more; a batch from another node that the merge passes
whole goes on as it came. In follow mode a node's stream sets ``caught_up`` on
the batch that completes its backlog, so the serving node merges every node's
backlog exactly before switching to the reorder window.

Following watches the event bus (``lognode`` for this node's replicas); a
deleted deployment ends the stream with a final system line.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

import grpc

from jaco.v1 import control_pb2
from jaco.v1 import entities_pb2 as pb
from jacod import errors
from jacod.api.logfanin import Fanin, Feed, Producer
from jacod.api.logmerge import Merger
from jacod.api.lognode import LocalLogs
from jacod.api.logquery import LogQuery, Record, next_relevant, system_record
from jacod.api.logwire import Received, encode, encode_runs
from jacod.cluster.bus import Event
from jacod.cluster.cluster import Cluster
from jacod.runtime.base import Runtime
from jacod.state import State
from obs.logging import get_logger

log = get_logger("controlplane")

_CAUGHT_UP: Record = (0, "", "", "", "")  # the node side's marker in its merged output
_NS = 1_000_000_000
_LATE_SLACK_NS = _NS  # another node's clock may lag ours a little
_FATAL = {  # a peer answering these will answer them again
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
}


@dataclass
class _Serving:
    """One StreamLogs call: where each node's lines got to, and how it ended."""

    q: LogQuery
    start_ns: int
    last_by_node: dict[str, int] = field(default_factory=dict)
    ended: str = ""  # the final line, once the deployment or service is gone


class LogService:
    def __init__(
        self, cluster: Cluster, runtime: Runtime, *, window_s: float = 0.15,
        queue_size: int = 1000, replica_queue_size: int = 512, drain_s: float = 5.0,
        reopen_s: float = 0.25,
        retries: int = 30, backoff_s: float = 0.25, max_backoff_s: float = 5.0,
    ) -> None:  # fmt: skip
        self._cluster = cluster
        self.node = cluster.node_name
        self.window_s, self.drain_s = window_s, drain_s
        # Lines queued per node (serving side); per replica: ``LocalLogs``.
        self.queue_size = queue_size
        self.retries, self.backoff_s, self.max_backoff_s = retries, backoff_s, max_backoff_s
        self._local = LocalLogs(cluster, runtime, queue_size=replica_queue_size,
                                drain_s=drain_s, reopen_s=reopen_s)  # fmt: skip

    def _merge(self, q: LogQuery, marker: Record | None = None) -> Fanin[Record]:
        merger: Merger[Record] = Merger(window_s=self.window_s, tail=q.tail)
        return Fanin(merger, queue_size=self.queue_size, caught_up_item=marker)

    # -- this node (NodeService.NodeLogs) -------------------------------------

    async def node_stream(self, request: control_pb2.LogsRequest) -> AsyncIterator[pb.LogBatch]:
        """This node's replicas matching ``request``, merged, ``node`` set; in
        follow mode one batch has ``caught_up`` once the backlog is out."""
        q = LogQuery.from_pb(request)
        sub = self._cluster.bus.subscribe() if q.follow else None
        try:
            fanin = self._merge(q, _CAUGHT_UP if q.follow else None)
            await self._local.attach(q, fanin, sub.queue if sub else None, finish=True)
            if sub is None:
                fanin.finish()
            async with contextlib.aclosing(fanin.batches()) as ready:
                async for runs in ready:
                    caught_up = runs[-1][-1] is _CAUGHT_UP
                    if caught_up:
                        runs.pop()
                    batches = list(encode_runs(runs)) or [pb.LogBatch()]
                    batches[-1].caught_up = caught_up
                    for batch in batches:
                        yield batch
        finally:
            if sub is not None:
                self._cluster.bus.unsubscribe(sub)

    # -- the serving node (Control.StreamLogs) --------------------------------

    async def stream(self, request: control_pb2.LogsRequest) -> AsyncIterator[pb.LogBatch]:
        """Every matching replica's lines across the cluster, in time order.
        This node's replicas are sources of the merge themselves; every other
        node hosting some is one source (its NodeLogs stream)."""
        q = LogQuery.from_pb(request)
        plan_sub = self._cluster.bus.subscribe() if q.follow else None
        local_sub = self._cluster.bus.subscribe() if q.follow else None
        try:
            nodes = self._cluster.read(lambda s: self._plan(s, q, validate=True))
            run = _Serving(q, time.time_ns())
            fanin = self._merge(q)
            await self._local.attach(q, fanin, local_sub.queue if local_sub else None,
                                     finish=False)  # fmt: skip
            for name in sorted(nodes - {self.node}):
                fanin.add(("node", name), self._node_source(name, run, late=False))
            if plan_sub is not None:
                fanin.spawn(self._watch_serving(run, plan_sub.queue, fanin), "logs-plan")
            else:
                fanin.finish()
            last = 0
            async with contextlib.aclosing(fanin.batches()) as ready:
                async for runs in ready:
                    last = runs[-1][-1][0]
                    for batch in encode_runs(runs):
                        yield batch
            if run.ended:
                now = max(time.time_ns(), last + 1)
                for batch in encode([system_record(now, "", self.node, run.ended)]):
                    yield batch
        finally:
            for sub in (plan_sub, local_sub):
                if sub is not None:
                    self._cluster.bus.unsubscribe(sub)

    def _plan(self, s: State, q: LogQuery, *, validate: bool = False) -> set[str]:
        """The nodes hosting matching replicas; with ``validate``, NotFound for
        a deployment or service that does not exist."""
        if validate:
            _check_exists(s, q)
        return {r.node for r in s.replicas.values() if q.matches(r.deployment, r.service, r.id)}

    def _gone(self, s: State, q: LogQuery) -> str:
        """Why the stream is over ("" if it is not)."""
        dep = s.deployments.get(q.deployment)
        if dep is None or dep.deleting:
            return f"deployment {q.deployment} was deleted"
        if any(svc.name == q.service for svc in dep.current.services):
            return ""
        if any(r.deployment == q.deployment and r.service == q.service
               for r in s.replicas.values()):  # fmt: skip
            return ""
        return f"service {q.service} was removed from deployment {q.deployment}"

    async def _watch_serving(
        self, run: _Serving, events: asyncio.Queue[Event], fanin: Fanin[Record]
    ) -> None:
        q = run.q
        while True:
            await next_relevant(q, events, None)
            nodes, gone = self._cluster.read(lambda s: (self._plan(s, q), self._gone(s, q)))
            if gone:
                run.ended = gone
                fanin.finish()
                # Node streams end by themselves once their replicas are removed.
                await asyncio.sleep(self.drain_s + 2 * self.window_s + 1.0)
                fanin.cancel_all()
                return
            for name in sorted(nodes - {self.node}):  # this node's replicas: LocalLogs
                if not fanin.is_open(("node", name)):
                    fanin.add(("node", name), self._node_source(name, run, late=True))

    def _node_source(self, name: str, run: _Serving, *, late: bool) -> Producer[Record]:
        """One node's stream, reopened (bounded, with backoff) when it breaks.
        A node seen before resumes after its last line; one joining later
        starts at the stream's start, untailed."""
        last = run.last_by_node.get(name)
        if last is not None:
            q = run.q.after(last + 1)
        elif late:
            q = run.q.after(run.start_ns - _LATE_SLACK_NS)
        else:
            q = run.q

        async def produce(feed: Feed[Record]) -> None:
            req, failures, lost = q, 0, False

            async def say(text: str) -> None:
                now = time.time_ns()
                await feed.put(now, system_record(now, "", name, text))

            while True:
                try:
                    async for batch in self._open_node(name, req):
                        if lost:
                            lost, failures = False, 0
                            await say(f"reconnected to node {name}")
                        caught_up, batch.caught_up = batch.caught_up, False  # not for clients
                        if stamps := list(batch.ts_ns):
                            await feed.put_many(stamps, Received(batch))
                            run.last_by_node[name] = stamps[-1]
                        if caught_up:
                            await feed.caught_up()
                    return
                except (grpc.aio.AioRpcError, errors.JacoError) as exc:
                    reason, fatal = _describe(exc)
                if fatal or not run.q.follow:
                    await say(f"cannot read the logs on node {name}: {reason}")
                    return
                failures += 1
                if not lost:
                    lost = True
                    log.warning(
                        "log stream from a node lost; retrying",
                        extra={"node": name, "reason": reason, "logs": run.q.name},
                    )
                    await say(f"lost the log stream from node {name} ({reason}); retrying")
                    await feed.caught_up()  # do not hold the others back meanwhile
                if failures > self.retries:
                    log.warning(
                        "gave up on a node's log stream",
                        extra={"node": name, "attempts": failures, "logs": run.q.name},
                    )
                    await say(f"gave up on the logs of node {name} after {failures} attempts")
                    return
                await asyncio.sleep(min(self.backoff_s * 2 ** (failures - 1), self.max_backoff_s))
                if name not in self._cluster.read(lambda s: self._plan(s, run.q)):
                    await say(f"node {name} no longer hosts replicas of {run.q.name}")
                    return
                last = run.last_by_node.get(name)
                req = q if last is None else run.q.after(last + 1)

        return produce

    async def _open_node(self, name: str, q: LogQuery) -> AsyncGenerator[pb.LogBatch, None]:
        """Another node's NodeLogs, with the peer credentials."""
        address = self._cluster.read(lambda s: n.address if (n := s.nodes.get(name)) else None)
        if address is None:
            raise errors.FailedPrecondition(f"node {name} is not a member of the cluster")
        if not address:
            raise errors.FailedPrecondition(
                f"node {name} has no gRPC address; start it with --listen"
            )
        call = self._cluster.peers.logs(address, q.to_pb())
        try:
            async for batch in call:
                yield batch
        finally:
            call.cancel()


def _describe(exc: Exception) -> tuple[str, bool]:
    """A short reason, and whether retrying is pointless."""
    if isinstance(exc, grpc.aio.AioRpcError):
        details = (exc.details() or exc.code().name).splitlines()[0]
        return f"{details} [{exc.code().name.lower()}]", exc.code() in _FATAL
    return str(exc), isinstance(exc, errors.FailedPrecondition)


def _check_exists(s: State, q: LogQuery) -> None:
    dep = s.deployments.get(q.deployment)
    if dep is None:
        known = ", ".join(sorted(s.deployments)) or "none"
        raise errors.NotFound(f"deployment {q.deployment!r} does not exist; deployments: {known}")
    services = {svc.name for svc in dep.current.services}
    services |= {r.service for r in s.replicas.values() if r.deployment == q.deployment}
    if q.service not in services:
        raise errors.NotFound(
            f"deployment {q.deployment!r} has no service {q.service!r}; "
            f"services: {', '.join(sorted(services))}"
        )
    if q.replica_id and q.replica_id not in s.replicas and not q.follow:
        ids = sorted(r.id for r in s.replicas.values() if q.matches(r.deployment, r.service, ""))
        raise errors.NotFound(
            f"replica {q.replica_id} does not exist; replicas of {q.deployment}/{q.service}: "
            + (", ".join(ids) or "none")
        )


__all__ = ["LogQuery", "LogService"]
