"""`jaco apply -f FILE`: create a new revision of a deployment."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco.client import Client

NAME = "apply"
HELP = "create or update a deployment from a file (operator)"
DESCRIPTION = (
    "Submit a deployment file (TOML, YAML or JSON; see docs/deployments.md). "
    "A changed spec creates a new revision; an identical one changes nothing."
)
EXAMPLES = """\
examples:
  jaco apply -f examples/hello.toml
  jaco apply -f shop.toml --dry-run        show the diff, commit nothing
  jaco apply -f shop.toml --wait           return when every replica runs (or say which failed)
  cat shop.json | jaco apply -f - --format json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-f", "--file", required=True, metavar="FILE", help="deployment file, - for stdin"
    )
    p.add_argument(
        "--format",
        choices=("toml", "yaml", "json"),
        help="file format (default: from the extension, else TOML)",
    )
    p.add_argument("--dry-run", action="store_true", help="validate and show the diff only")
    p.add_argument("--wait", action="store_true", help="wait until the deployment has converged")
    p.add_argument(
        "--timeout",
        type=float,
        default=300,
        metavar="SECONDS",
        help="how long --wait waits (default: 300)",
    )


def _format(path: str, given: str | None) -> str:
    """The --format, else from the extension, else "" (the server sniffs JSON vs TOML)."""
    if given:
        return given
    ext = os.path.splitext(path)[1].lower()
    return {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}.get(ext, "")


async def run(args: argparse.Namespace, client: Client) -> int:
    from jaco.render import print_json, to_dict
    from jaco.targets import UsageError
    from jaco.waiting import wait_converged

    try:
        data = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    except OSError as exc:
        raise UsageError(f"-f: cannot read {args.file}: {exc.strerror}") from None
    resp = await client.apply(data, _format(args.file, args.format), args.dry_run)
    name, rev = resp.deployment.name, resp.deployment.revision
    if args.output == "json":
        print_json(to_dict(resp))
    elif args.dry_run:
        print(resp.diff or "no changes")
        print("(dry run: nothing committed)")
    elif resp.changed:
        print(f"deployment {name} revision {rev} applied (audit event {resp.audit_id})")
        if resp.diff:
            print(resp.diff)
    else:
        print(f"deployment {name} unchanged (revision {rev}): the spec is identical")
    if args.wait and not args.dry_run:
        ok, problems = await wait_converged(client, name, rev, args.timeout)
        if ok:
            if args.output != "json":
                print(f"deployment {name} revision {rev}: all replicas running")
            return 0
        print(
            f"jaco: error: deployment {name} did not converge within {args.timeout:.0f}s",
            file=sys.stderr,
        )
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0
