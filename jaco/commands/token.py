"""`jaco token`: API tokens for remote access (admin)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco.client import Client

NAME = "token"
HELP = "create, list and revoke API tokens (admin)"
DESCRIPTION = (
    "API tokens let `jaco` act on a cluster over TCP as a named identity with a role: "
    "viewer (status, logs, audit), operator (+ apply, rollback, delete), "
    "admin (+ tokens, nodes, backups). A token is shown once, at creation; "
    "the cluster keeps only a hash of it."
)
EXAMPLES = """\
examples:
  jaco token create --identity alice --role operator --ttl 30d > alice.token
  jaco token create --identity ci -o json | jq -r .token
  jaco token ls                       id, identity, role, created, expires, state
  jaco token revoke 3f9c2a7b1d04      refused on every node as soon as it applies it

use one:  jaco --server 10.0.0.5:7400 --ca-file ca.crt --token-file alice.token status
     or:  jaco context add prod --server 10.0.0.5:7400 --ca-file ca.crt --token-file alice.token
"""

ROLES = ("viewer", "operator", "admin")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from jaco.flags import global_flags

    sub = p.add_subparsers(dest="token_verb", metavar="ACTION", required=True)
    create = sub.add_parser(
        "create", help="create a token and print it once", parents=[global_flags(sub=True)]
    )
    create.add_argument("--identity", required=True, metavar="NAME", help="who it is for")
    create.add_argument("--role", choices=ROLES, default="viewer", help="(default: viewer)")
    create.add_argument(
        "--ttl", metavar="DURATION", help="valid for this long: 12h, 30d (default: no expiry)"
    )
    sub.add_parser("ls", help="list tokens (never the tokens themselves)",
                   parents=[global_flags(sub=True)])  # fmt: skip
    revoke = sub.add_parser("revoke", help="revoke a token", parents=[global_flags(sub=True)])
    revoke.add_argument("id", help="the token's id, as in `jaco token ls`")


def _state(t: dict[str, object], now: float) -> str:
    if t["revoked"]:
        return "revoked"
    expires = t["expires_at"]
    if isinstance(expires, str) and expires:
        from datetime import datetime

        if datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp() <= now:
            return "expired"
    return "active"


async def run(args: argparse.Namespace, client: Client) -> int:
    import sys
    import time

    from jaco.durations import parse_duration
    from jaco.render import print_json, table, to_dict
    from jaco.targets import UsageError

    if args.token_verb == "create":
        ttl = 0
        if args.ttl:
            try:
                ttl = int(parse_duration(args.ttl))
            except ValueError as exc:
                raise UsageError(f"--ttl: {exc}") from None
            if ttl < 1:
                raise UsageError("--ttl: at least 1s")
        resp = await client.create_token(args.identity, args.role, ttl)
        if args.output == "json":
            print_json(to_dict(resp))
            return 0
        info = to_dict(resp.info)
        print(resp.token)
        print(
            f"token {info['id']} for {info['identity']} (role {info['role']}, expires "
            f"{info['expires_at'] or 'never'}): shown once, keep it secret",
            file=sys.stderr,
        )
        return 0
    if args.token_verb == "ls":
        infos = [to_dict(t) for t in await client.list_tokens()]
        if args.output == "json":
            print_json(infos)
            return 0
        now = time.time()
        rows = [
            [t["id"], t["identity"], t["role"], t["created_at"] or "-",
             t["expires_at"] or "never", _state(t, now), t["created_by"]]
            for t in infos
        ]  # fmt: skip
        print(table(rows, ["id", "identity", "role", "created", "expires", "state", "by"]))
        return 0
    revoked = await client.revoke_token(args.id)
    if args.output == "json":
        print_json(to_dict(revoked.info))
    else:
        print(f"token {args.id} revoked")
    return 0
