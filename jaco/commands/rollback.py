"""`jaco rollback DEP [--to REV]`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco.client import Client

NAME = "rollback"
HELP = "roll a deployment back to an earlier revision (operator)"
DESCRIPTION = (
    "Create a new revision of DEPLOYMENT with the services of an earlier one "
    "(default: the revision before the current one)."
)
EXAMPLES = """\
examples:
  jaco rollback shop                  back to the previous revision
  jaco rollback shop --to 3           back to revision 3 (see `jaco rollback shop --list`)
  jaco rollback shop --list           the revisions kept for shop
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("deployment")
    p.add_argument("--to", type=int, default=0, metavar="REV", help="target revision")
    p.add_argument("--list", action="store_true", help="list the kept revisions instead")
    p.add_argument("--wait", action="store_true", help="wait until the deployment has converged")
    p.add_argument("--timeout", type=float, default=300, metavar="SECONDS")


async def run(args: argparse.Namespace, client: Client) -> int:
    import sys

    from jaco.render import print_json, table, to_dict
    from jaco.statusview import age
    from jaco.waiting import wait_converged

    if args.list:
        revs = [to_dict(d) for d in await client.revisions(args.deployment)]
        if args.output == "json":
            print_json(revs)
        else:
            print(
                table(
                    [
                        [
                            str(r["revision"]),
                            r["updated_by"] or "-",
                            age(r["created_at"]),
                            ", ".join(s["name"] for s in r["services"]),
                        ]
                        for r in revs
                    ],
                    ["revision", "by", "age", "services"],
                )
            )
        return 0
    resp = await client.rollback(args.deployment, args.to)
    d = resp.deployment
    if args.output == "json":
        print_json(to_dict(resp))
    else:
        print(
            f"deployment {d.name} rolled back: now revision {d.revision} "
            f"(audit event {resp.audit_id})"
        )
    if args.wait:
        ok, problems = await wait_converged(client, d.name, d.revision, args.timeout)
        if not ok:
            print(f"jaco: error: {d.name} did not converge", file=sys.stderr)
            for line in problems:
                print(f"  {line}", file=sys.stderr)
            return 1
    return 0
