"""Who is calling, per RPC: the identity the interceptor puts in the contextvar.

- Unix socket: ``local``, with admin rights (the socket's mode is the gate).
- NodeService over TCP: ``system``. On a node with a PKI only on the node
  port, whose mutual-TLS handshake verified the caller's node certificate
  (``peer_node``, from grpc's auth context); on the API port it is refused,
  whatever the metadata says. Without a PKI (``--dev``) the caller proves
  membership with the ``x-jaco-peer`` HMAC under the cluster secret
  (``cluster/peers.py``). ``Join`` is open on both ports: its servicer checks
  the join token (a joiner has no certificate yet).
- Control over TCP: a bearer token (``auth/tokens.py``) looked up in this
  node's state on every call, so a revocation applies here the moment this
  node applies it; then the method's role (``auth/roles.py``). Over a
  plaintext listener (``jacod --dev``) no token is accepted at all.

Missing / malformed / unknown / expired / revoked token: UNAUTHENTICATED;
wrong role: PERMISSION_DENIED. Both are reported to ``denials`` (rate-limited
``auth_denied`` events) with the reason and the token id, never the token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from jacod import errors
from jacod.auth import roles, tokens
from jacod.cluster import peers
from jacod.pki.node import NodeTLS
from jacod.state.model import Token

NODE_SERVICE = "/jaco.v1.NodeService/"
JOIN = NODE_SERVICE + "Join"

PLAINTEXT = (
    "this node's TCP listener is plaintext (a --dev node has no cluster CA), so it takes no "
    "tokens; use the local unix socket (jaco --server unix:///PATH/jacod.sock)"
)


def node_port_only(method: str, node_address: str) -> str:
    where = node_address or "--node-listen"
    return (
        f"{method.rsplit('/', 1)[-1]} is a node-to-node call: this node takes those only on its "
        f"node port ({where}) over mutual TLS with a node certificate of this cluster"
    )


class DenialSink(Protocol):
    def record(
        self, *, method: str, reason: str, peer: str, token_id: str = "", identity: str = ""
    ) -> None: ...


class Authenticator:
    def __init__(
        self,
        secret: str = "",
        *,
        lookup: Callable[[str], Token | None] | None = None,
        tls: NodeTLS | None = None,
        denials: DenialSink | None = None,
        clock: Callable[[], int] = time.time_ns,
        catching_up: Callable[[], bool] = lambda: False,
        node_address: str = "",
    ):
        self._catching_up = catching_up
        self._node_address = node_address  # the node port, named in refusals
        self._secret = secret
        self._lookup = lookup
        self._tls = tls
        self._denials = denials
        self._clock = clock

    async def __call__(
        self, method: str, metadata: dict[str, str], peer: str, peer_node: str = ""
    ) -> str:
        """``peer_node``: the caller's node name from a certificate the TLS
        handshake verified ("" unless the call came in on the node port)."""
        if peer.startswith(("unix:", "unix-abstract:")):
            return "local"  # the socket's permissions were the gate (jacod/api/unixfront.py)
        if method == JOIN:
            return "system"
        if method.startswith(NODE_SERVICE):
            if not peer_node:
                self._node(method, metadata, peer)
            return "system"
        return self._control(method, metadata, peer)

    def _node(self, method: str, metadata: dict[str, str], peer: str) -> None:
        if self._tls is not None:
            self._deny(method, peer, "node_call_on_api_port")
            raise errors.Unauthenticated(node_port_only(method, self._node_address))
        if not self._secret:
            raise errors.Unauthenticated("this node is not part of a cluster yet")
        peers.verify(self._secret, metadata.get(peers.HEADER, ""), method)

    def _control(self, method: str, metadata: dict[str, str], peer: str) -> str:
        if self._tls is None or self._lookup is None:
            self._deny(method, peer, "plaintext_listener")
            raise errors.Unauthenticated(PLAINTEXT)
        raw = tokens.bearer(metadata)
        if raw is None:
            self._deny(method, peer, "missing_token")
            raise errors.Unauthenticated("this call needs a token (authorization: Bearer ...)")
        parsed = tokens.parse(raw)
        if parsed is None:
            self._deny(method, peer, "malformed_token")
            raise errors.Unauthenticated("malformed token (expected jacotoken1.<id>.<secret>)")
        token = self._lookup(parsed.id)
        if token is None and self._catching_up():
            # A node replaying its log after a restart may not know a token
            # yet: not a denial, the caller retries (here or elsewhere).
            raise errors.Unavailable("this node is still catching up with the cluster; retry")
        if token is None or not tokens.matches(parsed, token.secret_hash):
            reason = "unknown_token" if token is None else "wrong_secret"
            self._deny(method, peer, reason, parsed.id)
            raise errors.Unauthenticated(f"token {parsed.id} is not known to this cluster")
        if token.revoked:
            self._deny(method, peer, "revoked_token", token.id, token.identity)
            raise errors.Unauthenticated(f"token {token.id} has been revoked")
        if not token.active_at(self._clock()):
            self._deny(method, peer, "expired_token", token.id, token.identity)
            raise errors.Unauthenticated(f"token {token.id} has expired")
        needed = roles.required(method)
        if needed is None:
            self._deny(method, peer, "unknown_method", token.id, token.identity)
            raise errors.PermissionDenied(f"{method} is not open to tokens")
        if not roles.allows(token.role, needed):
            self._deny(method, peer, "insufficient_role", token.id, token.identity)
            raise errors.PermissionDenied(
                f"{token.identity} (role {token.role.value}) may not call "
                f"{method.rsplit('/', 1)[-1]}: it needs role {needed.value}"
            )
        return token.identity

    def _deny(
        self, method: str, peer: str, reason: str, token_id: str = "", identity: str = ""
    ) -> None:
        if self._denials is not None:
            self._denials.record(
                method=method, reason=reason, peer=peer, token_id=token_id, identity=identity
            )
