"""Wiring only: build the pieces from the config, serve, stop gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import grpc

from jaco import __version__
from jaco.v1 import control_pb2_grpc, node_pb2_grpc
from jacod import errors, sdnotify
from jacod.agent import Agent
from jacod.api import context as api_context
from jacod.api import streams
from jacod.api.control import ControlService
from jacod.api.interceptors import IdentityInterceptor
from jacod.api.logs import LogService
from jacod.api.node import NodeService
from jacod.api.unixfront import UnixFront
from jacod.api.views import Views
from jacod.auth.wiring import Security
from jacod.cluster import backups, membership, raft
from jacod.cluster.cluster import Cluster
from jacod.cluster.clusterfile import ClusterFile
from jacod.cluster.monitor import PeerMonitor
from jacod.config import DaemonConfig
from jacod.runtime import ProcessRuntime, Runtime
from jacod.scheduler.reconcile import Scheduler
from jacod.traffic import Traffic
from obs import telemetry
from obs.logging import get_logger

log = get_logger("daemon")

PRIVATE_SOCKET = "grpc.sock"  # in the data dir: gRPC's own unix socket, behind the front


@contextlib.contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """One jacod per data dir: a second one fails fast instead of corrupting it."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fh = open(data_dir / "jacod.lock", "w")  # noqa: SIM115 - held for the daemon's life
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise errors.FailedPrecondition(
            f"another jacod is using data dir {data_dir}; stop it or pass --data-dir"
        ) from None
    try:
        yield
    finally:
        fh.close()


def prepare_socket(path: Path) -> None:
    """Make the socket's directory; remove a stale socket nobody listens on."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if not path.exists():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()
            return
    raise errors.FailedPrecondition(f"another jacod is already serving on {path}")


def secure_socket(path: Path, group: str) -> None:
    """The socket's mode is the gate for identity `local`: owner and group only."""
    if group:
        import grp

        os.chown(path, -1, grp.getgrnam(group).gr_gid)
    os.chmod(path, 0o660)


def make_runtime(cfg: DaemonConfig, node_name: str) -> Runtime:
    if cfg.runtime == "docker":
        from jacod.runtime.docker import DockerRuntime  # aiodocker only when used

        return DockerRuntime(cfg.docker_host, node=node_name)
    return ProcessRuntime(Path(cfg.data_dir) / "runtime")


def spawn_pressure(cfg: DaemonConfig, cluster: Cluster, node_name: str) -> None:
    """The PSI sampler on every node; the rebalancer decides on the leader only."""
    from jacod.scheduler.pressure import PressureSampler
    from jacod.scheduler.rebalance import RebalanceConfig, Rebalancer

    if cfg.pressure_interval > 0:
        sampler = PressureSampler(
            cluster, node_name, source=Path(cfg.pressure_source), interval_s=cfg.pressure_interval
        )
        cluster.spawn(sampler.run(), name="pressure")
    if cfg.rebalance_threshold > 0:
        rcfg = RebalanceConfig(
            threshold=cfg.rebalance_threshold,
            window_s=cfg.rebalance_window,
            interval_s=cfg.rebalance_interval,
            max_moves=cfg.rebalance_max_moves,
            cooldown_s=cfg.rebalance_cooldown,
            target_max=cfg.rebalance_target_max,
        )
        cluster.spawn(Rebalancer(cluster, rcfg).run(), name="rebalance")


def _grpc_server(
    security: Security, options: list[tuple[str, int]] | None = None
) -> grpc.aio.Server:
    # Tracing first: its server span encloses authentication and error mapping.
    interceptors = [*telemetry.server_interceptors(), IdentityInterceptor(security.authenticator)]
    return grpc.aio.server(interceptors=interceptors, options=options)


async def serve(cfg: DaemonConfig) -> None:
    data_dir = Path(cfg.data_dir)
    with data_dir_lock(data_dir):
        sock_path = Path(cfg.socket)
        prepare_socket(sock_path)
        cluster, cf = await membership.open_cluster(cfg, raft.RaftTimings())
        telemetry.set_cluster(cluster_id=cf.cluster_id, node=cf.node_name)
        try:
            await _serve(cfg, cluster, cf, sock_path)
        finally:
            await cluster.stop()


