"""``scheduler/rebalance`` (leader only): move replicas off nodes that stay pressured.

:func:`plan` is pure: pressure histories (what nodes published through raft,
kept by every node as its state changes), the state, a config and the time
→ the moves to make and why others are held back. :class:`Rebalancer` runs
it every ``interval_s`` on the leader and commits each move as the
deployment's ``AssignReplicas`` with that one replica placed on its new node
(:func:`assignments_after`); the reconciler keeps a replica where it is while
its node is eligible, so the move sticks. Every decision is logged with its
reason and numbers.

A node's *score* is the highest of the configured PSI avg10 figures (percent
of time stalled). Nodes publish only on change, so a history is a step
function: a node is pressured when its score has been at or above
``threshold`` for ``window_s`` (a point at or before the window's start, and
every point since, are above), and its latest figures are fresh (``stale_s``).

Rules: at most ``max_moves`` per decision and one per source node, none off
a node within ``cooldown_s`` of the last (its PSI needs time to settle);
only running replicas of deployments the reconciler has nothing to do for,
one per service, and only while every other replica of that service runs
(availability); only onto a node whose labels and runtime fit the service
(``docker`` needs an image, ``process`` a command) and whose fresh score is
below ``target_max`` (never onto a pressured node, nor one
whose pressure is unknown), at most one move onto a node per decision.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jacod.cluster.cluster import Cluster
from jacod.scheduler import placement
from jacod.state import AssignReplicas, ReplicaAssignment, ReplicaState, State
from jacod.state.model import Pressure, Replica
from jacod.state.spec import ServiceSpec
from obs.logging import get_logger

log = get_logger("scheduler/rebalance")

S = 1_000_000_000


@dataclass(frozen=True)
class RebalanceConfig:
    threshold: float = 60.0  # percent stalled (avg10) that makes a node pressured …
    window_s: float = 60.0  # … when it lasts this long
    target_max: float = 30.0  # a node receiving a replica must be below this
    max_moves: int = 1  # per decision (one every interval_s)
    interval_s: float = 15.0
    cooldown_s: float = 60.0  # after a move off a node, before the next one
    stale_s: float = 180.0  # older pressure figures are not trusted
    metrics: tuple[str, ...] = ("cpu_some_avg10", "memory_some_avg10", "io_some_avg10")


@dataclass(frozen=True)
class Point:
    at_ns: int
    pressure: Pressure


@dataclass(frozen=True)
class MoveRecord:
    at_ns: int
    replica_id: str
    source: str
    target: str


@dataclass
class History:
    """Pressure points per node (oldest first) and the moves made."""

    points: dict[str, list[Point]] = field(default_factory=dict)
    moves: list[MoveRecord] = field(default_factory=list)

    def observe(self, state: State, now_ns: int, keep_ns: int) -> None:
        """Add what the state holds now; forget what no decision can need."""
        for name in list(self.points):
            if name not in state.nodes:
                del self.points[name]
        for name, node in state.nodes.items():
            p = node.pressure
            if p is None:
                continue
            pts = self.points.setdefault(name, [])
            if not pts or pts[-1].at_ns != p.sampled_at_ns or pts[-1].pressure != p:
                pts.append(Point(p.sampled_at_ns, p))
            cut = now_ns - keep_ns  # keep the last point before the cut: it covers the window
            while len(pts) > 1 and pts[1].at_ns <= cut:
                pts.pop(0)
        self.moves = [m for m in self.moves if m.at_ns >= now_ns - keep_ns]

    def record(self, move: Move, now_ns: int) -> None:
        self.moves.append(MoveRecord(now_ns, move.replica_id, move.source, move.target))


@dataclass(frozen=True)
class Move:
    replica_id: str
    deployment: str
    service: str
    ordinal: int
    source: str
    target: str
    reason: str
    numbers: dict[str, Any]


@dataclass(frozen=True)
class Held:
    node: str
    reason: str
    numbers: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    moves: list[Move]
    held: list[Held]


@dataclass(frozen=True)
class NodeView:
    current: float | None  # latest fresh score; None: unknown, unavailable or stale
    metric: str  # the figure behind ``current``
    pressured: bool
    window_min: float  # lowest score over the window (pressured nodes)
    above_since_ns: int


def score(p: Pressure, metrics: tuple[str, ...]) -> tuple[float, str] | None:
    if not p.available:
        return None
    return max((float(getattr(p, m)), m) for m in metrics)


def assess(points: list[Point], now_ns: int, cfg: RebalanceConfig) -> NodeView:
    if not points or now_ns - points[-1].at_ns > cfg.stale_s * S:
        return NodeView(None, "", False, 0.0, 0)
    latest = score(points[-1].pressure, cfg.metrics)
    if latest is None:
        return NodeView(None, "", False, 0.0, 0)
    start = now_ns - int(cfg.window_s * S)
    first = max((i for i, p in enumerate(points) if p.at_ns <= start), default=None)
    if first is None:  # the history does not cover the window yet
        return NodeView(latest[0], latest[1], False, 0.0, 0)
    scores = [score(p.pressure, cfg.metrics) for p in points[first:]]
    values = [s[0] if s is not None else -1.0 for s in scores]
    pressured = min(values) >= cfg.threshold
    since, i = points[first].at_ns, first - 1
    while i >= 0 and (sc := score(points[i].pressure, cfg.metrics)) and sc[0] >= cfg.threshold:
        since, i = points[i].at_ns, i - 1
    return NodeView(latest[0], latest[1], pressured, min(values), since)


def _spec(state: State, r: Replica) -> ServiceSpec | None:
    dep = state.deployments.get(r.deployment)
    rev = dep.find_revision(r.revision) if dep is not None else None
    return next((s for s in rev.services if s.name == r.service), None) if rev else None


def _fits(state: State, node: str, spec: ServiceSpec) -> bool:
    """The service's placement labels match, and the node's runtime can run it."""
    n = state.nodes[node]
    if not (spec.image if n.runtime == "docker" else spec.command):
        return False
    return all(n.labels.get(k) == v for k, v in spec.placement.items())


def _why_not(state: State, r: Replica, spec: ServiceSpec | None, pending: set[str]) -> str:
    """Why ``r`` cannot move now ("" if it can, targets aside)."""
    if spec is None:
        return "its revision is no longer kept"
    if r.state != ReplicaState.RUNNING:
        return f"it is {r.state}"
    if r.deployment in pending:
        return "its deployment has a placement change pending"
    dep = state.deployments[r.deployment]
    if dep.deleting:
        return "its deployment is being deleted"
    if r.revision != dep.revision:
        return "a rolling update is under way"
    key = (r.deployment, r.service)
    mates = [
        x for x in state.replicas.values() if (x.deployment, x.service) == key and x.id != r.id
    ]
    if len(mates) + 1 < spec.replicas:
        return f"{r.deployment}/{r.service} is missing replicas"
    if any(x.state != ReplicaState.RUNNING for x in mates):
        return f"another replica of {r.deployment}/{r.service} is not running"
    return ""


def plan(history: History, state: State, cfg: RebalanceConfig, now_ns: int) -> Plan:
    views = {n: assess(history.points.get(n, []), now_ns, cfg) for n in sorted(state.nodes)}
    hot = sorted((n for n, v in views.items() if v.pressured), key=lambda n: -views[n].window_min)
    moves: list[Move] = []
    held: list[Held] = []
    load = Counter(r.node for r in state.replicas.values())
    received: Counter[str] = Counter()
    moved_services: set[tuple[str, str]] = set()
    pending = {d for d in state.deployments if placement.plan(state, d) is not None}
    for src in hot:
        v = views[src]
        numbers: dict[str, Any] = {
            "score": round(v.current or 0.0, 2), "metric": v.metric,
            "window_min": round(v.window_min, 2), "threshold": cfg.threshold,
            "window_s": cfg.window_s,
            "above_for_s": round((now_ns - v.above_since_ns) / S, 1),
        }  # fmt: skip
        if len(moves) >= cfg.max_moves:
            held.append(Held(src, f"at most {cfg.max_moves} move(s) per interval", numbers))
            continue
        last = max((m.at_ns for m in history.moves if m.source == src), default=None)
        if last is not None and now_ns - last < cfg.cooldown_s * S:
            wait = cfg.cooldown_s - (now_ns - last) / S
            held.append(Held(src, f"cooling down after the last move ({wait:.0f}s left)", numbers))
            continue
        move, why = _pick(state, src, views, cfg, load, received, moved_services, pending)
        if move is None:
            held.append(Held(src, why, numbers))
            continue
        tv = views[move.target]
        reason = (
            f"{src} has been above {cfg.threshold:g}% ({v.metric}) for {numbers['above_for_s']:g}s"
            f" (lowest {v.window_min:.1f}%, now {v.current or 0.0:.1f}%);"
            f" {move.target} is at {tv.current or 0.0:.1f}%"
        )
        nums = {**numbers, "target_score": round(tv.current or 0.0, 2),
                "target_max": cfg.target_max}  # fmt: skip
        moves.append(dataclasses.replace(move, reason=reason, numbers=nums))
        received[move.target] += 1
        load[move.target] += 1
        load[src] -= 1
        moved_services.add((move.deployment, move.service))
    return Plan(moves, held)


def _pick(
    state: State, src: str, views: dict[str, NodeView], cfg: RebalanceConfig,
    load: Counter[str], received: Counter[str], moved: set[tuple[str, str]], pending: set[str],
) -> tuple[Move | None, str]:  # fmt: skip
    """The replica to move off ``src`` and where, or (None, why none)."""
    here = [r for r in state.replicas.values() if r.node == src]
    if not here:
        return None, "no replicas on it"
    per_node = Counter((r.deployment, r.service, r.node) for r in state.replicas.values())

    def weight(r: Replica) -> tuple[int, float, int, str]:
        spec = _spec(state, r)
        res = spec.resources if spec else None
        heavy = (res.cpu if res else 0.0, res.memory_bytes if res else 0)
        return (-per_node[(r.deployment, r.service, src)], -heavy[0], -heavy[1], r.id)

    reasons: list[str] = []
    for r in sorted(here, key=weight):
        spec = _spec(state, r)
        why = _why_not(state, r, spec, pending)
        if not why and (r.deployment, r.service) in moved:
            why = f"a replica of {r.deployment}/{r.service} is already moving"
        if why or spec is None:
            reasons.append(f"{r.id}: {why}")
            continue
        targets = [
            n for n, v in views.items()
            if n != src and v.current is not None and v.current < cfg.target_max
            and not received[n] and _fits(state, n, spec)
        ]  # fmt: skip
        if not targets:
            reasons.append(f"{r.id}: no node fits it below {cfg.target_max:g}% pressure")
            continue
        target = min(targets, key=lambda n: (per_node[(r.deployment, r.service, n)],
                                             views[n].current or 0.0, load[n], n))  # fmt: skip
        return Move(r.id, r.deployment, r.service, r.ordinal, src, target, "", {}), ""
    return None, "nothing can move: " + "; ".join(reasons[:5])


def decide(history: History, state: State, cfg: RebalanceConfig, now_ns: int) -> list[Move]:
    return plan(history, state, cfg, now_ns).moves


def assignments_after(state: State, move: Move) -> list[ReplicaAssignment] | None:
    """The deployment's placement with ``move`` applied; None if it no longer applies."""
    dep = state.deployments.get(move.deployment)
    r = state.replicas.get(move.replica_id)
    if dep is None or r is None or r.node != move.source or move.target not in state.nodes:
        return None
    if dep.deleting:
        return None
    if placement.plan(state, dep.name) is not None:
        return None  # the reconciler has a change of its own to commit first
    mine = sorted((x for x in state.replicas.values() if x.deployment == dep.name),
                  key=lambda x: (x.service, x.ordinal))  # fmt: skip
    return [
        ReplicaAssignment(
            service=x.service,
            ordinal=x.ordinal,
            revision=x.revision,
            node=move.target if x.id == move.replica_id else x.node,
        )  # fmt: skip
        for x in mine
    ]


