"""API tokens: CreateToken and RevokeToken.

Only a hash of a token's secret is stored, and it never leaves the state:
audit payloads carry the token id, identity, role and expiry, never the hash.
"""

from __future__ import annotations

from .audit import append_event
from .commands import CreateToken, RevokeToken
from .enums import AuditType, Role
from .model import State, Token
from .results import Outcome, Result, already_exists, failed_precondition, invalid, not_found

# Identities the daemon assigns itself; a token bound to one would be
# indistinguishable from socket trust or from the daemon in the audit log.
RESERVED_IDENTITIES = ("local", "system")


def create_token(state: State, cmd: CreateToken) -> Outcome:
    if not cmd.token_id:
        return invalid("token_id must not be empty")
    if not cmd.token_identity:
        return invalid("token identity must not be empty")
    if cmd.token_identity in RESERVED_IDENTITIES:
        return invalid(f"token identity {cmd.token_identity!r} is reserved")
    if not cmd.secret_hash:
        return invalid("secret_hash must not be empty")
    if cmd.role not in tuple(Role):
        return invalid(f"role must be one of {', '.join(r.value for r in Role)}")
    if cmd.expires_at_ns is not None and cmd.expires_at_ns <= cmd.ts_ns:
        return invalid("expires_at must be in the future")
    if cmd.token_id in state.tokens:
        return already_exists(f"token {cmd.token_id!r} already exists")
    token = Token(
        id=cmd.token_id,
        identity=cmd.token_identity,
        role=Role(cmd.role),
        secret_hash=cmd.secret_hash,
        created_at_ns=cmd.ts_ns,
        created_by=cmd.identity,
        expires_at_ns=cmd.expires_at_ns,
    )
    state.tokens[token.id] = token
    payload = {
        "token_id": token.id,
        "token_identity": token.identity,
        "role": token.role.value,
        "expires_at_ns": token.expires_at_ns,
    }
    audit_id = append_event(state, cmd, AuditType.TOKEN_CREATE, payload)
    return Result(changed=True, audit_id=audit_id)


def revoke_token(state: State, cmd: RevokeToken) -> Outcome:
    token = state.tokens.get(cmd.token_id)
    if token is None:
        return not_found(f"token {cmd.token_id!r} does not exist")
    if token.revoked:
        return failed_precondition(f"token {cmd.token_id!r} is already revoked")
    token.revoked = True
    token.revoked_at_ns = cmd.ts_ns
    payload = {
        "token_id": token.id,
        "token_identity": token.identity,
        "role": token.role.value,
    }
    audit_id = append_event(state, cmd, AuditType.TOKEN_REVOKE, payload)
    return Result(changed=True, audit_id=audit_id)
