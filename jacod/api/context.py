"""Request-scoped values, set by the interceptor and read anywhere below it."""

from __future__ import annotations

import contextvars

# The resolved caller: a token's identity, `local` (unix socket) or `system`.
identity: contextvars.ContextVar[str] = contextvars.ContextVar("jaco_identity", default="system")
# Peer uid from SO_PEERCRED for unix-socket callers, when known.
peer_uid: contextvars.ContextVar[int | None] = contextvars.ContextVar("jaco_peer_uid", default=None)
