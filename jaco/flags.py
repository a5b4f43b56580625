"""Global flags, accepted before or after the verb (and after sub-actions)."""

from __future__ import annotations

import argparse


def global_flags(sub: bool) -> argparse.ArgumentParser:
    """A parent parser with the global flags. On a verb's (or action's) parser
    the defaults are SUPPRESS, so a flag given earlier is not reset later."""

    def d(value: object) -> object:
        return argparse.SUPPRESS if sub else value

    g = argparse.ArgumentParser(add_help=False)
    opts = g.add_argument_group("global options")
    opts.add_argument(
        "--server",
        metavar="TARGET",
        default=d(None),
        help="unix:///PATH or HOST:PORT (default: $JACO_SERVER, else the local socket)",
    )
    opts.add_argument(
        "--context",
        metavar="NAME",
        default=d(None),
        help="a context of ~/.config/jaco/config.toml (default: its current one)",
    )
    opts.add_argument(
        "--ca-file",
        metavar="FILE",
        default=d(None),
        help="cluster CA for TLS to HOST:PORT (default: $JACO_CA_FILE, else the context's)",
    )
    opts.add_argument(
        "--token-file",
        metavar="FILE",
        default=d(None),
        help="file holding your token (default: $JACO_TOKEN, else the context's)",
    )
    opts.add_argument(
        "-o",
        "--output",
        choices=("text", "json"),
        default=d("text"),
        help="output format (default: text)",
    )
    opts.add_argument(
        "--log-level",
        metavar="LEVEL",
        default=d(None),
        help="debug|info|warn|error (default: $JACO_LOG, else warn)",
    )
    opts.add_argument(
        "-v", "--verbose", action="store_true", default=d(False), help="same as --log-level debug"
    )
    return g
