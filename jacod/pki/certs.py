"""Pure X.509 for the cluster PKI (``cryptography``): no files, no clock.

- The cluster CA: an EC P-256 key and a self-signed certificate
  (``CN=jaco cluster CA <cluster-id>``), made by ``--bootstrap``.
- Node certificates: ``CN=node:<name>``, SANs for every address the node is
  reached at (IP or DNS), usable both as TLS server and client certificate
  (node <-> node is mutual TLS). A joiner sends a CSR; the CA side signs it.

Callers pass ``now`` so lifetimes and renewal points are plain arithmetic.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NODE_PREFIX = "node:"
CA_LIFETIME = dt.timedelta(days=3650)
# Signing backdates notBefore a little: a peer whose clock is slightly behind
# still accepts a certificate made a moment ago.
BACKDATE = dt.timedelta(minutes=5)

Key = ec.EllipticCurvePrivateKey


class PKIError(Exception):
    """A certificate, key or CSR that cannot be used (message names which, never the key)."""


def new_key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_key(pem: bytes, what: str = "private key") -> Key:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise PKIError(f"{what}: not a readable unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PKIError(f"{what}: expected an EC key")
    return key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert(pem: bytes, what: str = "certificate") -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise PKIError(f"{what}: not a PEM certificate") from None


def node_name_of(cert: x509.Certificate) -> str:
    """The node a certificate was issued to ("" if it is not a node certificate)."""
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else ""
    return cn[len(NODE_PREFIX) :] if cn.startswith(NODE_PREFIX) else ""


def san_entries(hosts: Iterable[str]) -> list[x509.GeneralName]:
    """IP SANs for addresses, DNS SANs for names; wildcard binds are skipped."""
    out: list[x509.GeneralName] = []
    seen: set[str] = set()
    for host in hosts:
        host = host.strip().strip("[]")
        if not host or host in seen or host in ("0.0.0.0", "::"):
            continue
        seen.add(host)
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            try:
                out.append(x509.DNSName(host))
            except ValueError:  # not an A-label (a unicode hostname): no SAN for it
                continue
    return out


def sans_of(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    ips = [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return ips + list(ext.get_values_for_type(x509.DNSName))


def make_ca(cluster_id: str, now: dt.datetime) -> tuple[Key, x509.Certificate]:
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"jaco cluster CA {cluster_id}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_csr(key: Key, node_name: str, hosts: Iterable[str]) -> x509.CertificateSigningRequest:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NODE_PREFIX + node_name)])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    sans = san_entries(hosts)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256())


def csr_pem(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.PEM)


def load_csr(pem: bytes) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError:
        raise PKIError("csr: not a PEM certificate signing request") from None
    if not csr.is_signature_valid:
        raise PKIError("csr: its signature does not match its key")
    return csr


def sign_csr(
    csr: x509.CertificateSigningRequest,
    ca_key: Key,
    ca_cert: x509.Certificate,
    now: dt.datetime,
    lifetime: dt.timedelta,
    node_name: str | None = None,
) -> x509.Certificate:
    """A node certificate for the CSR's key. ``node_name``, if given, must be
    what the CSR asks for (a joiner cannot get a certificate for another name)."""
    asked = node_name_of_csr(csr)
    if not asked:
        raise PKIError(f"csr: the subject must be CN={NODE_PREFIX}<node name>")
    if node_name is not None and asked != node_name:
        raise PKIError(f"csr: asks for {NODE_PREFIX}{asked}, expected {NODE_PREFIX}{node_name}")
    if lifetime <= dt.timedelta(0):
        raise PKIError("certificate lifetime must be positive")
    try:
        sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = x509.SubjectAlternativeName([])
    # Restrict SANs to IPs and DNS names: nothing else is meaningful here.
    names = [n for n in sans if isinstance(n, x509.IPAddress | x509.DNSName)]
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(min(now + lifetime, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),  # noqa: E501
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def node_name_of_csr(csr: x509.CertificateSigningRequest) -> str:
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else ""
    if not cn.startswith(NODE_PREFIX) or len(cn) == len(NODE_PREFIX):
        return ""
    return cn[len(NODE_PREFIX) :]


def verify_issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> None:
    """PKIError unless ``ca_cert`` signed ``cert``."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        raise PKIError("certificate was not issued by this cluster's CA") from None


def renew_at(cert: x509.Certificate, renew_before: dt.timedelta) -> dt.datetime:
    """When to replace ``cert``: ``renew_before`` ahead of its expiry, but
    never before half its lifetime (a renewal point longer than the lifetime
    would otherwise renew in a loop)."""
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    half = start + (end - start) / 2
    return max(end - renew_before, half)
