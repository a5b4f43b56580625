"""This node's replicas as sources of a log merge: each replica's runtime log
read in chunks, followed across restarts and re-creations; in follow mode the
set of replicas is kept up to date from the event bus (replicas assigned later
are picked up, unassigned ones drained for ``drain_s`` then dropped)."""

from __future__ import annotations

import asyncio
import time

from jacod.api.logfanin import Fanin, Feed, Producer
from jacod.api.logquery import LogQuery, Record, next_relevant, records, system_record, ts_of
from jacod.cluster.bus import Event
from jacod.cluster.cluster import Cluster
from jacod.runtime.base import ContainerNotFound, LogEntry, Runtime, RuntimeErrorBase
from jacod.state import State


def live(s: State, deployment: str) -> bool:
    """Exists, not being deleted: a delete ends the streams (stopping lines still drain)."""
    dep = s.deployments.get(deployment)
    return dep is not None and not dep.deleting


class LocalLogs:
    def __init__(
        self, cluster: Cluster, runtime: Runtime, *, queue_size: int, drain_s: float,
        reopen_s: float,
    ) -> None:  # fmt: skip
        self._cluster, self._runtime = cluster, runtime
        self.node = cluster.node_name
        # Per replica: a node may host hundreds, and every queue can fill under a slow reader.
        self.queue_size, self.drain_s, self.reopen_s = queue_size, drain_s, reopen_s

    def _assigned(self, s: State, q: LogQuery) -> set[str]:
        return {
            r.id for r in s.replicas.values()
            if r.node == self.node and q.matches(r.deployment, r.service, r.id)
        }  # fmt: skip

    def _still_here(self, replica_id: str) -> bool:
        return self._cluster.read(
            lambda s: (r := s.replicas.get(replica_id)) is not None and r.node == self.node
        )

    async def attach(
        self, q: LogQuery, fanin: Fanin[Record], events: asyncio.Queue[Event] | None, *,
        finish: bool,
    ) -> None:  # fmt: skip
        """This node's replicas as sources of ``fanin`` (keyed by replica id);
        with ``events``, kept up to date (and ``finish`` once the deployment is gone)."""
        start_ns = time.time_ns()
        assigned, exists = self._cluster.read(
            lambda s: (self._assigned(s, q), live(s, q.deployment))
        )
        held = {
            c.replica_id for c in await self._runtime.list()
            if q.matches(c.deployment, c.service, c.replica_id)
        }  # fmt: skip
        mine = sorted(assigned | held)
        progress: dict[str, int] = {}  # replica -> ts of its last line sent
        for rid in mine:
            fanin.add(rid, self._source(rid, q, progress), size=self.queue_size)
        if events is not None:
            watch = self._watch(q, events, fanin, start_ns, exists, set(mine), progress, finish)
            fanin.spawn(watch, "logs-watch")

    def _source(self, rid: str, q: LogQuery, progress: dict[str, int]) -> Producer[Record]:
        runtime, node = self._runtime, self.node

        async def produce(feed: Feed[Record]) -> None:
            last = 0

            async def put(batch: list[LogEntry]) -> None:
                nonlocal last
                recs = records(batch, node)
                await feed.put_many(list(map(ts_of, recs)), recs)
                last = progress[rid] = recs[-1][0]

            try:
                try:
                    async for batch in runtime.log_batches(rid, since_ns=q.since_ns, tail=q.tail,
                                                           previous=q.previous):  # fmt: skip
                        await put(batch)
                except ContainerNotFound:
                    pass  # not created yet (or gone): no backlog
                if not q.follow:
                    return
                await feed.caught_up()
                while True:  # across restarts (the runtime's follow) and re-creations (here)
                    try:
                        async for batch in runtime.log_batches(
                            rid, since_ns=max(q.since_ns, last + 1), follow=True
                        ):
                            await put(batch)
                    except ContainerNotFound:
                        pass
                    if not self._still_here(rid):
                        return
                    await asyncio.sleep(self.reopen_s)
            except RuntimeErrorBase as exc:
                now = max(time.time_ns(), last + 1)
                text = f"cannot read the logs of replica {rid}: {exc}"
                await feed.put(now, system_record(now, rid, node, text))

        return produce

    async def _watch(
        self, q: LogQuery, events: asyncio.Queue[Event], fanin: Fanin[Record], start_ns: int,
        seen: bool, mine: set[str], progress: dict[str, int], finish: bool,
    ) -> None:  # fmt: skip
        loop = asyncio.get_running_loop()
        draining: dict[str, float] = {}  # replica -> when it stopped being ours
        late = q.after(start_ns)
        relevant = True  # a first pass: replicas held but not assigned drain too
        while True:
            if relevant:
                assigned, exists = self._cluster.read(
                    lambda s: (self._assigned(s, q), live(s, q.deployment))
                )
                if finish and seen and not exists:
                    fanin.finish()  # the open ones end once drained
                seen = seen or exists
                for rid in sorted(assigned):
                    draining.pop(rid, None)
                    if not fanin.is_open(rid):  # new here, or back: after what was sent
                        resume = late.after(progress.get(rid, 0) + 1)
                        fanin.add(rid, self._source(rid, resume, progress), size=self.queue_size)
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
