"""The daemon's security pieces, built once in ``server.py``:

- ``tls``: this node's ``NodeTLS`` from ``<data_dir>/pki`` (None without a
  PKI, i.e. ``--dev``), installed for peer calls and joins;
- the TCP listeners: the API port (``add_tcp_port``) and, with a PKI, the
  mutual-TLS node port (``add_node_port``, ``node_listen``);
- ``authenticator``: what the identity interceptor calls on every RPC;
- the ``auth_denied`` recorder, the revocation watch and the certificate
  renewer, as tasks owned by the cluster;
- hook lists for the metrics issue: ``renewal_observers`` (bool per renewal
  attempt), ``revocation_observers`` (seconds from a revoke's proposal to
  its apply here), ``denial_observers`` (reason per denied call).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import grpc

from jacod import errors, pki
from jacod.auth.authenticator import Authenticator
from jacod.auth.denials import DenialRecorder
from jacod.auth.revocations import RevocationWatch
from jacod.cluster.cluster import Cluster
from jacod.cluster.clusterfile import ClusterFile
from jacod.config import DaemonConfig, seconds
from jacod.pki import certs, files, issue
from jacod.pki.node import NodeTLS
from jacod.pki.renewal import Renewer
from jacod.state.model import Token
from obs.logging import get_logger

log = get_logger("pki")


class Security:
    def __init__(self, cfg: DaemonConfig, cf: ClusterFile, cluster: Cluster):
        self._cluster = cluster
        self.tls = load_tls(cfg, cf)
        cluster.peers.tls = self.tls
        pki.install(self.tls)
        # The node port exists with a PKI only: without one (--dev) node calls
        # go over the API port with the HMAC.
        self.node_listen = cfg.node_listen if self.tls is not None else ""
        self.node_address = cfg.node_address() if self.tls is not None else ""
        self.denials = DenialRecorder(cluster)
        self.revocations = RevocationWatch(cluster)
        self.authenticator = Authenticator(
            cf.secret,
            lookup=self._lookup,
            tls=self.tls,
            denials=self.denials,
            catching_up=cluster.catching_up,
            node_address=self.node_address,
        )
        self.renewer: Renewer | None = None
        if self.tls is not None:
            self.renewer = Renewer(
                cluster,
                self.tls,
                issue.node_hosts(cfg.listen, cfg.advertise, self.node_address),
                self.tls.lifetime,
                dt.timedelta(seconds=seconds(cfg.cert_renew_before)),
            )
        self.renewal_observers: list[Callable[[bool], None]] = (
            self.renewer.observers if self.renewer is not None else []
        )
        self.revocation_observers = self.revocations.observers
        self.denial_observers = self.denials.observers

    def _lookup(self, token_id: str) -> Token | None:
        # Read on every call from this node's state: a revocation counts here
        # as soon as this node has applied it.
        return self._cluster.read(lambda s: s.tokens.get(token_id))

    def start(self) -> None:
        self._cluster.spawn(self.denials.run(), name="auth-denials")
        self._cluster.spawn(self.revocations.run(), name="revocation-watch")
        if self.renewer is not None:
            self._cluster.spawn(self.renewer.run(), name="cert-renewal")

    def add_tcp_port(self, server: grpc.aio.Server, listen: str) -> None:
        """TLS only on a node with a PKI; plaintext (no tokens) on a --dev node."""
        creds = self.tls.server_credentials() if self.tls is not None else None
        bind(server, listen, creds, "listen")

    def add_node_port(self, server: grpc.aio.Server) -> None:
        """Mutual TLS: a handshake without a certificate of the cluster CA fails."""
        assert self.tls is not None and self.node_listen
        bind(server, self.node_listen, self.tls.node_server_credentials(), "node_listen",
             hint="; pass --node-listen HOST:PORT with a free port")  # fmt: skip


def bind(
    server: grpc.aio.Server,
    address: str,
    creds: grpc.ServerCredentials | None,
    field: str,
    hint: str = "",
) -> None:
    try:
        if creds is not None:
            port = server.add_secure_port(address, creds)
        else:
            port = server.add_insecure_port(address)
    except RuntimeError:  # grpc >= 1.5x raises where older versions returned 0
        port = 0
    if port == 0:
        raise errors.FailedPrecondition(
            f"{field}: cannot listen on {address}: address in use?{hint}"
        )


def load_tls(cfg: DaemonConfig, cf: ClusterFile) -> NodeTLS | None:
    directory = files.pki_dir(cfg.data_dir)
    if not files.exists(directory):
        if not cfg.dev and cfg.listen:
            log.warning(
                "no PKI in this data dir: the TCP listener is plaintext and serves no tokens; "
                "node calls go over it (no node port)",
                extra={"dir": str(directory)},
            )
        return None
    try:
        tls = NodeTLS.load(directory, cf.node_name)
    except certs.PKIError as exc:
        raise errors.FailedPrecondition(f"{directory}: {exc}") from None
    tls.lifetime = dt.timedelta(seconds=seconds(cfg.cert_lifetime))
    return tls
