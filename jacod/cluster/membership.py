"""Creating, joining and leaving a cluster (subsystem ``bootstrap``).

First start of a node: ``--bootstrap``/``--dev`` creates a cluster (id and
secret in ``cluster.json``, then the ``Bootstrap`` command); ``--join`` asks a
member, which verifies the join token, records the node (``NodeJoin``), adds it
to raft, and hands back the peers and the sealed cluster secret. Later starts
just resume from ``cluster.json``.
"""

from __future__ import annotations

import secrets
import socket
import time
import uuid
from pathlib import Path

from jaco.v1 import entities_pb2 as pb
from jaco.v1 import node_pb2
from jacod import errors
from jacod.cluster import backup, clusterfile, jointoken, peers, raft
from jacod.cluster.bus import Applied
from jacod.cluster.cluster import Cluster
from jacod.cluster.clusterfile import ClusterFile
from jacod.config import DaemonConfig
from jacod.state import Bootstrap, NodeJoin, NodeLeave, dump_state
from jacod.state.restore import rebased
from obs.logging import get_logger

log = get_logger("bootstrap")

JOIN_TOKEN_TTL_S = 3600


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_cluster_file(cfg: DaemonConfig) -> ClusterFile:
    raft_address = cfg.raft_listen or (f"127.0.0.1:{free_loopback_port()}" if cfg.dev else "")
    if not raft_address:
        raise errors.InvalidArgument(
            "raft_listen: required with --bootstrap (e.g. --raft-listen 10.0.0.5:7401)"
        )
    return ClusterFile(
        cluster_id=str(uuid.uuid4()),
        secret=secrets.token_hex(32),
        node_name=cfg.node_name,
        raft_address=raft_address,
        address=cfg.advertise or cfg.listen,
    )


async def join_cluster(cfg: DaemonConfig) -> ClusterFile:
    if not cfg.raft_listen:
        raise errors.InvalidArgument(
            "raft_listen: required with --join (e.g. --raft-listen 10.0.0.6:7401)"
        )
    jointoken.parse(cfg.join_token)  # malformed token: fail before dialing
    request = node_pb2.JoinRequest(
        node_name=cfg.node_name,
        address=cfg.advertise or cfg.listen,
        raft_address=cfg.raft_listen,
        join_token=cfg.join_token,
        labels=cfg.labels,
    )
    log.info("joining cluster", extra={"via": cfg.join, "node": cfg.node_name})
    import grpc

    try:
        resp = await peers.join(cfg.join, request, timeout=30)
    except grpc.aio.AioRpcError as err:
        raise errors.FailedPrecondition(
            f"join via {cfg.join} refused: {err.details()} [{err.code().name.lower()}]"
        ) from None
    return ClusterFile(
        cluster_id=resp.cluster_id,
        secret=jointoken.open_secret(cfg.join_token, resp.cluster_secret),
        node_name=cfg.node_name,
        raft_address=cfg.raft_listen,
        address=cfg.advertise or cfg.listen,
        peers=[p.raft_address for p in resp.peers if p.raft_address != cfg.raft_listen],
    )


def _self_join(cf: ClusterFile, cfg: DaemonConfig) -> NodeJoin:
    return NodeJoin(
        ts_ns=time.time_ns(),
        identity="system",
        node=cf.node_name,
        name=cf.node_name,
        address=cf.address,
        raft_address=cf.raft_address,
        labels=cfg.labels,
        runtime=cfg.runtime,
    )


async def open_cluster(cfg: DaemonConfig, timings: raft.RaftTimings) -> tuple[Cluster, ClusterFile]:
    data_dir = Path(cfg.data_dir)
    cf = clusterfile.load(data_dir)
    fresh = cf is None
    if cf is None:
        if cfg.join:
            cf = await join_cluster(cfg)
        elif cfg.bootstrap or cfg.dev:
            cf = new_cluster_file(cfg)
        else:
            raise errors.FailedPrecondition(
                f"{data_dir} holds no cluster: start with --bootstrap (new cluster), "
                "--join HOST:PORT --join-token TOKEN, or --dev"
            )
        clusterfile.save(data_dir, cf)
        log.info(
            "cluster membership recorded",
            extra={"cluster_id": cf.cluster_id, "raft_address": cf.raft_address},
        )
    elif cfg.join or cfg.bootstrap or cfg.restore:
        log.info(
            "already a member of a cluster; ignoring --bootstrap/--join/--restore",
            extra={"cluster_id": cf.cluster_id},
        )

    cluster = Cluster(cf.node_name, cf.raft_address, cf.secret)
    cluster.start_raft(
        lambda fsm: raft.start(fsm, cf.raft_address, cf.peers, cf.secret, data_dir, timings)
    )
    if not cf.peers:  # the founding node (or a single-node cluster): make sure it is bootstrapped
        await _ensure_bootstrapped(cluster, cf, cfg, restore=cfg.restore if fresh else "")
    cluster.spawn(_track_peers(cluster, data_dir, cf), name="track-peers")
    return cluster, cf