async def _serve(cfg: DaemonConfig, cluster: Cluster, cf: ClusterFile, sock_path: Path) -> None:
    monitor = PeerMonitor(cluster)
    cluster.spawn(monitor.run(), name="peer-monitor")
    if cfg.backup_interval > 0:
        cluster.spawn(
            backups.periodic(
                cluster, Path(cfg.data_dir) / "backups", cfg.backup_interval, cfg.backup_keep
            ),
            name="backups",
        )
    scheduler = Scheduler(cluster)
    cluster.spawn(scheduler.run(), name="scheduler")
    spawn_pressure(cfg, cluster, cf.node_name)
    runtime = make_runtime(cfg, cf.node_name)
    traffic = Traffic(cfg, cluster, cf.node_name)
    agent = Agent(cluster, runtime, cf.node_name, state_dir=Path(cfg.data_dir) / "agent",
                  discovery=traffic.replica_env)  # fmt: skip
    await traffic.start()  # before the agent: replicas get JACO_DNS
    cluster.spawn(agent.run(), name="agent")
    views = Views(cluster, monitor, cfg.runtime)

    security = Security(cfg, cf, cluster)  # PKI, tokens, auth_denied, renewal
    security.start()
    if telemetry.enabled():
        runtime.observe = telemetry.runtime_span
        cluster.commit_observers.append(telemetry.record_commit_latency)
        cluster.apply_observers.append(telemetry.record_apply_duration)
        scheduler.lag_observers.append(telemetry.record_reconcile_lag)
        agent.start_observers.append(telemetry.record_container_start)
        telemetry.observe_replica_states(agent.state_counts)
        security.renewal_observers.append(
            lambda ok: telemetry.record_cert_renewal() if ok else None
        )
        security.revocation_observers.append(telemetry.record_token_revocation_propagation)
    cluster.caller_uid = api_context.peer_uid.get  # audit payloads record it
    server = _grpc_server(security)
    logs = LogService(cluster, runtime)  # the agent's runtime: one per state dir
    nodes = NodeService(views, cf, logs)
    control_pb2_grpc.add_ControlServicer_to_server(ControlService(views, cf, logs), server)
    # Here for Join (a joiner has no certificate yet), unix-socket callers and
    # --dev peers (HMAC); other node calls on TCP are refused with a PKI.
    node_pb2_grpc.add_NodeServiceServicer_to_server(nodes, server)
    # gRPC serves unix-socket callers on a private socket (0600, data dir);
    # the public one is the front, which tells each call its caller's uid.
    private = Path(cfg.data_dir) / PRIVATE_SOCKET
    with contextlib.suppress(FileNotFoundError):
        private.unlink()  # stale: the data-dir lock says no other jacod owns it
    old_umask = os.umask(0o177)
    try:
        server.add_insecure_port(f"unix:{private}")
    finally:
        os.umask(old_umask)
    if cfg.listen:
        # TLS with the cluster CA (tokens for the control API); plaintext,
        # serving no tokens, with --dev.
        security.add_tcp_port(server, cfg.listen)
    servers = [server]
    if security.node_listen:
        # The node port: the node service only, over mutual TLS. Its own
        # server so that nothing else is ever served there; a port taken by
        # another process is an error, not shared (SO_REUSEPORT off).
        node_server = _grpc_server(security, options=[("grpc.so_reuseport", 0)])
        node_pb2_grpc.add_NodeServiceServicer_to_server(nodes, node_server)
        security.add_node_port(node_server)
        servers.append(node_server)
    for s in servers:
        await s.start()
    front = UnixFront(sock_path, private)
    old_umask = os.umask(0o117)
    try:
        await front.start()
    finally:
        os.umask(old_umask)
    secure_socket(sock_path, cfg.socket_group)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "jacod ready",
        extra={
            "node": cf.node_name,
            "cluster_id": cf.cluster_id,
            "socket": str(sock_path),
            "listen": cfg.listen,
            "node_listen": security.node_listen,
            "tls": security.tls is not None,
            "raft_address": cf.raft_address,
            "runtime": cfg.runtime,
            "ingress": cfg.ingress_listen,
            "dns": cfg.dns_listen,
            "version": __version__,
        },
    )
    sdnotify.notify("READY=1")
    await stop.wait()
    sdnotify.notify("STOPPING=1")
    log.info("shutting down: finishing in-flight RPCs", extra={"grace_s": cfg.shutdown_grace})
    await front.stop_accepting()
    await asyncio.gather(*(streams.stop(s, cfg.shutdown_grace) for s in servers))
    await front.close()
    await traffic.stop()
    for path in (sock_path, private):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if (aclose := getattr(runtime, "aclose", None)) is not None:
        await aclose()  # the docker runtime's HTTP session
    log.info("jacod stopped")
