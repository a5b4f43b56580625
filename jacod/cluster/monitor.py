"""Peer health: every node pings the others over the node service and keeps
what it heard (role, raft term and index, when) for `jaco node ls`."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import grpc

from jaco.v1 import entities_pb2 as pb
from jacod.cluster.cluster import Cluster
from obs.logging import get_logger

log = get_logger("raft")

INTERVAL_S = 1.0
# A peer not heard from for this long is reported unhealthy.
STALE_S = 3.5


@dataclass
class PeerView:
    role: str = ""
    term: int = 0
    index: int = 0
    version: str = ""
    last_contact_ns: int = 0
    reachable: bool = False  # the latest ping answered

    def healthy(self, now_ns: int) -> bool:
        return self.reachable and now_ns - self.last_contact_ns < STALE_S * 1e9


ROLE_NAMES = {
    pb.RAFT_ROLE_LEADER: "leader",
    pb.RAFT_ROLE_FOLLOWER: "follower",
    pb.RAFT_ROLE_CANDIDATE: "candidate",
}


class PeerMonitor:
    def __init__(self, cluster: Cluster):
        self._cluster = cluster
        self.views: dict[str, PeerView] = {}

    async def run(self) -> None:
        while True:
            targets = self._cluster.read(
                lambda s: [
                    (n.name, n.address)
                    for n in s.nodes.values()
                    if n.name != self._cluster.node_name and n.address
                ]
            )
            await asyncio.gather(*(self._ping(name, addr) for name, addr in targets))
            for gone in set(self.views) - {name for name, _ in targets}:
                del self.views[gone]
            await asyncio.sleep(INTERVAL_S)

    async def _ping(self, name: str, address: str) -> None:
        view = self.views.setdefault(name, PeerView())
        try:
            resp = await self._cluster.peers.ping(address, timeout=1.0)
        except grpc.aio.AioRpcError as err:
            if view.reachable:
                log.warning("peer unreachable", extra={"peer": name, "code": err.code().name})
            view.reachable = False
            return
        if not view.reachable and view.last_contact_ns:
            log.info("peer reachable again", extra={"peer": name})
        view.reachable = True
        view.role = ROLE_NAMES.get(resp.node.role, "")
        view.term = resp.node.raft_term
        view.index = resp.node.raft_commit_index
        view.version = resp.node.version
        view.last_contact_ns = time.time_ns()
