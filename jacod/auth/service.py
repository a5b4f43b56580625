"""The token RPCs (CreateToken, ListTokens, RevokeToken), called by the
Control servicer. The token is made here, returned once, and only its hash
is proposed; each mutation is one command, so one audit event
(``token_create`` / ``token_revoke``) carrying the caller's identity."""

from __future__ import annotations

import time

from jaco.v1 import control_pb2
from jaco.v1 import entities_pb2 as pb
from jacod import errors
from jacod.api import convert
from jacod.auth import tokens
from jacod.cluster.cluster import Cluster
from jacod.state import CreateToken, RevokeToken, Token
from jacod.state.enums import Role

ROLES = {pb.ROLE_VIEWER: Role.VIEWER, pb.ROLE_OPERATOR: Role.OPERATOR, pb.ROLE_ADMIN: Role.ADMIN}


async def create(
    cluster: Cluster, request: control_pb2.CreateTokenRequest, identity: str
) -> control_pb2.CreateTokenResponse:
    role = ROLES.get(request.role)
    if role is None:
        raise errors.InvalidArgument("role: one of viewer, operator, admin")
    name = request.identity.strip()
    if not name:
        raise errors.InvalidArgument("identity: required (who the token is for, e.g. alice)")
    for _ in range(3):  # a 48-bit id collides practically never; retry if it does
        token_id, token, secret_hash = tokens.new_token()
        now = time.time_ns()
        expires = now + request.ttl_seconds * 1_000_000_000 if request.ttl_seconds else None
        cmd = CreateToken(
            ts_ns=now,
            identity=identity,
            node=cluster.node_name,
            token_id=token_id,
            token_identity=name,
            role=role,
            secret_hash=secret_hash,
            expires_at_ns=expires,
        )
        try:
            await cluster.propose(cmd)
        except errors.AlreadyExists:
            continue
        info = Token(
            id=token_id,
            identity=name,
            role=role,
            secret_hash="",
            created_at_ns=now,
            created_by=identity,
            expires_at_ns=expires,
        )
        return control_pb2.CreateTokenResponse(info=convert.token(info), token=token)
    raise errors.Unavailable("could not pick an unused token id; try again")


def _created(t: Token) -> int:
    return t.created_at_ns


def list_all(cluster: Cluster) -> control_pb2.ListTokensResponse:
    infos = cluster.read(
        lambda s: [convert.token(t) for t in sorted(s.tokens.values(), key=_created)]
    )
    return control_pb2.ListTokensResponse(tokens=infos)


async def revoke(
    cluster: Cluster, request: control_pb2.RevokeTokenRequest, identity: str
) -> control_pb2.RevokeTokenResponse:
    token_id = request.id.strip()
    if not token_id:
        raise errors.InvalidArgument("id: required (see `jaco token ls`)")
    now = time.time_ns()
    await cluster.propose(
        RevokeToken(ts_ns=now, identity=identity, node=cluster.node_name, token_id=token_id)
    )
    known = cluster.read(lambda s: s.tokens.get(token_id))
    info = convert.token(known) if known is not None else None
    if info is None:  # committed by the leader, not applied here yet
        info = pb.TokenInfo(id=token_id)
    info.revoked = True
    if not info.revoked_at.ByteSize():
        info.revoked_at.CopyFrom(convert.timestamp(now))
    return control_pb2.RevokeTokenResponse(info=info)
