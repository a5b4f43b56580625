"""`jaco node`: cluster membership."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco.client import Client

NAME = "node"
HELP = "list nodes, create join tokens, remove a node"
DESCRIPTION = "Cluster membership: who is in the cluster, how to add a node, how to take one out."
EXAMPLES = """\
examples:
  jaco node ls                          name, address, raft role, term/index, last contact, health
  jaco node ls -o json | jq '.[] | select(.healthy | not)'
  jaco node join-token                  print a token for `jacod --join HOST:PORT --join-token T`
  jaco node join-token --ttl 10m
  jaco node remove node-3               take node-3 out of the cluster (node_leave audit event)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from jaco.flags import global_flags

    sub = p.add_subparsers(dest="node_verb", metavar="ACTION", required=True)
    ls = sub.add_parser("ls", help="list the cluster's nodes", parents=[global_flags(sub=True)])
    ls.add_argument("--consistent", action="store_true", help="read from the leader")
    jt = sub.add_parser(
        "join-token", help="print a join token (admin)", parents=[global_flags(sub=True)]
    )
    jt.add_argument(
        "--ttl",
        default="1h",
        metavar="DURATION",
        help="how long the token is valid: 30m, 1h, 7d (default: 1h)",
    )
    rm = sub.add_parser(
        "remove", help="remove a node from the cluster (admin)", parents=[global_flags(sub=True)]
    )
    rm.add_argument("name", help="the node's name, as in `jaco node ls`")


def _age(ts: str | None) -> str:
    if not ts:
        return "never"
    from datetime import datetime

    secs = time.time() - datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    return f"{max(secs, 0):.0f}s ago" if secs < 120 else f"{secs / 60:.0f}m ago"


async def run(args: argparse.Namespace, client: Client) -> int:
    from jaco.durations import parse_duration
    from jaco.render import print_json, table, to_dict
    from jaco.targets import UsageError

    if args.node_verb == "ls":
        nodes = [to_dict(n) for n in await client.list_nodes(args.consistent)]
        if args.output == "json":
            print_json(nodes)
            return 0
        rows = [
            [
                n["name"],
                n["address"] or "-",
                n["role"] or "unknown",
                f"{n['raft_term']}/{n['raft_commit_index']}",
                _age(n["last_contact"]),
                "healthy" if n["healthy"] else "UNHEALTHY",
            ]
            for n in nodes
        ]
        print(table(rows, ["name", "address", "role", "term/index", "last contact", "health"]))
        return 0
    if args.node_verb == "join-token":
        try:
            ttl = parse_duration(args.ttl)
        except ValueError as exc:
            raise UsageError(f"--ttl: {exc}") from None
        resp = await client.create_join_token(int(ttl))
        if args.output == "json":
            print_json(to_dict(resp))
        else:
            print(resp.join_token)
        return 0
    resp = await client.remove_node(args.name)
    if args.output == "json":
        print_json({"removed": args.name, "audit_id": resp.audit_id})
    else:
        print(f"node {args.name} removed (audit event {resp.audit_id})")
    return 0
