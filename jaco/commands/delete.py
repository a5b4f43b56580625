"""`jaco delete DEP`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco.client import Client

NAME = "delete"
HELP = "delete a deployment and stop its replicas (operator)"
DESCRIPTION = (
    "Delete DEPLOYMENT: traffic to it stops at once, every node stops and removes "
    "its replicas (each within its stop grace, 10 s), then the deployment and its "
    "revisions are gone. Until then `jaco status` shows it as deleting and "
    "apply/rollback of it are refused."
)
EXAMPLES = """\
examples:
  jaco delete shop
  jaco delete shop --wait             return once every replica is stopped and removed
  jaco logs shop/web -f               ends with "deployment shop was deleted"
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("deployment")
    p.add_argument(
        "--wait",
        action="store_true",
        help="wait until it is gone: every replica stopped and removed (a node "
        "silent for 90 s is not waited for)",
    )
    p.add_argument("--timeout", type=float, default=120, metavar="SECONDS")


async def run(args: argparse.Namespace, client: Client) -> int:
    from jaco.render import print_json
    from jaco.waiting import wait_converged

    resp = await client.delete(args.deployment)
    left = resp.replicas_stopping
    if args.output == "json":
        print_json(
            {
                "deleted": args.deployment,
                "audit_id": resp.audit_id,
                "already_deleting": resp.already_deleting,
                "replicas_stopping": left,
            }
        )
    else:
        stopping = f"{left} replica{'' if left == 1 else 's'} stopping"
        if resp.already_deleting:
            print(f"deployment {args.deployment} is already being deleted ({stopping})")
        else:
            print(f"deployment {args.deployment} deleted (audit event {resp.audit_id}; {stopping})")
    if args.wait:
        ok, remaining = await wait_converged(client, args.deployment, 0, args.timeout)
        if ok:
            if args.output != "json":
                print(f"deployment {args.deployment} is gone: every replica stopped and removed")
            return 0
        print(
            f"jaco: error: deployment {args.deployment} is still being deleted after "
            f"{args.timeout:.0f}s",
            file=sys.stderr,
        )
        for line in remaining:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0
