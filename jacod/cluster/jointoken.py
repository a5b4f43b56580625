"""Join tokens: ``jaco node join-token`` prints one; ``jacod --join`` presents it.

A token is ``jacojoin1.<payload>.<mac>``: the payload (base64url JSON) carries the
cluster id, the addresses of nodes to ask, an expiry and a random nonce; the mac
is an HMAC of the payload under the cluster secret, so any member can verify a
token without shared state. The joiner never sees the cluster secret in the
token: the member that accepts the join returns it encrypted under a key
derived from the token (so only the token's holder can read it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import msgspec
from cryptography.fernet import Fernet, InvalidToken

from jacod.errors import InvalidArgument, Unauthenticated

PREFIX = "jacojoin1"


class JoinClaims(msgspec.Struct, kw_only=True):
    cluster_id: str
    addresses: list[str]
    expires_at_ns: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    return _b64(hmac.new(bytes.fromhex(secret), payload.encode(), hashlib.sha256).digest())


def create(secret: str, cluster_id: str, addresses: list[str], expires_at_ns: int) -> str:
    claims = JoinClaims(
        cluster_id=cluster_id,
        addresses=addresses,
        expires_at_ns=expires_at_ns,
        nonce=secrets.token_hex(16),
    )
    payload = _b64(msgspec.json.encode(claims))
    return f"{PREFIX}.{payload}.{_mac(secret, payload)}"


def parse(token: str) -> JoinClaims:
    """Read the claims without verifying (the joiner does this to find peers)."""
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidArgument(
            "join token: malformed (expected the output of `jaco node join-token`)"
        )
    try:
        return msgspec.json.decode(_unb64(parts[1]), type=JoinClaims)
    except (ValueError, msgspec.DecodeError):
        raise InvalidArgument("join token: malformed payload") from None


def verify(token: str, secret: str, cluster_id: str, now_ns: int) -> JoinClaims:
    claims = parse(token)
    payload, mac = token.strip().split(".")[1:]
    if not hmac.compare_digest(mac, _mac(secret, payload)) or claims.cluster_id != cluster_id:
        raise Unauthenticated("join token is not valid for this cluster")
    if claims.expires_at_ns < now_ns:
        raise Unauthenticated(
            "join token has expired; create a new one with `jaco node join-token`"
        )
    return claims


def _fernet(token: str) -> Fernet:
    key = hashlib.sha256(b"jaco-join-secret\0" + token.strip().encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal_secret(token: str, secret: str) -> bytes:
    return _fernet(token).encrypt(secret.encode())


def open_secret(token: str, sealed: bytes) -> str:
    try:
        return _fernet(token).decrypt(sealed).decode()
    except InvalidToken:
        raise Unauthenticated("could not decrypt the cluster secret with this join token") from None
