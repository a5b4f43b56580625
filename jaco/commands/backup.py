"""`jaco backup FILE`: a consistent snapshot of the cluster state and audit log."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco.client import Client

NAME = "backup"
HELP = "write a backup of the cluster state and audit log to FILE (admin)"
DESCRIPTION = (
    "Write a consistent snapshot of the cluster state, audit log included, to FILE. "
    "Restore it into a new cluster with `jacod --restore FILE --bootstrap`."
)
EXAMPLES = """\
examples:
  jaco backup /var/backups/jaco-$(date +%F).jacobak
  jaco backup - > state.jacobak        write to stdout
  jacod --bootstrap --restore state.jacobak --raft-listen 10.0.0.9:7401 --listen 10.0.0.9:7400
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="where to write the backup (- for stdout)")


async def run(args: argparse.Namespace, client: Client) -> int:
    import sys

    data, audit_id = await client.backup()
    if args.file == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    tmp = f"{args.file}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, args.file)
    if args.output == "json":
        from jaco.render import print_json

        print_json({"file": args.file, "bytes": len(data), "audit_id": audit_id})
    else:
        print(f"backup written to {args.file} ({len(data)} bytes, audit event {audit_id})")
    return 0
