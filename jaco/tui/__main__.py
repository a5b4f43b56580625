"""``python -m jaco.tui [--server TARGET] [DEP/SVC]``: the console without the
CLI around it (what `jaco tui` runs, for where that verb is not wired)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from jaco import logview


def main(argv: list[str] | None = None) -> int:
    from jaco.client import Client, Unreachable
    from jaco.targets import UsageError, resolve
    from jaco.tui import BUFFER_LINES, run_console

    p = argparse.ArgumentParser(prog="python -m jaco.tui", description=__doc__)
    p.add_argument("--server", metavar="TARGET", help="unix:///PATH or HOST:PORT")
    p.add_argument("--context", metavar="NAME", help="a context of ~/.config/jaco/config.toml")
    p.add_argument("--buffer-lines", type=int, default=BUFFER_LINES,
                   help="lines kept per pane (default 10,000)")  # fmt: skip
    p.add_argument("target", nargs="?", type=logview.parse_target, metavar="DEP/SVC",
                   help="open on this service's logs")  # fmt: skip
    args = p.parse_args(argv)
    try:
        target = resolve(args.server, context=args.context)
    except UsageError as exc:
        p.error(str(exc))

    async def go() -> int:
        async with Client(target) as client:
            return await run_console(client, args)

    try:
        return asyncio.run(go())
    except Unreachable as exc:
        print(f"jaco: error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
