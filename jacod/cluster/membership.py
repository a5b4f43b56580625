"""Creating, joining and leaving a cluster (subsystem ``bootstrap``).

First start of a node: ``--bootstrap``/``--dev`` creates a cluster (id and
secret in ``cluster.json``, then the ``Bootstrap`` command); ``--join`` asks a
member, which verifies the join token, records the node (``NodeJoin``), adds it
to raft, and hands back the peers and the sealed cluster secret. Later starts
just resume from ``cluster.json``.

PKI (``jacod/pki``): ``--bootstrap`` also makes the cluster CA and this node's
certificate in ``<data_dir>/pki``; a joiner sends a CSR and gets its
certificate, the CA and the sealed CA key back. ``--dev`` makes none (its TCP
listener, if any, stays plaintext and serves no tokens). With a PKI each node
records its node port (``Node.node_address``, mutual TLS) when it bootstraps
or joins; peers call it there.
"""

from __future__ import annotations

import datetime as dt
import secrets
import socket
import time
import uuid
from pathlib import Path

from jaco.v1 import entities_pb2 as pb
from jaco.v1 import node_pb2
from jacod import errors, pki
from jacod.cluster import backup, clusterfile, jointoken, peers, raft
from jacod.cluster.bus import Applied
from jacod.cluster.cluster import Cluster
from jacod.cluster.clusterfile import ClusterFile
from jacod.config import DaemonConfig, seconds
from jacod.pki import certs, files, issue, jointrust
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
    ca_pem = jointrust.ca_pem_of(cfg.join_token)
    pki_dir = files.pki_dir(cfg.data_dir)
    request = node_pb2.JoinRequest(
        node_name=cfg.node_name,
        address=cfg.advertise or cfg.listen,
        raft_address=cfg.raft_listen,
        join_token=cfg.join_token,
        labels=cfg.labels,
    )
    if ca_pem is not None:  # a cluster with a PKI: this node will have a node port
        request.node_address = cfg.node_address()
        hosts = issue.node_hosts(cfg.listen, cfg.advertise, request.node_address)
        request.csr_pem = issue.joiner_csr(pki_dir, cfg.node_name, hosts)
    log.info("joining cluster", extra={"via": cfg.join, "node": cfg.node_name})
    import grpc

    try:
        resp = await peers.join(cfg.join, request, timeout=30, ca_pem=ca_pem)
    except grpc.aio.AioRpcError as err:
        details = err.details() or ""
        if ca_pem is not None and _tls_refused(err):
            details = (
                f"join token is not valid for this cluster: {cfg.join} does not present a "
                "certificate of the CA in the token (a token of another cluster?)"
            )
        raise errors.FailedPrecondition(
            f"join via {cfg.join} refused: {details} [{err.code().name.lower()}]"
        ) from None
    if ca_pem is not None:
        try:
            issue.install_joined(
                pki_dir,
                resp.certificate_pem,
                resp.ca_pem,
                jointoken.open_secret(cfg.join_token, resp.ca_key_sealed).encode(),
            )
        except certs.PKIError as exc:
            raise errors.FailedPrecondition(f"join via {cfg.join}: {exc}") from None
    return ClusterFile(
        cluster_id=resp.cluster_id,
        secret=jointoken.open_secret(cfg.join_token, resp.cluster_secret),
        node_name=cfg.node_name,
        raft_address=cfg.raft_listen,
        address=cfg.advertise or cfg.listen,
        peers=[p.raft_address for p in resp.peers if p.raft_address != cfg.raft_listen],
    )


def _tls_refused(err: object) -> bool:
    """A failed TLS handshake (the peer's certificate is not from the token's CA)."""
    text = (getattr(err, "details", lambda: "")() or "").lower()
    return "handshake" in text or "certificate" in text or "ssl" in text


def _create_pki(cf: ClusterFile, cfg: DaemonConfig) -> None:
    issue.create_cluster(
        files.pki_dir(cfg.data_dir),
        cf.cluster_id,
        cf.node_name,
        issue.node_hosts(cfg.listen, cfg.advertise, cfg.node_address()),
        dt.timedelta(seconds=seconds(cfg.cert_lifetime)),
    )
    log.info(
        "cluster CA and node certificate created",
        extra={"dir": str(files.pki_dir(cfg.data_dir))},
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
        node_address=cfg.node_address(),  # "" with --dev (no PKI, no node port)
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
            if not cfg.dev:
                _create_pki(cf, cfg)
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
                node_address=cfg.node_address(),
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
    tls = pki.current()
    signed: tuple[bytes, bytes, bytes] | None = None
    if tls is not None:
        if not req.csr_pem:
            raise errors.FailedPrecondition(
                "join: this cluster uses TLS and the request has no CSR; "
                "join with a token from `jaco node join-token` of this version"
            )
        try:
            signed = issue.sign_for_joiner(tls.directory, req.csr_pem, req.node_name, tls.lifetime)
        except certs.PKIError as exc:
            raise errors.InvalidArgument(f"join: {exc}") from None
    await cluster.propose(
        NodeJoin(
            ts_ns=time.time_ns(),
            identity="system",
            node=cluster.node_name,
            name=req.node_name,
            address=req.address,
            raft_address=req.raft_address,
            labels=dict(req.labels),
            node_address=req.node_address,
        )
    )
    await cluster.membership("add", req.raft_address, wait=False)
    log.info("node admitted", extra={"node": req.node_name, "raft_address": req.raft_address})
    members = cluster.read(
        lambda s: [(n.name, n.address, n.raft_address) for n in s.nodes.values()]
    )
    resp = node_pb2.JoinResponse(
        cluster_id=cf.cluster_id,
        peers=[pb.Node(name=n, address=a, raft_address=r) for n, a, r in members],
        cluster_secret=jointoken.seal_secret(req.join_token, cf.secret),
    )
    if signed is not None:
        cert_pem, ca_pem, ca_key_pem = signed
        resp.certificate_pem, resp.ca_pem = cert_pem, ca_pem
        resp.ca_key_sealed = jointoken.seal_secret(req.join_token, ca_key_pem.decode())
    return resp


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
    tls = pki.current()
    if tls is not None:  # the joiner learns whom to trust from the token
        return jointrust.create(cf.secret, cf.cluster_id, addresses, expires, tls.ca_pem), expires
    return jointoken.create(cf.secret, cf.cluster_id, addresses, expires), expires
