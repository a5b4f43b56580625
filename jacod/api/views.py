"""Read views built from the cluster: status, nodes."""

from __future__ import annotations

import time

from jaco import __version__
from jaco.v1 import control_pb2
from jaco.v1 import entities_pb2 as pb
from jacod.api import convert
from jacod.cluster.cluster import Cluster
from jacod.cluster.monitor import PeerMonitor

_RAFT_STATES = {0: "follower", 1: "candidate", 2: "leader"}


class Views:
    def __init__(self, cluster: Cluster, monitor: PeerMonitor, runtime: str):
        self.cluster = cluster
        self.monitor = monitor
        self.runtime = runtime

    def cluster_info(self) -> pb.ClusterInfo:
        st = self.cluster.raft_status()
        return pb.ClusterInfo(
            cluster_id=self.cluster.read(lambda s: s.cluster_id),
            leader=self.cluster.leader_name(),
            raft_term=int(st.get("raft_term", 0)),  # type: ignore[call-overload]
            raft_commit_index=int(st.get("commit_idx", 0)),  # type: ignore[call-overload]
            node_count=self.cluster.read(lambda s: len(s.nodes)),
            has_quorum=bool(st.get("has_quorum", False)),
        )

    def self_node(self) -> pb.Node:
        st = self.cluster.raft_status()
        n = self.cluster.read(lambda s: s.nodes.get(self.cluster.node_name))
        role = _RAFT_STATES.get(int(st.get("state", 0)), "")  # type: ignore[call-overload]
        term = int(st.get("raft_term", 0))  # type: ignore[call-overload]
        index = int(st.get("commit_idx", 0))  # type: ignore[call-overload]
        if n is None:  # not (yet) recorded in state: joining
            return pb.Node(
                name=self.cluster.node_name,
                raft_address=self.cluster.raft_address,
                role=convert.enum_value("RAFT_ROLE", role),
                raft_term=term,
                raft_commit_index=index,
                version=__version__,
                runtime=self.runtime,
            )
        return convert.node(
            n,
            role=role,
            healthy=True,
            term=term,
            index=index,
            last_contact_ns=time.time_ns(),
            version=__version__,
        )

    def nodes(self) -> list[pb.Node]:
        now = time.time_ns()
        me = self.self_node()
        out = []
        for n in self.cluster.read(lambda s: sorted(s.nodes.values(), key=lambda x: x.name)):
            if n.name == self.cluster.node_name:
                out.append(me)
                continue
            v = self.monitor.views.get(n.name)
            if v is None:
                out.append(convert.node(n))
            else:
                out.append(
                    convert.node(
                        n,
                        role=v.role,
                        healthy=v.healthy(now),
                        term=v.term,
                        index=v.index,
                        last_contact_ns=v.last_contact_ns,
                        version=v.version,
                    )
                )
        return out

    def status(self, identity: str) -> control_pb2.GetStatusResponse:
        deployments, replicas = self.cluster.read(
            lambda s: (
                [
                    convert.deployment(d)
                    for d in sorted(s.deployments.values(), key=lambda d: d.name)
                ],
                [convert.replica(r) for r in sorted(s.replicas.values(), key=lambda r: r.id)],
            )
        )
        return control_pb2.GetStatusResponse(
            cluster=self.cluster_info(),
            node=self.self_node(),
            identity=identity,
            version=__version__,
            deployments=deployments,
            replicas=replicas,
            nodes=self.nodes(),
        )
