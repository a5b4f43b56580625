"""`jaco`: argument parsing, logging setup, dispatch, exit codes.

Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 jacod unreachable.
Global flags work before or after the verb (`jaco -o json status` ==
`jaco status -o json`).
"""

from __future__ import annotations

import argparse
import os
import sys

from jaco import __version__, commands
from jaco.flags import global_flags

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

EPILOG = """\
examples:
  jaco status                          the cluster as the local node sees it
  jaco status -o json                  the same, for scripts
  jaco --server 10.0.0.5:7400 status   ask a remote node
  JACO_LOG=info jaco status            show what the CLI does (dial target, ...)

target: --server unix:///PATH | HOST:PORT, else $JACO_SERVER, else the context's
(--context, else the current one: `jaco context ls`), else the local socket
(/run/jaco/jacod.sock, or $XDG_STATE_HOME/jaco/jacod.sock from `jacod --dev`).
HOST:PORT is TLS with --ca-file / $JACO_CA_FILE / the context's CA, and your
token from --token-file / $JACO_TOKEN / the context's token file.
exit codes: 0 ok, 1 operation failed, 2 usage error, 3 jacod unreachable.
Run `jaco VERB --help` for each verb's options and examples.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jaco",
        description="Operate a JACO cluster. With no verb on a terminal: the triage console.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[global_flags(sub=False)],
    )
    p.add_argument("--version", action="version", version=f"jaco {__version__}")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", title="verbs")
    for name in commands.VERBS:
        mod = commands.load(name)
        sp = verbs.add_parser(
            name,
            help=mod.HELP,
            description=mod.DESCRIPTION,
            epilog=mod.EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[global_flags(sub=True)],
        )
        mod.add_arguments(sp)
    return p


def fail(message: str, code: int) -> int:
    import obs.logging

    obs.logging.flush()  # log lines first: the two writers never interleave mid-line
    print(f"jaco: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    import obs.logging as obslog

    try:
        level = obslog.resolve_level(args.log_level, args.verbose, os.environ.get("JACO_LOG"))
    except obslog.InvalidLevel as exc:
        parser.print_usage(sys.stderr)
        return fail(str(exc), EXIT_USAGE)
    obslog.setup_cli(level)

    if args.verb is None:
        # The triage console on a terminal; help for scripts and pipes.
        if sys.stdin.isatty() and sys.stdout.isatty():
            return dispatch(parser.parse_args([*argv, "tui"]))
        parser.print_help()
        return EXIT_OK
    return dispatch(args)


def dispatch(args: argparse.Namespace) -> int:
    import grpc

    from jaco.client import Client, Unreachable
    from jaco.targets import UsageError, resolve

    mod = commands.load(args.verb)
    if getattr(mod, "LOCAL", False):  # e.g. `jaco context`: no jacod involved
        try:
            return int(mod.run_local(args))
        except UsageError as exc:
            return fail(str(exc), EXIT_USAGE)
    try:
        target = resolve(
            args.server,
            context=getattr(args, "context", None),
            ca_file=getattr(args, "ca_file", None),
            token_file=getattr(args, "token_file", None),
        )
    except UsageError as exc:
        return fail(str(exc), EXIT_USAGE)

    from obs import telemetry

    telemetry.setup("jaco")  # nothing imported unless JACO_OTLP_ENDPOINT is set

    async def go() -> int:
        async with Client(target) as client:
            # cli.<verb>: the root of the trace the daemons continue.
            with telemetry.span(
                f"cli.{args.verb}", identity="local" if target.transport == "unix" else None
            ):
                result: int = await mod.run(args, client)
                return result

    import asyncio  # here, not at the top: `jaco --version`/`--help` need no event loop

    try:
        return asyncio.run(go())
    except Unreachable as exc:
        return fail(str(exc), EXIT_UNREACHABLE)
    except UsageError as exc:
        return fail(str(exc), EXIT_USAGE)
    except grpc.aio.AioRpcError as err:
        return fail(describe_rpc_error(err), EXIT_FAILED)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `jaco ... | head`: the reader is gone; not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - one line for operators, traceback at debug
        import logging

        logging.getLogger("jaco.cli").debug("unexpected error", exc_info=exc)
        return fail(
            f"unexpected {type(exc).__name__}: {exc} (run with -v for the traceback)", EXIT_FAILED
        )
    finally:
        telemetry.shutdown()  # flush: the CLI's spans must not be lost on exit


HINTS = {
    "UNAUTHENTICATED": (
        "pass a token with --token-file FILE, $JACO_TOKEN or a context (`jaco context add`); "
        "on a node, the local unix socket needs none"
    ),
    "PERMISSION_DENIED": "your token's role does not allow this; ask an admin",
    "UNIMPLEMENTED": "this jacod does not support that yet; check `jaco status` for its version",
    "DEADLINE_EXCEEDED": "the cluster did not answer in time; check `jaco node ls` for quorum",
}


def describe_rpc_error(err: object) -> str:
    code = err.code().name  # type: ignore[attr-defined]
    details = err.details() or code  # type: ignore[attr-defined]
    hint = HINTS.get(code)
    lines = details.splitlines() or [code]
    if len(lines) > 1:  # e.g. every admission error of a deployment file, one per line
        body = "\n".join(f"  {line}" for line in lines)
        return f"{len(lines)} problems [{code.lower()}]:\n{body}" + (f"\n{hint}" if hint else "")
    return f"{lines[0]} [{code.lower()}]" + (f"; {hint}" if hint else "")
