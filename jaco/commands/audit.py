"""`jaco audit`: query or follow the cluster's append-only audit log."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco.client import Client

NAME = "audit"
HELP = "query or follow the audit log (viewer)"
DESCRIPTION = (
    "Query the append-only audit log stored in raft: who did what, when. "
    "-f prints the matching backlog, then follows new events."
)
EXAMPLES = """\
examples:
  jaco audit --since 1h --type apply,delete,token_revoke
  jaco audit -f                              tail everything during an incident
  jaco audit --deployment shop --since 2026-11-27T08:00:00Z
  jaco audit --identity alice -o json | jq -c '{id, type, payload}'

types: apply, rollback, delete, token_create, token_revoke, node_join, node_leave,
backup_taken, certificate_renewed, certificate_renewal_failed,
isolation_ruleset_reconciled, isolation_drift_detected, auth_denied
(token_revoke, certificate_renewal_failed, isolation_drift_detected and auth_denied
stand out on a terminal).
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", metavar="WHEN", help="10m, 1h, 7d or an RFC 3339 time")
    p.add_argument("--until", metavar="WHEN", help="10m, 1h, 7d (ago) or an RFC 3339 time")
    p.add_argument("--type", metavar="T[,T...]", help="only these event types")
    p.add_argument("--identity", metavar="NAME", help="only events by this identity")
    p.add_argument("--deployment", metavar="DEP", help="only events about this deployment")
    p.add_argument("-f", "--follow", action="store_true", help="keep following new events")
    p.add_argument("--limit", type=int, default=1000, help="at most this many (without -f)")


def query(args: argparse.Namespace) -> object:
    from google.protobuf.timestamp_pb2 import Timestamp

    from jaco.auditview import parse_types
    from jaco.durations import parse_since
    from jaco.targets import UsageError
    from jaco.v1 import control_pb2

    q = control_pb2.AuditQuery(identity=args.identity or "", deployment=args.deployment or "")
    try:
        if args.type:
            q.types.extend(parse_types(args.type))
        for name in ("since", "until"):
            value = getattr(args, name)
            if value:
                ts = Timestamp()
                ts.FromNanoseconds(parse_since(value))
                getattr(q, name).CopyFrom(ts)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return q


async def run(args: argparse.Namespace, client: Client) -> int:
    import json
    import sys

    from jaco.auditview import render
    from jaco.render import to_dict

    q = query(args)
    colour = sys.stdout.isatty()

    def emit(event: object) -> None:
        d = to_dict(event)  # type: ignore[arg-type]
        if args.output == "json":
            d["payload"] = json.loads(d["payload"] or "{}")  # an object for jq, not a string
            line = json.dumps(d)
        else:
            line = render(d, colour)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    if not args.follow:
        q.limit = args.limit  # type: ignore[attr-defined]
        resp = await client.query_audit(q)
        for event in resp.events:
            emit(event)
        return 0
    async for event in client.follow_audit(q):
        emit(event)
    return 0
