"""Where the CLI connects: ``--server`` > ``JACO_SERVER`` > the local socket.

Contexts from ``~/.config/jaco/config.toml`` slot in between once they land.
"""

from __future__ import annotations

import os
from typing import NamedTuple

SYSTEM_SOCKET = "/run/jaco/jacod.sock"


class UsageError(ValueError):
    """Bad flags or environment: exit code 2."""


class Target(NamedTuple):
    transport: str  # "unix" | "tcp"
    address: str  # socket path, or host:port
    source: str  # what chose it, for error messages

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


def resolve(flag: str | None, env: dict[str, str] | None = None) -> Target:
    env = dict(os.environ) if env is None else env
    if flag:
        return parse_server(flag, "--server")
    if env.get("JACO_SERVER"):
        return parse_server(env["JACO_SERVER"], "JACO_SERVER")
    candidates = local_sockets()
    for path in candidates:
        if os.path.exists(path):
            return Target("unix", path, "local socket")
    # None exists yet: name the dev one so the error can say where we looked.
    return Target(
        "unix", candidates[-1], "local socket (none found: looked in " + ", ".join(candidates) + ")"
    )
