"""Log streaming: a node's own replicas (NodeLogs) and the merged view the
serving node assembles from every node that hosts a service (StreamLogs).

Both levels are the same shape: one producer per source (a replica's runtime
log here, a node's stream there), each into a bounded queue, merged in
timestamp order by ``logmerge``. In follow mode a node's stream sends one
marker line (``stream == MARK``, nothing else set) once its backlog is out,
so the serving node merges every node's backlog exactly before switching to
the reorder window; the marker never reaches a client.

Following watches the event bus: replicas assigned later are picked up,
unassigned ones are drained for ``drain_s`` (their shutdown lines) and
dropped, and a deleted deployment ends the stream with a final system line.
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
from jacod.api.logmerge import Fanin, Feed, Merger, Producer
from jacod.api.logquery import (  # re-exported: LogQuery, log_line
    Item,
    LogQuery,
    entry_item,
    log_line,
    next_relevant,
)
from jacod.cluster.bus import Event
from jacod.cluster.cluster import Cluster
from jacod.runtime.base import ContainerNotFound, Runtime, RuntimeErrorBase
from jacod.state import (
    State,
)
from obs.logging import get_logger

log = get_logger("controlplane")

MARK = "jaco.caught_up"  # node -> node only: "my backlog is out"
MARK_LINE = pb.LogLine(stream=MARK)
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
        queue_size: int = 1000, replica_queue_size: int = 128, drain_s: float = 5.0,
        reopen_s: float = 0.25,
        retries: int = 30, backoff_s: float = 0.25, max_backoff_s: float = 5.0,
    ) -> None:  # fmt: skip
        self._cluster, self._runtime = cluster, runtime
        self.node = cluster.node_name
        self.window_s, self.drain_s = window_s, drain_s
        # Per node (serving side) and per replica (node side): a node may host
        # hundreds of replicas, and every queue can fill under a slow reader.
        self.queue_size, self.replica_queue_size = queue_size, replica_queue_size
        self.reopen_s, self.retries = reopen_s, retries
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s

    def _merge(self, q: LogQuery, size: int, marker: Item | None = None) -> Fanin[Item]:
        merger: Merger[Item] = Merger(window_s=self.window_s, tail=q.tail)
        return Fanin(merger, queue_size=size, caught_up_item=marker)

    # -- this node (NodeService.NodeLogs) -------------------------------------

    async def node_stream(self, request: control_pb2.LogsRequest) -> AsyncIterator[pb.LogLine]:
        """This node's replicas matching ``request``, merged, ``node`` set; in
        follow mode with one ``MARK`` line once the backlog is out."""
        async with contextlib.aclosing(self._node_items(LogQuery.from_pb(request))) as items:
            async for _, line in items:
                yield line

    def _assigned_here(self, s: State, q: LogQuery) -> set[str]:
        return {
            r.id for r in s.replicas.values()
            if r.node == self.node and q.matches(r.deployment, r.service, r.id)
        }  # fmt: skip

    def _still_here(self, replica_id: str) -> bool:
        return self._cluster.read(
            lambda s: (r := s.replicas.get(replica_id)) is not None and r.node == self.node
        )

    async def _node_items(self, q: LogQuery) -> AsyncGenerator[Item, None]:
        sub = self._cluster.bus.subscribe() if q.follow else None
        try:
            fanin = self._merge(q, self.queue_size, (0, MARK_LINE) if q.follow else None)
            await self._attach_local(q, fanin, sub.queue if sub else None, finish=True)
            if sub is None:
                fanin.finish()
            async with contextlib.aclosing(fanin.items()) as items:
                async for item in items:
                    yield item
        finally:
            if sub is not None:
                self._cluster.bus.unsubscribe(sub)

    async def _attach_local(
        self, q: LogQuery, fanin: Fanin[Item], events: asyncio.Queue[Event] | None, *,
        finish: bool,
    ) -> None:  # fmt: skip
        """This node's replicas as sources of ``fanin`` (keyed by replica id);
        with ``events``, kept up to date (and ``finish`` once the deployment is gone)."""
        start_ns = time.time_ns()
        assigned, exists = self._cluster.read(
            lambda s: (self._assigned_here(s, q), _live(s, q.deployment))
        )
        held = {
            c.replica_id for c in await self._runtime.list()
            if q.matches(c.deployment, c.service, c.replica_id)
        }  # fmt: skip
        mine = sorted(assigned | held)
        progress: dict[str, int] = {}  # replica -> ts of its last line sent
        for rid in mine:
            fanin.add(rid, self._replica_source(rid, q, progress), size=self.replica_queue_size)
        if events is not None:
            watch = self._watch_node(q, events, fanin, start_ns, exists, set(mine), progress,
                                     finish)  # fmt: skip
            fanin.spawn(watch, "logs-watch")

    def _replica_source(self, rid: str, q: LogQuery, progress: dict[str, int]) -> Producer[Item]:
        runtime, node = self._runtime, self.node

        async def produce(feed: Feed[Item]) -> None:
            last = 0
            try:
                try:
                    async for e in runtime.logs(rid, since_ns=q.since_ns, tail=q.tail,
                                                previous=q.previous):  # fmt: skip
                        await feed.put(e.ts_ns, entry_item(e, node))
                        last = progress[rid] = e.ts_ns
                except ContainerNotFound:
                    pass  # not created yet (or gone): no backlog
                if not q.follow:
                    return
                await feed.caught_up()
                while True:  # across restarts (the runtime's follow) and re-creations (here)
                    try:
                        async for e in runtime.logs(rid, since_ns=max(q.since_ns, last + 1),
                                                    follow=True):  # fmt: skip
                            await feed.put(e.ts_ns, entry_item(e, node))
                            last = progress[rid] = e.ts_ns
                    except ContainerNotFound:
                        pass
                    if not self._still_here(rid):
                        return
                    await asyncio.sleep(self.reopen_s)
            except RuntimeErrorBase as exc:
                now = max(time.time_ns(), last + 1)
                text = f"cannot read the logs of replica {rid}: {exc}"
                await feed.put(now, (now, log_line(now, rid, node, "system", text)))

        return produce

    async def _watch_node(
        self, q: LogQuery, events: asyncio.Queue[Event], fanin: Fanin[Item], start_ns: int,
        seen: bool, mine: set[str], progress: dict[str, int], finish: bool,
    ) -> None:  # fmt: skip
        loop = asyncio.get_running_loop()
        draining: dict[str, float] = {}  # replica -> when it stopped being ours
        late = q.after(start_ns)
        relevant = True  # a first pass: replicas held but not assigned drain too
        while True:
            if relevant:
                assigned, exists = self._cluster.read(
                    lambda s: (self._assigned_here(s, q), _live(s, q.deployment))
                )
                if finish and seen and not exists:
                    fanin.finish()  # the open ones end once drained
                seen = seen or exists
                for rid in sorted(assigned):
                    draining.pop(rid, None)
                    if not fanin.is_open(rid):  # new here, or back: after what was sent
                        resume = late.after(progress.get(rid, 0) + 1)
                        fanin.add(rid, self._replica_source(rid, resume, progress),
                                  size=self.replica_queue_size)  # fmt: skip
                        mine.add(rid)
                for rid in mine - assigned:
                    draining.setdefault(rid, loop.time())
            for rid, since in list(draining.items()):
                if not fanin.is_open(rid):
                    del draining[rid]
                    mine.discard(rid)
                elif loop.time() - since >= self.drain_s:
                    fanin.cancel(rid)
                    del draining[rid]
                    mine.discard(rid)
            tick = min(draining.values(), default=None)
            timeout = None if tick is None else max(tick + self.drain_s - loop.time(), 0.01)
            relevant = await next_relevant(q, events, timeout)

    # -- the serving node (Control.StreamLogs) --------------------------------

    async def stream(self, request: control_pb2.LogsRequest) -> AsyncIterator[pb.LogLine]:
        """Every matching replica's lines across the cluster, in time order.
        This node's replicas are sources of the merge themselves; every other
        node hosting some is one source (its NodeLogs stream)."""
        q = LogQuery.from_pb(request)
        plan_sub = self._cluster.bus.subscribe() if q.follow else None
        local_sub = self._cluster.bus.subscribe() if q.follow else None
        try:
            nodes = self._cluster.read(lambda s: self._plan(s, q, validate=True))
            run = _Serving(q, time.time_ns())
            fanin = self._merge(q, self.queue_size)
            await self._attach_local(q, fanin, local_sub.queue if local_sub else None,
                                     finish=False)  # fmt: skip
            for name in sorted(nodes - {self.node}):
                fanin.add(("node", name), self._node_source(name, run, late=False))
            if plan_sub is not None:
                fanin.spawn(self._watch_serving(run, plan_sub.queue, fanin), "logs-plan")
            else:
                fanin.finish()
            last = 0
            async with contextlib.aclosing(fanin.items()) as items:
                async for ts, line in items:
                    last = ts
                    yield line
            if run.ended:
                now = max(time.time_ns(), last + 1)
                yield log_line(now, "", self.node, "system", run.ended)
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
        self, run: _Serving, events: asyncio.Queue[Event], fanin: Fanin[Item]
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
            for name in sorted(nodes - {self.node}):  # this node's replicas: _watch_node
                if not fanin.is_open(("node", name)):
                    fanin.add(("node", name), self._node_source(name, run, late=True))

    def _node_source(self, name: str, run: _Serving, *, late: bool) -> Producer[Item]:
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

        async def produce(feed: Feed[Item]) -> None:
            req, failures, lost = q, 0, False

            async def say(text: str) -> None:
                now = time.time_ns()
                await feed.put(now, (now, log_line(now, "", name, "system", text)))

            while True:
                try:
                    async for ts, line in self._open_node(name, req):
                        if lost:
                            lost, failures = False, 0
                            await say(f"reconnected to node {name}")
                        if line.stream == MARK:
                            await feed.caught_up()
                            continue
                        await feed.put(ts, (ts, line))
                        run.last_by_node[name] = ts
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

    async def _open_node(self, name: str, q: LogQuery) -> AsyncGenerator[Item, None]:
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
            async for line in call:
                yield (line.ts.seconds * _NS + line.ts.nanos, line)
        finally:
            call.cancel()


def _describe(exc: Exception) -> tuple[str, bool]:
    """A short reason, and whether retrying is pointless."""
    if isinstance(exc, grpc.aio.AioRpcError):
        details = (exc.details() or exc.code().name).splitlines()[0]
        return f"{details} [{exc.code().name.lower()}]", exc.code() in _FATAL
    return str(exc), isinstance(exc, errors.FailedPrecondition)


def _live(s: State, deployment: str) -> bool:
    """Exists, not being deleted: a delete ends the streams (stopping lines still drain)."""
    dep = s.deployments.get(deployment)
    return dep is not None and not dep.deleting


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


__all__ = ["MARK", "LogQuery", "LogService", "log_line"]
