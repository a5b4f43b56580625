"""Token format, parsing, hashing, the bearer header."""

from __future__ import annotations

import hashlib

import pytest

from jacod.auth import tokens


def test_new_token_shape_and_hash() -> None:
    token_id, token, secret_hash = tokens.new_token()
    prefix, tid, secret = token.split(".")
    assert prefix == "jacotoken1" and tid == token_id and len(token_id) == 12
    assert len(secret) == 43  # 32 random bytes, base64url
    assert secret_hash == hashlib.sha256(f"{token_id}.{secret}".encode()).hexdigest()
    assert secret not in secret_hash and token not in secret_hash
    parsed = tokens.parse(token)
    assert parsed is not None and tokens.matches(parsed, secret_hash)
    assert tokens.id_of(token) == token_id


def test_tokens_are_unique() -> None:
    assert len({tokens.new_token()[1] for _ in range(200)}) == 200


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "garbage",
        "jacotoken1",
        "jacotoken1.abc.def",
        "jacotoken2.0123456789ab." + "A" * 43,
        "jacotoken1.0123456789AB." + "A" * 43,  # id is lower-case hex
        "jacotoken1.0123456789ab." + "A" * 42,
        "jacotoken1.0123456789ab." + "A" * 42 + "=",
        "jacotoken1.0123456789ab." + "A" * 43 + ".extra",
        "jacojoin1.payload.mac",
    ],
)
def test_malformed_tokens_do_not_parse(raw: str) -> None:
    assert tokens.parse(raw) is None
    assert tokens.id_of(raw) == ""


def test_wrong_secret_does_not_match() -> None:
    token_id, token, secret_hash = tokens.new_token()
    other = tokens.parse(f"jacotoken1.{token_id}." + "B" * 43)
    assert other is not None and not tokens.matches(other, secret_hash)


def test_repr_never_shows_the_secret() -> None:
    _, token, _ = tokens.new_token()
    parsed = tokens.parse(token)
    assert parsed is not None
    assert parsed.secret not in repr(parsed) and parsed.id in repr(parsed)


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({}, None),
        ({"authorization": "Bearer abc"}, "abc"),
        ({"authorization": "bearer   abc  "}, "abc"),
        ({"authorization": "Basic dXNlcjpwYXNz"}, ""),
        ({"authorization": ""}, ""),
    ],
)
def test_bearer_header(metadata: dict[str, str], expected: str | None) -> None:
    assert tokens.bearer(metadata) == expected
