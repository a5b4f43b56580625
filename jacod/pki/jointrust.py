"""The cluster CA inside join tokens: how a joiner knows it talks to the cluster.

A joiner has no certificate yet and nothing to verify a member's TLS
certificate with. So a join token also carries the cluster CA certificate
(claim ``ca``, base64url DER; the token's HMAC covers it, so it cannot be
swapped without the cluster secret): the joiner dials the member over TLS
trusting exactly that CA, and a member of another cluster fails the
handshake. The token format is ``cluster/jointoken.py``'s; a token without
``ca`` (a cluster without PKI, e.g. ``--dev``) joins over plaintext.
"""

from __future__ import annotations

import base64
import secrets

import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from jacod.cluster import jointoken


class TrustClaims(msgspec.Struct):
    ca: str = ""


def create(
    secret: str, cluster_id: str, addresses: list[str], expires_at_ns: int, ca_pem: bytes
) -> str:
    der = x509.load_pem_x509_certificate(ca_pem).public_bytes(serialization.Encoding.DER)
    claims = msgspec.to_builtins(
        jointoken.JoinClaims(
            cluster_id=cluster_id,
            addresses=addresses,
            expires_at_ns=expires_at_ns,
            nonce=secrets.token_hex(16),
        )
    )
    claims["ca"] = base64.urlsafe_b64encode(der).rstrip(b"=").decode()
    payload = jointoken._b64(msgspec.json.encode(claims))
    return f"{jointoken.PREFIX}.{payload}.{jointoken._mac(secret, payload)}"


def ca_pem_of(token: str) -> bytes | None:
    """The CA certificate (PEM) a token carries; None for a token without one."""
    jointoken.parse(token)  # malformed: InvalidArgument
    body = token.strip().split(".")[1]
    try:
        claims = msgspec.json.decode(jointoken._unb64(body), type=TrustClaims)
        if not claims.ca:
            return None
        der = base64.urlsafe_b64decode(claims.ca + "=" * (-len(claims.ca) % 4))
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, msgspec.DecodeError):
        raise jointoken.InvalidArgument("join token: malformed CA certificate") from None
    return cert.public_bytes(serialization.Encoding.PEM)
