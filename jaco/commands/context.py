"""`jaco context`: named targets in ~/.config/jaco/config.toml (no jacod needed)."""

from __future__ import annotations

import argparse

NAME = "context"
HELP = "named servers with their CA and token file: ls, use, add"
DESCRIPTION = (
    "A context names a server and, for HOST:PORT, the cluster CA to verify it with and "
    "the file holding your token. The current context is used when neither --server "
    "nor $JACO_SERVER is given; --context NAME picks another for one command. "
    "Contexts live in $XDG_CONFIG_HOME/jaco/config.toml (default ~/.config)."
)
EXAMPLES = """\
examples:
  jaco context add prod --server 10.0.0.5:7400 --ca-file ~/prod-ca.crt \\
      --token-file ~/.config/jaco/prod.token --use
  jaco context add local --server unix:///run/jaco/jacod.sock
  jaco context ls                     * marks the current one
  jaco context use prod
  jaco --context local status         one command against another context

the CA is DATA_DIR/pki/ca.crt of any node; the token comes from `jaco token create`.
"""
LOCAL = True  # dispatch runs `run_local` without dialling jacod


def add_arguments(p: argparse.ArgumentParser) -> None:
    from jaco.flags import global_flags

    sub = p.add_subparsers(dest="context_verb", metavar="ACTION", required=True)
    sub.add_parser("ls", help="list contexts", parents=[global_flags(sub=True)])
    use = sub.add_parser("use", help="make a context current", parents=[global_flags(sub=True)])
    use.add_argument("name")
    add = sub.add_parser(
        "add",
        help="add or replace a context (takes --server, --ca-file, --token-file)",
        parents=[global_flags(sub=True)],
    )
    add.add_argument("name", help="letters, digits, - and _")
    add.add_argument("--use", action="store_true", help="also make it current")


async def run(args: argparse.Namespace, client: object) -> int:  # pragma: no cover
    return run_local(args)


def run_local(args: argparse.Namespace) -> int:
    import os

    from jaco import contexts
    from jaco.render import print_json, table
    from jaco.targets import UsageError, parse_server

    found = contexts.load(contexts.config_path())
    if args.context_verb == "ls":
        items = [found.contexts[n] for n in sorted(found.contexts)]
        if args.output == "json":
            print_json([{**c._asdict(), "current": c.name == found.current} for c in items])
            return 0
        if not items:
            print(f"no contexts in {found.path}; add one with `jaco context add`")
            return 0
        rows = [
            ["*" if c.name == found.current else "", c.name, c.server or "-",
             c.ca_file or "-", c.token_file or "-"]
            for c in items
        ]  # fmt: skip
        print(table(rows, ["", "name", "server", "ca file", "token file"]))
        return 0
    if args.context_verb == "use":
        contexts.save(contexts.with_current(found, contexts.check_name(args.name)))
        print(f"current context: {args.name}")
        return 0
    server = getattr(args, "server", None)
    if not server:
        raise UsageError("context add: --server unix:///PATH or HOST:PORT is required")
    target = parse_server(server, "--server")
    files = {}
    for flag in ("ca_file", "token_file"):
        value = getattr(args, flag, None)
        if value:
            path = os.path.abspath(os.path.expanduser(value))
            if not os.path.isfile(path):
                raise UsageError(f"--{flag.replace('_', '-')}: no such file: {value}")
            files[flag] = path
    if target.transport == "tcp" and "ca_file" not in files:
        raise UsageError(
            "context add: a HOST:PORT server needs --ca-file (the cluster's DATA_DIR/pki/ca.crt)"
        )
    ctx = contexts.Context(contexts.check_name(args.name), server, **files)
    updated = contexts.with_context(found, ctx, args.use)
    contexts.save(updated)
    current = " (current)" if updated.current == ctx.name else ""
    print(f"context {ctx.name} saved in {found.path}{current}")
    return 0
