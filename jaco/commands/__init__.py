"""One module per verb. Each defines NAME, HELP, DESCRIPTION, EXAMPLES,
``add_arguments(parser)`` and ``async run(args, client) -> int``.

Modules here import neither ``textual`` nor ``opentelemetry.sdk``, and import
``grpc`` only inside ``run`` so ``jaco --help`` stays fast.
"""

from __future__ import annotations

import importlib
from types import ModuleType

VERBS = (
    "status", "apply", "rollback", "delete", "audit", "node", "backup", "logs",
    "token", "context", "tui",
)  # fmt: skip


def load(name: str) -> ModuleType:
    return importlib.import_module(f"jaco.commands.{name}")
