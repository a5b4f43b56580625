"""Named contexts: ``$XDG_CONFIG_HOME/jaco/config.toml`` (default ``~/.config``).

```toml
current = "prod"

[contexts.prod]
server = "10.0.0.5:7400"
ca_file = "/home/me/.config/jaco/prod-ca.crt"
token_file = "/home/me/.config/jaco/prod.token"
```

A context names a server and, for TCP, the cluster CA to verify it with and
a file holding the token to present. The file holds paths, never a token;
``jaco context add`` writes it with mode 0600 all the same. Read with
``tomllib``, written by ``dump`` (string values only, so a tiny writer does).
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from jaco.targets import UsageError

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
FIELDS = ("server", "ca_file", "token_file")


class Context(NamedTuple):
    name: str
    server: str = ""
    ca_file: str = ""
    token_file: str = ""


class Contexts(NamedTuple):
    path: str
    current: str
    contexts: dict[str, Context]

    def get(self, name: str) -> Context:
        ctx = self.contexts.get(name)
        if ctx is None:
            known = ", ".join(sorted(self.contexts)) or "none yet: `jaco context add`"
            raise UsageError(f"no context named {name!r} in {self.path} (known: {known})")
        return ctx

    def current_context(self) -> Context | None:
        return self.contexts.get(self.current) if self.current else None


def config_path(env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_CONFIG_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".config"
    )
    return os.path.join(base, "jaco", "config.toml")


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise UsageError(f"context name: letters, digits, - and _ only (at most 64), got {name!r}")
    return name


def load(path: str) -> Contexts:
    """The contexts in ``path``; none if it does not exist. UsageError naming
    the file and what is wrong with it otherwise."""
    try:
        with open(path, "rb") as fh:
            import tomllib

            data = tomllib.load(fh)
    except FileNotFoundError:
        return Contexts(path, "", {})
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise UsageError(f"{path}: cannot read it as TOML: {exc}") from None
    current = data.get("current", "")
    raw = data.get("contexts", {})
    if not isinstance(current, str) or not isinstance(raw, dict):
        raise UsageError(f'{path}: expected `current = "NAME"` and [contexts.NAME] tables')
    contexts: dict[str, Context] = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise UsageError(f"{path}: contexts.{name} must be a table")
        unknown = sorted(set(table) - set(FIELDS))
        if unknown:
            raise UsageError(
                f"{path}: contexts.{name}: unknown key {unknown[0]!r} (known: {', '.join(FIELDS)})"
            )
        values = {k: table.get(k, "") for k in FIELDS}
        bad = [k for k, v in values.items() if not isinstance(v, str)]
        if bad:
            raise UsageError(f"{path}: contexts.{name}.{bad[0]} must be a string")
        contexts[name] = Context(name, **values)
    if current and current not in contexts:
        raise UsageError(f"{path}: current = {current!r} names no [contexts.{current}] table")
    return Contexts(path, current, contexts)


def _quote(value: str) -> str:
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def dump(contexts: Contexts) -> str:
    lines = ["# jaco contexts; edit with `jaco context add|use` (see `jaco context --help`)"]
    if contexts.current:
        lines.append(f"current = {_quote(contexts.current)}")
    for name in sorted(contexts.contexts):
        ctx = contexts.contexts[name]
        lines += ["", f"[contexts.{check_name(name)}]"]
        lines += [f"{k} = {_quote(getattr(ctx, k))}" for k in FIELDS if getattr(ctx, k)]
    return "\n".join(lines) + "\n"


def save(contexts: Contexts) -> None:
    """Atomically, mode 0600, in a 0700 directory (created if need be)."""
    directory = os.path.dirname(contexts.path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = contexts.path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(dump(contexts))
    os.replace(tmp, contexts.path)


def with_context(contexts: Contexts, ctx: Context, make_current: bool) -> Contexts:
    updated = {**contexts.contexts, check_name(ctx.name): ctx}
    current = ctx.name if make_current or not contexts.current else contexts.current
    return Contexts(contexts.path, current, updated)


def with_current(contexts: Contexts, name: str) -> Contexts:
    contexts.get(name)
    return Contexts(contexts.path, name, contexts.contexts)
