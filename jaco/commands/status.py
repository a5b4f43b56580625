"""`jaco status [-w]`: deployments, replicas, nodes."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco.client import Client

NAME = "status"
HELP = "show deployments, replicas and nodes (-w: keep watching)"
DESCRIPTION = (
    "Show the cluster: deployments with their ready replicas, every replica "
    "(state, node, restarts, age, last error) and the nodes (role, health, pressure)."
)
EXAMPLES = """\
examples:
  jaco status                      the local node's view
  jaco status -w                   keep it live (redraws on every change)
  jaco status -o json | jq '.replicas[] | select(.state != "running")'
  jaco status -o json -w           one JSON event per line, for scripts
  jaco status --consistent         ask the leader instead of the nearest node
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-w", "--watch", action="store_true", help="keep watching; redraw on changes")
    p.add_argument(
        "--consistent",
        action="store_true",
        help="read from the leader (default: any node's local view)",
    )


async def run(args: argparse.Namespace, client: Client) -> int:
    import json

    from jaco.render import print_json, to_dict
    from jaco.statusview import render

    colour = sys.stdout.isatty() and "NO_COLOR" not in __import__("os").environ
    if not args.watch:
        resp = await client.status(consistent=args.consistent)
        if args.output == "json":
            print_json(to_dict(resp))
        else:
            print(render(to_dict(resp), colour))
        return 0
    import asyncio
    import time

    from jaco.client import Unreachable

    # Keep watching across a daemon restart or a leader change: every snapshot
    # is complete, so resuming needs no bookkeeping. The first connection
    # failing still exits 3; an outage longer than RETRY_FOR_S too.
    seen, down_since = False, 0.0
    while True:
        try:
            async for event in client.watch_status(consistent=args.consistent):
                if event.WhichOneof("event") != "snapshot":
                    continue
                seen, down_since = True, 0.0
                snap = to_dict(event.snapshot)
                if args.output == "json":
                    sys.stdout.write(json.dumps({"type": "snapshot", "status": snap}) + "\n")
                else:
                    if sys.stdout.isatty():
                        sys.stdout.write("\x1b[H\x1b[2J")
                    sys.stdout.write(render(snap, colour) + "\n\n")
                sys.stdout.flush()
            return 0
        except Unreachable as exc:
            now = time.monotonic()
            if not seen or (down_since and now - down_since > RETRY_FOR_S):
                raise
            if not down_since:  # once per outage
                down_since = now
                reason = exc.reason.splitlines()[0][:120]
                print(f"jaco: connection lost ({reason}); reconnecting…", file=sys.stderr)
            await asyncio.sleep(1.0)


RETRY_FOR_S = 120.0
