"""This node's TLS identity in memory: credentials for the listener and for
calls to peers, hot-swapped on renewal, and the proof a node attaches to its
node-service calls.

Why a proof in metadata and not a client certificate: grpc's Python API can
either not ask for a client certificate or require one on a listener, never
"verify one if offered". The one TCP listener serves both `jaco` (bearer
tokens, no certificate) and peers, so it cannot require one. A node therefore
proves its certificate over the (server-authenticated) TLS channel: it sends
its certificate and an ECDSA signature, made with its key, over the
``x-jaco-peer`` HMAC value and the method (``peer_metadata``); the receiver
checks that the CA issued the certificate, that it is valid now, that it
names the node the HMAC names, and the signature (``verify_peer``).
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections import OrderedDict
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from jacod.errors import Unauthenticated
from jacod.pki import certs, files

CERT_HEADER = "x-jaco-peer-cert"
SIG_HEADER = "x-jaco-peer-sig"
_SIG = ec.ECDSA(hashes.SHA256())
DEFAULT_LIFETIME = dt.timedelta(days=90)


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
        self._served = -1
        self._verified: OrderedDict[bytes, x509.Certificate] = OrderedDict()
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
        der = cert.public_bytes(serialization.Encoding.DER)
        with self._lock:
            self.cert_pem, self.cert = cert_pem, cert
            self._cert_b64 = base64.b64encode(der).decode()
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

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        # Called by grpc before each handshake (on its own thread): cheap when
        # nothing changed, a new configuration right after a renewal.
        with self._lock:
            if self._served == self.generation:
                return None
            self._served = self.generation
            return self._config()

    def server_credentials(self) -> grpc.ServerCredentials:
        with self._lock:
            self._served = self.generation
            initial = self._config()
        return grpc.dynamic_ssl_server_credentials(initial, self._fetch)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """For calls to peers: trust the cluster CA only."""
        return grpc.ssl_channel_credentials(root_certificates=self.ca_pem)

    # -- the peer proof -------------------------------------------------------------

    def peer_metadata(self, hmac_value: str, method: str) -> tuple[tuple[str, str], ...]:
        sig = self._key.sign(_message(hmac_value, method), _SIG)
        with self._lock:
            cert_b64 = self._cert_b64
        return ((CERT_HEADER, cert_b64), (SIG_HEADER, base64.b64encode(sig).decode()))

    def verify_peer(
        self, metadata: dict[str, str], hmac_value: str, node: str, method: str,
        now: dt.datetime | None = None,
    ) -> None:  # fmt: skip
        """Unauthenticated unless the caller proved a certificate of this
        cluster's CA for ``node`` (the name its HMAC carries)."""
        cert_b64, sig_b64 = metadata.get(CERT_HEADER, ""), metadata.get(SIG_HEADER, "")
        if not cert_b64 or not sig_b64:
            raise Unauthenticated("node calls need the calling node's certificate")
        try:
            der, sig = base64.b64decode(cert_b64), base64.b64decode(sig_b64)
        except ValueError:
            raise Unauthenticated("malformed node certificate proof") from None
        cert = self._verified_cert(der)
        now = now or dt.datetime.now(dt.UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise Unauthenticated("the calling node's certificate is expired or not yet valid")
        if certs.node_name_of(cert) != node:
            raise Unauthenticated("the calling node's certificate names another node")
        public = cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise Unauthenticated("the calling node's certificate has an unexpected key type")
        try:
            public.verify(sig, _message(hmac_value, method), _SIG)
        except InvalidSignature:
            raise Unauthenticated("the calling node's certificate proof does not verify") from None

    def _verified_cert(self, der: bytes) -> x509.Certificate:
        with self._lock:
            cached = self._verified.get(der)
            if cached is not None:
                self._verified.move_to_end(der)
                return cached
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            raise Unauthenticated("malformed node certificate") from None
        try:
            certs.verify_issued_by(cert, self.ca_cert)
        except certs.PKIError:
            raise Unauthenticated("the calling node's certificate is not of this cluster") from None
        with self._lock:
            self._verified[der] = cert
            while len(self._verified) > 64:
                self._verified.popitem(last=False)
        return cert


def _message(hmac_value: str, method: str) -> bytes:
    return f"jaco-peer-proof\n{hmac_value}\n{method}".encode()
