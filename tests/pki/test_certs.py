"""Pure X.509: the CA, CSR signing, SANs, lifetimes and the renewal point."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from jacod.pki import certs

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def ca() -> tuple[certs.Key, x509.Certificate]:
    return certs.make_ca("cluster-1", NOW)


def issue(ca: tuple[certs.Key, x509.Certificate], name: str = "a", hosts=("127.0.0.1",),
          lifetime: dt.timedelta = HOUR, now: dt.datetime = NOW) -> x509.Certificate:  # fmt: skip
    key = certs.new_key()
    return certs.sign_csr(certs.make_csr(key, name, hosts), ca[0], ca[1], now, lifetime, name)


def test_ca_is_a_p256_self_signed_ca(ca: tuple[certs.Key, x509.Certificate]) -> None:
    key, cert = ca
    assert isinstance(key.curve, ec.SECP256R1)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    cert.verify_directly_issued_by(cert)  # self-signed
    assert "cluster-1" in cert.subject.rfc4514_string()
    assert cert.not_valid_after_utc - NOW >= dt.timedelta(days=3000)


def test_node_certificate_names_sans_and_usage(ca: tuple[certs.Key, x509.Certificate]) -> None:
    hosts = ["10.0.0.5", "db.example", "::1", "0.0.0.0", "10.0.0.5", "bücher.example"]
    cert = issue(ca, "node-7", hosts)
    assert certs.node_name_of(cert) == "node-7"
    assert cert.subject.rfc4514_string() == "CN=node:node-7"
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.5"),
        ipaddress.ip_address("::1"),
    ]  # the wildcard bind is skipped, the duplicate folded
    assert sans.get_values_for_type(x509.DNSName) == ["db.example"]
    assert certs.sans_of(cert) == ["10.0.0.5", "::1", "db.example"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    certs.verify_issued_by(cert, ca[1])


def test_lifetime_and_backdating(ca: tuple[certs.Key, x509.Certificate]) -> None:
    cert = issue(ca, lifetime=dt.timedelta(seconds=6))
    assert cert.not_valid_after_utc == NOW + dt.timedelta(seconds=6)
    assert cert.not_valid_before_utc == NOW - certs.BACKDATE


def test_a_certificate_never_outlives_its_ca(ca: tuple[certs.Key, x509.Certificate]) -> None:
    cert = issue(ca, lifetime=dt.timedelta(days=100_000))
    assert cert.not_valid_after_utc == ca[1].not_valid_after_utc


def test_csr_must_ask_for_the_joining_node(ca: tuple[certs.Key, x509.Certificate]) -> None:
    csr = certs.make_csr(certs.new_key(), "b", ["127.0.0.1"])
    with pytest.raises(certs.PKIError, match="expected node:c"):
        certs.sign_csr(csr, ca[0], ca[1], NOW, HOUR, "c")
    with pytest.raises(certs.PKIError, match="lifetime"):
        certs.sign_csr(csr, ca[0], ca[1], NOW, dt.timedelta(0), "b")


def test_csr_without_a_node_subject_is_refused(ca: tuple[certs.Key, x509.Certificate]) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = certs.new_key()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "admin")]))
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(certs.PKIError, match="CN=node:"):
        certs.sign_csr(csr, ca[0], ca[1], NOW, HOUR)
    assert certs.load_csr(certs.csr_pem(csr)).subject == csr.subject


def test_other_ca_is_detected(ca: tuple[certs.Key, x509.Certificate]) -> None:
    other = certs.make_ca("cluster-2", NOW)
    with pytest.raises(certs.PKIError, match="not issued by this cluster's CA"):
        certs.verify_issued_by(issue(other), ca[1])


def test_unreadable_material_errors_name_it_without_contents() -> None:
    junk = b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n"
    with pytest.raises(certs.PKIError) as err:
        certs.load_key(junk, "ca.key")
    assert str(err.value).startswith("ca.key:") and "BEGIN" not in str(err.value)
    with pytest.raises(certs.PKIError, match="node.crt"):
        certs.load_cert(b"garbage", "node.crt")
    with pytest.raises(certs.PKIError, match="csr"):
        certs.load_csr(b"garbage")


def test_pem_round_trips(ca: tuple[certs.Key, x509.Certificate]) -> None:
    key = certs.new_key()
    assert certs.load_key(certs.key_pem(key)).private_numbers() == key.private_numbers()
    assert certs.load_cert(certs.cert_pem(ca[1])) == ca[1]


@pytest.mark.parametrize(
    ("lifetime_s", "renew_before_s", "expected_s"),
    [
        (90 * 86400, 30 * 86400, 60 * 86400),  # the defaults: renew after two thirds
        (6, 3, 3),  # the e2e test's short lifetime
        (10, 6, 4),
    ],
)
def test_renewal_point(
    ca: tuple[certs.Key, x509.Certificate], lifetime_s: int, renew_before_s: int, expected_s: int
) -> None:
    cert = issue(ca, lifetime=dt.timedelta(seconds=lifetime_s))
    at = certs.renew_at(cert, dt.timedelta(seconds=renew_before_s))
    assert at == NOW + dt.timedelta(seconds=expected_s)


def test_renewal_point_is_never_before_half_the_validity(
    ca: tuple[certs.Key, x509.Certificate],
) -> None:
    cert = issue(ca, lifetime=dt.timedelta(days=1))
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    # A renewal point longer than the validity would renew in a loop.
    assert certs.renew_at(cert, dt.timedelta(days=30)) == start + (end - start) / 2
