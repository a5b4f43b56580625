"""Where the CLI connects, and with which CA and token.

Each setting is taken from the first of: flags > environment > the context
(``--context NAME``, else the current one of ``~/.config/jaco/config.toml``,
see ``contexts.py``) > the local socket:

- server: ``--server`` > ``JACO_SERVER`` > context ``server`` > local socket;
- CA: ``--ca-file`` > ``JACO_CA_FILE`` > context ``ca_file``;
- token: ``--token-file`` > ``JACO_TOKEN`` > context ``token_file``.

The current context's CA and token only apply when its server is the one
dialled: ``--server elsewhere`` never carries the current context's token
there (an explicit ``--context`` always applies). Over the unix socket no
token is sent (the socket's mode is the gate).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from jaco.contexts import Context

SYSTEM_SOCKET = "/run/jaco/jacod.sock"


class UsageError(ValueError):
    """Bad flags or environment: exit code 2."""


class Token:
    """A bearer token in memory; its repr names where it came from, never it."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str):
        self._value, self.source = value, source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Token(from {self.source})"

    __str__ = __repr__


class Target(NamedTuple):
    transport: str  # "unix" | "tcp"
    address: str  # socket path, or host:port
    source: str  # what chose it, for error messages
    ca_file: str = ""  # the cluster CA for TLS (tcp); "" = none configured
    token: Token | None = None  # presented over TLS only

    @property
    def grpc_target(self) -> str:
        return f"unix://{self.address}" if self.transport == "unix" else self.address

    def __str__(self) -> str:
        return self.grpc_target


# os.path rather than pathlib: this runs on every CLI start (see bench/cli_startup.py).
def dev_socket() -> str:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(state, "jaco", "jacod.sock")


def local_sockets() -> list[str]:
    """Where a local jacod listens: the system socket, then `jacod --dev`'s."""
    return [SYSTEM_SOCKET, dev_socket()]


def parse_server(value: str, source: str) -> Target:
    if value.startswith("unix://"):
        path = value[len("unix://") :]
    elif value.startswith("unix:"):
        path = value[len("unix:") :]
    else:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise UsageError(
                f"{source}: expected unix:///PATH or HOST:PORT, got {value!r} "
                "(e.g. --server unix:///run/jaco/jacod.sock or --server 10.0.0.5:7400)"
            )
        return Target("tcp", value, source)
    if not path.startswith("/"):
        raise UsageError(f"{source}: unix socket path must be absolute, got {value!r}")
    return Target("unix", path, source)


def resolve(
    flag: str | None,
    env: dict[str, str] | None = None,
    *,
    context: str | None = None,
    ca_file: str | None = None,
    token_file: str | None = None,
) -> Target:
    env = dict(os.environ) if env is None else env
    if flag:
        target = parse_server(flag, "--server")
    elif env.get("JACO_SERVER"):
        target = parse_server(env["JACO_SERVER"], "JACO_SERVER")
    else:
        target = None
    ctx = None
    if context or target is None or (target.transport == "tcp" and not (ca_file and token_file)):
        from jaco import contexts

        found = contexts.load(contexts.config_path(env))
        if context:
            ctx = found.get(context)
        else:
            ctx = found.current_context()
            # The current context's credentials go only to its own server.
            if ctx is not None and target is not None and not _same(ctx.server, target):
                ctx = None
    if target is None and ctx is not None and ctx.server:
        target = parse_server(ctx.server, f"context {ctx.name}")
    if target is None:
        target = local_socket()
    if target.transport == "unix":
        return target
    ca = ca_file or env.get("JACO_CA_FILE") or (ctx.ca_file if ctx else "")
    return target._replace(ca_file=ca, token=_token(token_file, env, ctx))


def _same(server: str, target: Target) -> bool:
    try:
        other = parse_server(server, "context")
    except UsageError:
        return False
    return (other.transport, other.address) == (target.transport, target.address)


def _token(flag: str | None, env: dict[str, str], ctx: Context | None) -> Token | None:
    if flag:
        return Token(_read_token(flag, "--token-file"), "--token-file")
    if env.get("JACO_TOKEN"):
        return Token(env["JACO_TOKEN"].strip(), "JACO_TOKEN")
    if ctx is not None and ctx.token_file:
        return Token(_read_token(ctx.token_file, f"context {ctx.name}"), f"context {ctx.name}")
    return None


def _read_token(path: str, source: str) -> str:
    try:
        with open(os.path.expanduser(path)) as fh:
            value = fh.read().strip()
    except OSError as exc:
        raise UsageError(f"{source}: cannot read token file {path}: {exc.strerror}") from None
    if not value:
        raise UsageError(f"{source}: token file {path} is empty")
    return value


def local_socket() -> Target:
    candidates = local_sockets()
    for path in candidates:
        if os.path.exists(path):
            return Target("unix", path, "local socket")
    # None exists yet: name the dev one so the error can say where we looked.
    return Target(
        "unix", candidates[-1], "local socket (none found: looked in " + ", ".join(candidates) + ")"
    )
