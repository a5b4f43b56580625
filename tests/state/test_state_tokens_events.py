"""CreateToken, RevokeToken and RecordEvent; the secret hash never reaches an event."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest

from jacod.state import (
    COMMAND_OWNED_TYPES,
    AuditType,
    Command,
    RecordEvent,
    RevokeToken,
    Role,
    State,
    active_token,
    dump_state,
)

from .helpers import T0, TRACE_ID, bootstrap_cmd, env, last_event, must, refused, token_cmd, world

SECRET_HASH = "sha256:0123456789abcdef-very-secret"


def test_create_token_stores_it_and_audits_without_the_hash() -> None:
    state = world()
    result = must(state, token_cmd("t2", secret_hash=SECRET_HASH, role=Role.ADMIN))
    token = state.tokens["t2"]
    assert (token.identity, token.role, token.secret_hash) == ("ci-bot", Role.ADMIN, SECRET_HASH)
    assert (token.created_at_ns, token.created_by) == (T0, "admin")
    assert token.expires_at_ns == T0 + 10**12
    event = last_event(state)
    assert result.audit_id == event.id
    assert event.type is AuditType.TOKEN_CREATE
    assert (event.identity, event.trace_id) == ("admin", TRACE_ID)
    assert event.payload == {
        "token_id": "t2",
        "token_identity": "ci-bot",
        "role": "admin",
        "expires_at_ns": T0 + 10**12,
    }


def test_token_without_expiry() -> None:
    state = world()
    must(state, token_cmd("t2", expires_at_ns=None))
    assert state.tokens["t2"].expires_at_ns is None
    assert last_event(state).payload["expires_at_ns"] is None
    assert active_token(state, "t2", T0 + 10**18) is not None


def test_revoke_token_marks_it_revoked_with_an_event() -> None:
    state = world()
    result = must(state, RevokeToken(**env(identity="admin", ts_ns=T0 + 3), token_id="t1"))
    token = state.tokens["t1"]
    assert token.revoked and token.revoked_at_ns == T0 + 3
    assert active_token(state, "t1", T0 + 4) is None
    event = last_event(state)
    assert result.audit_id == event.id
    assert event.type is AuditType.TOKEN_REVOKE
    assert event.payload == {"token_id": "t1", "token_identity": "ci-bot", "role": "operator"}


def test_active_token_honours_expiry() -> None:
    state = world()
    assert active_token(state, "t1", T0) is not None
    assert active_token(state, "t1", T0 + 10**12) is None
    assert active_token(state, "nope", T0) is None


def test_secret_hash_never_appears_in_any_event() -> None:
    state = State()
    must(state, bootstrap_cmd())
    must(state, token_cmd("t1", secret_hash=SECRET_HASH))
    must(state, RevokeToken(**env(), token_id="t1"))
    needle = SECRET_HASH.encode()
    for event in state.audit:
        assert needle not in msgspec.json.encode(event.payload)
        assert SECRET_HASH not in repr(event)
    # ... while the state itself does hold it (auth needs it).
    assert needle in dump_state(state)


@pytest.mark.parametrize(
    "kind",
    sorted(set(AuditType) - COMMAND_OWNED_TYPES),
)
def test_record_event_for_system_and_auth_types(kind: AuditType) -> None:
    state = world()
    cmd = RecordEvent(
        **env(identity="system", node="n2"),
        type=kind,
        deployment="web" if kind is AuditType.ISOLATION_DRIFT_DETECTED else "",
        payload={"requested_by": "alice", "n": 1, "nested": {"list": [1, "a", None, 2.5]}},
    )
    result = must(state, cmd)
    event = last_event(state)
    assert result.changed and result.audit_id == event.id
    assert event.type is kind
    assert (event.identity, event.node, event.trace_id) == ("system", "n2", TRACE_ID)
    assert event.payload == {
        "requested_by": "alice",
        "n": 1,
        "nested": {"list": [1, "a", None, 2.5]},
    }
    assert event.payload is not cmd.payload  # the state never aliases the command


def test_record_event_normalises_tuples_to_lists() -> None:
    state = world()
    must(state, RecordEvent(**env(), type=AuditType.AUTH_DENIED, payload={"t": (1, 2)}))
    assert last_event(state).payload == {"t": [1, 2]}


@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(lambda: token_cmd("t1"), "already_exists", id="create-duplicate"),
        pytest.param(lambda: token_cmd(""), "invalid", id="create-no-id"),
        pytest.param(
            lambda: token_cmd("t2", token_identity=""), "invalid", id="create-no-identity"
        ),
        pytest.param(lambda: token_cmd("t2", token_identity="local"), "invalid", id="create-local"),
        pytest.param(
            lambda: token_cmd("t2", token_identity="system"), "invalid", id="create-system"
        ),
        pytest.param(lambda: token_cmd("t2", secret_hash=""), "invalid", id="create-no-hash"),
        pytest.param(lambda: token_cmd("t2", role="root"), "invalid", id="create-bad-role"),
        pytest.param(lambda: token_cmd("t2", expires_at_ns=T0), "invalid", id="create-expired"),
        pytest.param(
            lambda: RevokeToken(**env(), token_id="nope"), "not_found", id="revoke-unknown"
        ),
        pytest.param(
            lambda: RevokeToken(**env(), token_id="t0"), "failed_precondition", id="revoke-twice"
        ),
        *[
            pytest.param(
                lambda k=k: RecordEvent(**env(), type=k, payload={}), "invalid", id=f"record-{k}"
            )
            for k in sorted(COMMAND_OWNED_TYPES)
        ],
        pytest.param(
            # An in-process caller can bypass the codec's type check.
            lambda: RecordEvent(**env(), type="bogus", payload={}),  # type: ignore[arg-type]
            "invalid",
            id="record-unknown-type",
        ),
        pytest.param(
            lambda: RecordEvent(**env(), type=AuditType.AUTH_DENIED, payload={"x": float("nan")}),
            "invalid",
            id="record-nan",
        ),
        pytest.param(
            lambda: RecordEvent(**env(), type=AuditType.AUTH_DENIED, payload={"x": b"raw"}),
            "invalid",
            id="record-bytes",
        ),
        pytest.param(
            lambda: RecordEvent(**env(), type=AuditType.AUTH_DENIED, payload={"x": {1: 2}}),
            "invalid",
            id="record-int-key",
        ),
    ],
)
def test_rejections_change_nothing(make: Callable[[], Command], code: str) -> None:
    state = world()
    must(state, token_cmd("t0"))
    must(state, RevokeToken(**env(), token_id="t0"))
    before = dump_state(state)
    rejected = refused(state, make())
    assert rejected.code == code
    assert rejected.message
    assert dump_state(state) == before
