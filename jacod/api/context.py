"""Request-scoped values, set by the interceptor and read anywhere below it."""

from __future__ import annotations

import contextvars

# The resolved caller: a token's identity, `local` (unix socket) or `system`.
identity: contextvars.ContextVar[str] = contextvars.ContextVar("jaco_identity", default="system")