class Rebalancer:
    """Keeps pressure histories on every node; decides and commits on the leader."""

    def __init__(
        self,
        cluster: Cluster,
        config: RebalanceConfig | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.cluster, self.cfg = cluster, config or RebalanceConfig()
        self.clock = clock
        self.history = History()
        self.committed: list[Move] = []
        self._held: dict[str, str] = {}  # node -> the hold reason already logged

    def _keep_ns(self) -> int:
        return int((max(self.cfg.window_s, self.cfg.cooldown_s) + self.cfg.stale_s) * S)

    def observe(self) -> Plan:
        now = self.clock()

        def step(s: State) -> Plan:
            self.history.observe(s, now, self._keep_ns())
            return plan(self.history, s, self.cfg, now)

        return self.cluster.read(step)

    async def tick(self) -> list[Move]:
        decided = self.observe()
        if not self.cluster.is_leader():
            self._held.clear()
            return []
        self._log_held(decided.held)
        done = []
        for move in decided.moves:
            if await self.commit(move):
                done.append(move)
        return done

    def _log_held(self, held: list[Held]) -> None:
        now = {h.node: h.reason for h in held}
        for h in held:
            if self._held.get(h.node) != h.reason:
                log.info("pressured node; no move", extra={"node": h.node, "reason": h.reason,
                         **h.numbers})  # fmt: skip
        for node in self._held.keys() - now.keys():
            log.info("node no longer held back", extra={"node": node})
        self._held = now

    async def commit(self, move: Move) -> bool:
        assignments = self.cluster.read(lambda s: assignments_after(s, move))
        if assignments is None:
            log.info("move dropped: the placement changed meanwhile",
                     extra={"replica_id": move.replica_id, "from": move.source,
                            "to": move.target})  # fmt: skip
            return False
        await self.cluster.propose(
            AssignReplicas(
                ts_ns=self.clock(), identity="system", node=self.cluster.node_name,
                deployment=move.deployment, assignments=assignments,
            )
        )  # fmt: skip
        self.history.record(move, self.clock())
        self.committed.append(move)
        self._held.pop(move.source, None)
        log.info("moving replica off a pressured node",
                 extra={"replica_id": move.replica_id, "from": move.source, "to": move.target,
                        "reason": move.reason, **move.numbers})  # fmt: skip
        return True

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception as exc:  # a failed commit (leader change…) waits for the next tick
                log.warning("rebalance pass failed", extra={"error": str(exc)})
            await asyncio.sleep(self.cfg.interval_s)
