"""This node's TLS identity in memory: credentials for its two TCP listeners
and for its calls to peers, hot-swapped on renewal.

- The API port (``--listen``): TLS, server-authenticated only (``jaco``
  presents a bearer token, not a certificate).
- The node port (``--node-listen``): mutual TLS. The handshake requires a
  client certificate issued by the cluster CA; the caller's node name is its
  ``CN=node:<name>`` (``peer_node`` reads it from grpc's auth context).
- Calls to peers present this node's certificate (``client_credentials``).

A renewal (``replace_cert``) bumps ``generation``: both listeners serve the
new certificate from their next handshake (grpc's dynamic credentials ask
``_fetcher`` before each one); ``Peers`` opens new channels with the new
client certificate, since a channel's credentials are fixed at creation.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import grpc

from jacod.pki import certs, files

DEFAULT_LIFETIME = dt.timedelta(days=90)
Fetch = Callable[[], "grpc.ServerCertificateConfiguration | None"]
CN_KEY = "x509_common_name"


def peer_node(auth_context: Mapping[str, Sequence[bytes]]) -> str:
    """The node name of a caller whose certificate the handshake verified
    (``""``: no verified client certificate, or not a node's)."""
    for cn in auth_context.get(CN_KEY, ()):
        name = cn.decode(errors="replace")
        if name.startswith(certs.NODE_PREFIX) and len(name) > len(certs.NODE_PREFIX):
            return name[len(certs.NODE_PREFIX) :]
    return ""


class NodeTLS:
    def __init__(self, directory: Path, node_name: str, ca_pem: bytes, key_pem: bytes,
                 cert_pem: bytes):  # fmt: skip
        self.directory = directory
        self.node_name = node_name
        self.ca_pem = ca_pem
        self.ca_cert = certs.load_cert(ca_pem, "ca.crt")
        self._key = certs.load_key(key_pem, "node.key")
        self._key_pem = key_pem
        self._lock = threading.Lock()
        self.generation = 0
        # Lifetime of certificates this node signs (its renewals, joiners');
        # the daemon sets it from --cert-lifetime.
        self.lifetime = DEFAULT_LIFETIME
        self._set_cert(cert_pem)

    @classmethod
    def load(cls, directory: Path, node_name: str) -> NodeTLS:
        return cls(
            directory,
            node_name,
            files.read(directory, files.CA_CERT),
            files.read(directory, files.NODE_KEY),
            files.read(directory, files.NODE_CERT),
        )

    # -- the certificate -------------------------------------------------------

    def _set_cert(self, cert_pem: bytes) -> None:
        cert = certs.load_cert(cert_pem, "node.crt")
        certs.verify_issued_by(cert, self.ca_cert)
        if cert.public_key() != self._key.public_key():
            raise certs.PKIError("node.crt is not for node.key")
        with self._lock:
            self.cert_pem, self.cert = cert_pem, cert
            self.generation += 1

    def replace_cert(self, cert_pem: bytes) -> None:
        """Serve ``cert_pem`` from the next handshake on (after a renewal)."""
        self._set_cert(cert_pem)

    @property
    def not_after(self) -> dt.datetime:
        return self.cert.not_valid_after_utc

    # -- credentials -------------------------------------------------------------

    def _config(self) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            [(self._key_pem, self.cert_pem)], root_certificates=self.ca_pem
        )

    def _fetcher(self) -> tuple[grpc.ServerCertificateConfiguration, Fetch]:
        """The current configuration, and what grpc calls before each handshake
        (on its own thread): None while nothing changed, the new configuration
        once after a renewal. One per listener: each tracks what it serves."""
        with self._lock:
            served = [self.generation]
            initial = self._config()

        def fetch() -> grpc.ServerCertificateConfiguration | None:
            with self._lock:
                if served[0] == self.generation:
                    return None
                served[0] = self.generation
                return self._config()

        return initial, fetch

    def server_credentials(self) -> grpc.ServerCredentials:
        """The API port: TLS, no client certificate asked for."""
        return grpc.dynamic_ssl_server_credentials(*self._fetcher())

    def node_server_credentials(self) -> grpc.ServerCredentials:
        """The node port: the handshake fails without a client certificate of the cluster CA."""
        initial, fetch = self._fetcher()
        return grpc.dynamic_ssl_server_credentials(
            initial, fetch, require_client_authentication=True
        )

    def client_credentials(self) -> tuple[grpc.ChannelCredentials, int]:
        """For calls to peers' node ports: trust the cluster CA only, present
        this node's certificate. With the generation they were made for."""
        with self._lock:
            creds = grpc.ssl_channel_credentials(
                root_certificates=self.ca_pem,
                private_key=self._key_pem,
                certificate_chain=self.cert_pem,
            )
            return creds, self.generation