async def _ensure_bootstrapped(
    cluster: Cluster, cf: ClusterFile, cfg: DaemonConfig, restore: str
) -> None:
    await cluster.wait_for_leader(timeout=30)
    if restore:
        _, state = backup.decode(Path(restore).read_bytes())
        await cluster.restore(dump_state(rebased(state, cf.cluster_id)))
        await cluster.propose(_self_join(cf, cfg))
        log.info("cluster restored from backup", extra={"file": restore})
    elif not cluster.read(lambda s: s.cluster_id):
        await cluster.propose(
            Bootstrap(
                ts_ns=time.time_ns(),
                identity="system",
                node=cf.node_name,
                cluster_id=cf.cluster_id,
                node_name=cf.node_name,
                address=cf.address,
                raft_address=cf.raft_address,
                labels=cfg.labels,
                runtime=cfg.runtime,
            )
        )
        log.info("cluster bootstrapped", extra={"cluster_id": cf.cluster_id})


async def _track_peers(cluster: Cluster, data_dir: Path, cf: ClusterFile) -> None:
    """Keep cluster.json's peer list current so a restart finds the members."""
    sub = cluster.bus.subscribe()
    try:
        async for event in sub.events():
            if isinstance(event, Applied) and not isinstance(
                event.command, NodeJoin | NodeLeave | None
            ):
                continue
            current = sorted(
                cluster.read(
                    lambda s: [
                        n.raft_address
                        for n in s.nodes.values()
                        if n.raft_address != cf.raft_address
                    ]
                )
            )
            if current and current != sorted(cf.peers):
                cf.peers = current
                clusterfile.save(data_dir, cf)
    finally:
        cluster.bus.unsubscribe(sub)


async def admit(
    cluster: Cluster, cf: ClusterFile, req: node_pb2.JoinRequest
) -> node_pb2.JoinResponse:
    """A member's side of a join (the leader's, forwarded there if need be)."""
    jointoken.verify(req.join_token, cf.secret, cf.cluster_id, time.time_ns())
    if not req.node_name or not req.raft_address:
        raise errors.InvalidArgument("join: node_name and raft_address are required")
    await cluster.propose(
        NodeJoin(
            ts_ns=time.time_ns(),
            identity="system",
            node=cluster.node_name,
            name=req.node_name,
            address=req.address,
            raft_address=req.raft_address,
            labels=dict(req.labels),
        )
    )
    await cluster.membership("add", req.raft_address, wait=False)
    log.info("node admitted", extra={"node": req.node_name, "raft_address": req.raft_address})
    members = cluster.read(
        lambda s: [(n.name, n.address, n.raft_address) for n in s.nodes.values()]
    )
    return node_pb2.JoinResponse(
        cluster_id=cf.cluster_id,
        peers=[pb.Node(name=n, address=a, raft_address=r) for n, a, r in members],
        cluster_secret=jointoken.seal_secret(req.join_token, cf.secret),
    )


async def remove(cluster: Cluster, name: str, identity: str) -> int:
    node = cluster.read(lambda s: s.nodes.get(name))
    if node is None:
        raise errors.NotFound(f"no node named {name!r}; see `jaco node ls`")
    if cluster.read(lambda s: len(s.nodes)) <= 1:
        raise errors.FailedPrecondition("cannot remove the last node of a cluster")
    if node.raft_address == cluster.leader_raft_address():
        # PySyncObj refuses to let a leader remove itself.
        raise errors.FailedPrecondition(
            f"node {name} is the raft leader: stop its jacod first (another node takes over "
            f"within seconds), then run `jaco node remove {name}` again"
        )
    # Raft membership first: if it is refused, the state still lists the node
    # and the remove can be retried.
    await cluster.membership("rem", node.raft_address)
    result = await cluster.propose(
        NodeLeave(ts_ns=time.time_ns(), identity=identity, node=cluster.node_name, name=name)
    )
    return result.audit_id


def create_join_token(cluster: Cluster, cf: ClusterFile, ttl_s: int) -> tuple[str, int]:
    expires = time.time_ns() + (ttl_s or JOIN_TOKEN_TTL_S) * 1_000_000_000
    addresses = cluster.read(lambda s: sorted(n.address for n in s.nodes.values() if n.address))
    if not addresses:
        raise errors.FailedPrecondition(
            "no node of this cluster listens on TCP, so nothing could be joined: "
            "restart the nodes with --listen HOST:PORT"
        )
    return jointoken.create(cf.secret, cf.cluster_id, addresses, expires), expires
