"""`jaco logs DEP/SVC`: every replica's lines, merged in time order."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jaco import logview
    from jaco.client import Client

NAME = "logs"
HELP = "print a service's logs, all replicas merged in time order"
DESCRIPTION = (
    "Print the log lines of a service's replicas, merged in time order, each prefixed with its "
    "replica (coloured on a terminal; stderr lines marked '!', jaco's own lines '*'). "
    "With -f, keep following across replica restarts and new replicas, until the deployment "
    "is deleted or you press Ctrl-C; a jacod restart is ridden out without repeating lines."
)
EXAMPLES = """\
examples:
  jaco logs shop/web                      the current run of every replica
  jaco logs shop/web -f                   ... then follow
  jaco logs shop/web --tail 20 -f         the last 20 lines across replicas, then follow
  jaco logs shop/web --since 10m          the last ten minutes
  jaco logs shop/web --since 2026-11-27T10:00:00Z --timestamps
  jaco logs shop/web/2 --previous         replica 2's run before its last restart
  jaco logs shop/web -o json | jq -r 'select(.stream == "stderr") | .line'

exit codes: 0 done (or the deployment was deleted while following), 1 unknown deployment or
service, 2 usage error, 3 jacod unreachable, 130 interrupted.
"""


def _target(text: str) -> logview.Target:
    from jaco import logview  # lazily: every `jaco` start builds this verb's parser

    try:
        return logview.parse_target(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _since(text: str) -> int:
    from jaco.durations import parse_since

    try:
        return parse_since(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number of lines (0 or more), got {text!r}")
    return int(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "target",
        metavar="DEP/SVC",
        type=_target,
        help="deployment/service, e.g. shop/web (shop/web/2: one replica)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep printing new lines (across restarts and new replicas)",
    )
    mode.add_argument(
        "--previous",
        action="store_true",
        help="each replica's previous run (before its last restart)",
    )
    p.add_argument(
        "--since",
        metavar="10m|RFC3339",
        type=_since,
        default=0,
        help="only lines since a duration ago (30s, 10m, 2h) or a time",
    )
    p.add_argument(
        "--tail",
        metavar="N",
        type=_count,
        default=0,
        help="only the last N lines across all replicas (then follow, with -f)",
    )
    p.add_argument(
        "--timestamps",
        action="store_true",
        help="prefix each line with its time (RFC 3339, UTC, ms)",
    )
    p.add_argument("--replica", metavar="ID",
                   help="one replica: its ordinal (2), web/2 or shop/web/2")  # fmt: skip


async def run(args: argparse.Namespace, client: Client) -> int:
    import grpc

    from jaco import logview
    from jaco.client import Unreachable
    from jaco.targets import UsageError

    target: logview.Target = args.target
    try:
        rid = logview.replica_id(target, args.replica)
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    def open_stream(since_ns: int, tail: int) -> object:
        return client.logs(
            target.deployment, target.service, replica_id=rid, follow=args.follow,
            since_ns=since_ns, tail=tail, previous=args.previous,
        )  # fmt: skip

    def retryable(exc: BaseException) -> bool:
        if isinstance(exc, Unreachable):
            return True
        dropped = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN)
        return isinstance(exc, grpc.aio.AioRpcError) and exc.code() in dropped

    def on_outage(exc: BaseException | None) -> None:
        if exc is None:
            print("jaco: reconnected; resuming", file=sys.stderr)
        else:
            reason = exc.__class__.__name__
            if isinstance(exc, Unreachable):
                reason = exc.reason
            elif isinstance(exc, grpc.aio.AioRpcError):
                reason = exc.details() or exc.code().name
            print(f"jaco: lost the log stream ({reason}); reconnecting…", file=sys.stderr)

    out = sys.stdout
    fmt = logview.Formatter(colour=args.output == "text" and logview.use_colour(out),
                            timestamps=args.timestamps)  # fmt: skip
    render = fmt.render_json if args.output == "json" else fmt.render_text
    stream = logview.batches(
        open_stream,  # type: ignore[arg-type]
        since_ns=args.since, tail=args.tail, follow=args.follow, retryable=retryable,
        on_outage=on_outage,
    )  # fmt: skip
    async for batch in stream:
        # A batch is what the server had ready: one write, flushed, so a reader
        # sees each line as soon as it arrives and a burst costs one syscall.
        out.write(render(batch))
        out.flush()
    return 0
