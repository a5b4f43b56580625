"""A controlled environment for the processes tests start.

The inherited environment may come from a systemd unit (INVOCATION_ID,
NOTIFY_SOCKET, JOURNAL_STREAM) or an operator's shell (JACO_*); any of them
changes what jacod/jaco do, so they are removed unless a test sets them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

STRIPPED = ("INVOCATION_ID", "NOTIFY_SOCKET", "JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID")
STRIPPED_PREFIXES = ("JACO_", "OTEL_")


def clean_env(overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """``os.environ`` minus systemd/JACO variables, plus ``overrides``
    (a ``None`` value removes the key)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in STRIPPED and not k.startswith(STRIPPED_PREFIXES)
    }
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env
