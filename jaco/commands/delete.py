"""`jaco delete DEP`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco.client import Client

NAME = "delete"
HELP = "delete a deployment and stop its replicas (operator)"
DESCRIPTION = ("Delete DEPLOYMENT: its revisions go, and every node stops and removes its "
               "replicas (each within its stop grace, 10 s).")
EXAMPLES = """\
examples:
  jaco delete shop
  jaco delete shop --wait             return once no replica is assigned any more
  jaco logs shop/web -f               ends with "deployment shop was deleted"
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("deployment")
    p.add_argument("--wait", action="store_true",
                   help="wait until the cluster has no replica of it assigned (the nodes then "
                        "stop the processes within their stop grace)")
    p.add_argument("--timeout", type=float, default=120, metavar="SECONDS")


async def run(args: argparse.Namespace, client: Client) -> int:
    from jaco.render import print_json
    from jaco.waiting import wait_converged

    resp = await client.delete(args.deployment)
    if args.output == "json":
        print_json({"deleted": args.deployment, "audit_id": resp.audit_id})
    else:
        print(f"deployment {args.deployment} deleted (audit event {resp.audit_id})")
    if args.wait:
        ok, _ = await wait_converged(client, args.deployment, 0, args.timeout)
        return 0 if ok else 1
    return 0
