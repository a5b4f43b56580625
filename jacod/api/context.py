"""Request-scoped values, set by the interceptor and read anywhere below it."""

from __future__ import annotations

import contextvars

# The resolved caller: a token's identity, `local` (unix socket) or `system`.
identity: contextvars.ContextVar[str] = contextvars.ContextVar("jaco_identity", default="system")

# The uid of a unix-socket caller (SO_PEERCRED through jacod/api/unixfront.py);
# None for TCP callers and for what the daemon does by itself.
peer_uid: contextvars.ContextVar[int | None] = contextvars.ContextVar("jaco_peer_uid", default=None)
