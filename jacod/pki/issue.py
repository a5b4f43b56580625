"""Making and signing this node's certificates, on top of ``certs`` and ``files``.

- ``create_cluster``: ``--bootstrap`` makes the CA and the first node's key
  and certificate.
- ``joiner_csr`` / ``sign_for_joiner`` / ``install_joined``: a joiner keeps its
  key, sends a CSR; the admitting member signs it and returns the CA (and the
  CA key, sealed under the join token, so the joiner can sign its own renewals).
- ``renew``: a new certificate for this node's key, signed with the local CA key.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterable
from pathlib import Path

from jacod.errors import FailedPrecondition
from jacod.pki import certs, files


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def node_hosts(*addresses: str) -> list[str]:
    """SAN hosts for a node: its listen/advertise hosts, its hostname and loopback
    (so `jaco --server 127.0.0.1:PORT` works on the node itself)."""
    hosts = [a.rpartition(":")[0].strip("[]") for a in addresses if a]
    return [*hosts, socket.gethostname(), "localhost", "127.0.0.1", "::1"]


def create_cluster(
    directory: Path,
    cluster_id: str,
    node_name: str,
    hosts: Iterable[str],
    lifetime: dt.timedelta,
    now: dt.datetime | None = None,
) -> None:
    now = now or now_utc()
    ca_key, ca_cert = certs.make_ca(cluster_id, now)
    key = certs.new_key()
    cert = certs.sign_csr(
        certs.make_csr(key, node_name, hosts), ca_key, ca_cert, now, lifetime, node_name
    )
    files.write(directory, files.CA_KEY, certs.key_pem(ca_key))
    files.write(directory, files.CA_CERT, certs.cert_pem(ca_cert))
    files.write(directory, files.NODE_KEY, certs.key_pem(key))
    files.write(directory, files.NODE_CERT, certs.cert_pem(cert))


def joiner_csr(directory: Path, node_name: str, hosts: Iterable[str]) -> bytes:
    """Make (or reuse, if a previous attempt made one) this node's key; the CSR."""
    try:
        key = certs.load_key(files.read(directory, files.NODE_KEY), "node.key")
    except (FailedPrecondition, certs.PKIError):  # missing or unusable: a fresh key
        key = certs.new_key()
        files.write(directory, files.NODE_KEY, certs.key_pem(key))
    return certs.csr_pem(certs.make_csr(key, node_name, hosts))


def sign_for_joiner(
    directory: Path, csr_pem: bytes, node_name: str, lifetime: dt.timedelta
) -> tuple[bytes, bytes, bytes]:
    """On a member: (certificate, CA certificate, CA key) PEMs for a joiner's CSR."""
    ca_key_pem = files.read(directory, files.CA_KEY)
    ca_pem = files.read(directory, files.CA_CERT)
    ca_key = certs.load_key(ca_key_pem, "ca.key")
    ca_cert = certs.load_cert(ca_pem, "ca.crt")
    csr = certs.load_csr(csr_pem)
    cert = certs.sign_csr(csr, ca_key, ca_cert, now_utc(), lifetime, node_name)
    return certs.cert_pem(cert), ca_pem, ca_key_pem


def install_joined(directory: Path, cert_pem: bytes, ca_pem: bytes, ca_key_pem: bytes) -> None:
    """On the joiner: check what it got back before keeping it."""
    ca_cert = certs.load_cert(ca_pem, "the CA certificate from the join")
    cert = certs.load_cert(cert_pem, "the node certificate from the join")
    certs.verify_issued_by(cert, ca_cert)
    key = certs.load_key(files.read(directory, files.NODE_KEY), "node.key")
    if cert.public_key() != key.public_key():
        raise certs.PKIError("the certificate from the join is not for this node's key")
    ca_key = certs.load_key(ca_key_pem, "the CA key from the join")
    if ca_key.public_key() != ca_cert.public_key():
        raise certs.PKIError("the CA key from the join does not match its CA certificate")
    files.write(directory, files.CA_KEY, ca_key_pem)
    files.write(directory, files.CA_CERT, ca_pem)
    files.write(directory, files.NODE_CERT, cert_pem)


def renew(
    directory: Path,
    node_name: str,
    hosts: Iterable[str],
    lifetime: dt.timedelta,
    now: dt.datetime | None = None,
) -> bytes:
    """A new certificate for this node's key (the caller installs and writes it)."""
    ca_key = certs.load_key(files.read(directory, files.CA_KEY), "ca.key")
    ca_cert = certs.load_cert(files.read(directory, files.CA_CERT), "ca.crt")
    if ca_key.public_key() != ca_cert.public_key():
        raise certs.PKIError("ca.key does not belong to ca.crt")
    key = certs.load_key(files.read(directory, files.NODE_KEY), "node.key")
    csr = certs.make_csr(key, node_name, hosts)
    cert = certs.sign_csr(csr, ca_key, ca_cert, now or now_utc(), lifetime, node_name)
    return certs.cert_pem(cert)
