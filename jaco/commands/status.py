"""`jaco status`: who answers, the cluster, its nodes."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco.client import Client

NAME = "status"
HELP = "show the cluster, its nodes and who you are"
DESCRIPTION = "Show the cluster identity, the answering node, the nodes and your resolved identity."
EXAMPLES = """\
examples:
  jaco status                      summary of the local node's view
  jaco status -o json | jq .cluster.leader
  jaco status --consistent         ask the leader instead of the nearest node
  jaco --server 10.0.0.5:7400 status
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--consistent",
        action="store_true",
        help="read from the leader (default: any node's local view)",
    )


async def run(args: argparse.Namespace, client: Client) -> int:
    from jaco.render import print_json, table, to_dict

    resp = await client.status(consistent=args.consistent)
    if args.output == "json":
        print_json(to_dict(resp))
        return 0
    c, n = resp.cluster, resp.node
    print(
        f"cluster   {c.cluster_id}  leader {c.leader or '(none)'}  nodes {c.node_count}"
        f"  quorum {'yes' if c.has_quorum else 'NO'}"
    )
    print(f"answered  {n.name}  jacod {resp.version}  runtime {n.runtime or '-'}")
    print(f"identity  {resp.identity}")
    if resp.nodes:
        d = to_dict(resp)
        rows = [
            [
                x["name"],
                x["role"],
                x["address"] or "-",
                "yes" if x["healthy"] else "no",
                x["runtime"] or "-",
            ]
            for x in d["nodes"]
        ]
        print()
        print(table(rows, ["node", "role", "address", "healthy", "runtime"]))
    return 0
