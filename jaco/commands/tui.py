"""`jaco tui`: the triage console (also what `jaco` alone opens on a terminal)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco import logview
    from jaco.client import Client

NAME = "tui"
HELP = "the triage console: live status, merged logs and the audit tail on one screen"
DESCRIPTION = (
    "Open the triage console against the same target as every verb (--server, --context, "
    "--token-file, $JACO_SERVER, the local socket): deployments, services and replicas, a "
    "service's logs merged across replicas and the audit tail, all live, riding out jacod "
    "restarts. `jaco` with no verb on a terminal opens it too. Press ? inside for the keys."
)
EXAMPLES = """\
examples:
  jaco                                 on a terminal: the console
  jaco tui                             the same, always
  jaco tui shop/web                    open on shop/web's logs
  jaco --context prod tui              another cluster
  jaco tui --buffer-lines 50000        keep more lines per pane (default 10,000)
"""


def _target(text: str) -> logview.Target:
    from jaco import logview  # lazily: every `jaco` start builds this verb's parser

    try:
        return logview.parse_target(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _lines(text: str) -> int:
    if not text.isdigit() or int(text) < 100:
        raise argparse.ArgumentTypeError(f"expected a number of lines (100 or more), got {text!r}")
    return int(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", nargs="?", metavar="DEP/SVC", type=_target,
                   help="open on this service's logs (e.g. shop/web)")
    p.add_argument("--buffer-lines", metavar="N", type=_lines, default=10_000,
                   help="lines kept per pane (default 10,000)")  # fmt: skip


async def run(args: argparse.Namespace, client: Client) -> int:
    from jaco.tui import run_console  # textual only now: `jaco status` never loads it

    return await run_console(client, args)
