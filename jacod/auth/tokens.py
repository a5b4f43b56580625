"""API tokens: ``jacotoken1.<id>.<secret>``.

The id (12 hex digits) names the token in `jaco token ls`, audit payloads and
denials; the secret is 32 random bytes (base64url). Only SHA-256 of
``<id>.<secret>`` is stored (``Token.secret_hash``), so the state, its
snapshots and backups never hold a usable token. Verification looks the id up
in this node's state on every call and compares hashes in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import NamedTuple

PREFIX = "jacotoken1"
_ID = re.compile(r"[0-9a-f]{12}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")


class ParsedToken(NamedTuple):
    id: str
    secret: str

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"ParsedToken(id={self.id!r}, secret=<redacted>)"


def new_token() -> tuple[str, str, str]:
    """(token id, the token to hand out once, its hash to store)."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return token_id, f"{PREFIX}.{token_id}.{secret}", hash_secret(token_id, secret)


def hash_secret(token_id: str, secret: str) -> str:
    return hashlib.sha256(f"{token_id}.{secret}".encode()).hexdigest()


def parse(token: str) -> ParsedToken | None:
    """The id and secret of a well-formed token, else None."""
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    _, token_id, secret = parts
    if not _ID.fullmatch(token_id) or not _SECRET.fullmatch(secret):
        return None
    return ParsedToken(token_id, secret)


def id_of(token: str) -> str:
    """The id part if the token looks like one of ours ("" otherwise): safe to log."""
    parsed = parse(token)
    return parsed.id if parsed else ""


def matches(parsed: ParsedToken, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(parsed.id, parsed.secret), stored_hash)


def bearer(metadata: dict[str, str]) -> str | None:
    """The token of an ``authorization: Bearer <token>`` header; None if absent,
    "" if the header is there but is not a bearer token."""
    value = metadata.get("authorization")
    if value is None:
        return None
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else ""
