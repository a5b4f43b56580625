"""Shared helpers for tests that run real jacod/jaco processes.

- :mod:`env`: a controlled environment (no INVOCATION_ID/NOTIFY_SOCKET/JACO_*).
- :mod:`procs`: `jaco` runs and `jacod` daemons (start, wait for `jaco status`, SIGTERM).
- :mod:`logs`: strict parsers of text / JSON log lines (every line has a subsystem).
- :mod:`rpc`: raw gRPC calls on a jacod socket.
- :mod:`journalns`: a private mount namespace with a real systemd-journald.
"""

from tests.helpers.env import clean_env
from tests.helpers.journalns import JournalNamespace
from tests.helpers.logs import TEXT_LINE, json_records, messages, text_records
from tests.helpers.procs import (
    JACO,
    JACOD,
    Jacod,
    Result,
    free_port,
    remove_tree,
    run_jaco,
    run_jacod,
    short_tmpdir,
    start_jacod,
)

__all__ = [
    "JACO",
    "JACOD",
    "TEXT_LINE",
    "JournalNamespace",
    "Jacod",
    "Result",
    "clean_env",
    "free_port",
    "json_records",
    "messages",
    "remove_tree",
    "run_jaco",
    "run_jacod",
    "short_tmpdir",
    "start_jacod",
    "text_records",
]
