"""Log lines on the client: ``DEP/SVC`` targets, formatting (replica prefix,
stable colours, timestamps, JSON) and following a stream across reconnects
without duplicates.

Shared by ``jaco logs`` and the console's logs pane, so it imports neither
grpc nor textual: formatting yields ``(text, style)`` parts that the CLI turns
into ANSI and the console into its own styles.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, NamedTuple, TextIO

_NS = 1_000_000_000
SERVER_PREFIX = "jaco"  # lines the server adds (a node lost, the deployment deleted)


class Line(NamedTuple):
    ts_ns: int
    replica_id: str
    node: str
    stream: str  # stdout | stderr | system
    line: str

    @classmethod
    def from_pb(cls, msg: Any) -> Line:
        """From a ``jaco.v1.LogLine`` (duck-typed: no protobuf import here)."""
        ts = msg.ts
        return cls(ts.seconds * _NS + ts.nanos, msg.replica_id, msg.node, msg.stream, msg.line)


# -- targets -------------------------------------------------------------------


class Target(NamedTuple):
    deployment: str
    service: str
    replica_id: str = ""  # DEP/SVC/N names one replica


def parse_target(text: str) -> Target:
    """``shop/web`` (or ``shop/web/2`` for one replica); ValueError naming the form."""
    parts = text.split("/")
    if len(parts) in (2, 3) and all(p.strip() == p and p for p in parts):
        if len(parts) == 2:
            return Target(parts[0], parts[1])
        return Target(parts[0], parts[1], text)
    raise ValueError(f"expected DEPLOYMENT/SERVICE (e.g. shop/web), got {text!r}")


def replica_id(target: Target, replica: str | None) -> str:
    """``--replica`` as an ordinal (``2``), ``web/2`` or ``shop/web/2`` -> the full id."""
    if not replica:
        return target.replica_id
    prefix = f"{target.deployment}/{target.service}/"
    parts = replica.split("/")
    ordinal = ""
    if len(parts) == 1:
        ordinal = parts[0]
    elif len(parts) == 2 and parts[0] == target.service:
        ordinal = parts[1]
    elif len(parts) == 3 and replica.startswith(prefix):
        ordinal = parts[2]
    if not ordinal.isdigit():
        raise ValueError(
            f"--replica: expected a replica of {target.deployment}/{target.service} "
            f"(2, {target.service}/2 or {prefix}2), got {replica!r}"
        )
    full = prefix + ordinal
    if target.replica_id and target.replica_id != full:
        raise ValueError(f"--replica {replica} contradicts {target.replica_id}")
    return full


def short_id(replica_id: str) -> str:
    """``shop/web/0`` -> ``web/0``: the deployment is the same on every line."""
    if not replica_id:
        return SERVER_PREFIX
    return replica_id.split("/", 1)[-1]


# -- colours and formatting ----------------------------------------------------

# Style names both ANSI (below) and Rich/Textual understand. Red is kept for stderr.
PALETTE = (
    "cyan", "magenta", "green", "yellow", "blue",
    "bright_cyan", "bright_magenta", "bright_green", "bright_yellow", "bright_blue",
)  # fmt: skip
ANSI = {
    "cyan": "36", "magenta": "35", "green": "32", "yellow": "33", "blue": "34",
    "bright_cyan": "96", "bright_magenta": "95", "bright_green": "92", "bright_yellow": "93",
    "bright_blue": "94", "red": "31", "bold red": "1;31", "dim": "2",
}  # fmt: skip


def colour_for(replica_id: str) -> str:
    """A colour stable across runs and machines: by service, then ordinal, so
    a service's replicas get distinct colours."""
    group, _, ordinal = replica_id.rpartition("/")
    offset = int(ordinal) if ordinal.isdigit() else zlib.crc32(ordinal.encode())
    return PALETTE[(zlib.crc32(group.encode()) + offset) % len(PALETTE)]


def use_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never with NO_COLOR (no-color.org) or TERM=dumb."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def rfc3339(ts_ns: int, digits: int = 3) -> str:
    """UTC, ``Z``, with ``digits`` of the fraction (3: ms, 9: ns)."""
    secs, frac = divmod(ts_ns, _NS)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{base}.{frac // 10 ** (9 - digits):0{digits}d}Z"


MARKS = {"stdout": "|", "stderr": "!", "system": "*"}


class Formatter:
    """One line of text per log line: ``[TS ]PREFIX MARK LINE``.

    The prefix is the short replica id padded to the widest seen so far; the
    mark is ``|`` (stdout), ``!`` (stderr) or ``*`` (system, also dimmed).
    """

    def __init__(self, *, colour: bool = False, timestamps: bool = False) -> None:
        self.colour, self.timestamps = colour, timestamps
        self.width = 0

    def parts(self, line: Line) -> list[tuple[str, str | None]]:
        """``(text, style)`` pieces, styles from ``PALETTE`` plus ``red``/``dim``."""
        prefix = short_id(line.replica_id)
        self.width = max(self.width, len(prefix))
        out: list[tuple[str, str | None]] = []
        if self.timestamps:
            out.append((rfc3339(line.ts_ns) + " ", "dim"))
        system = line.stream == "system"
        prefix_style = "dim" if not line.replica_id else colour_for(line.replica_id)
        out.append((prefix.ljust(self.width), prefix_style))
        mark_style = {"stderr": "bold red", "system": "dim"}.get(line.stream)
        out.append((f" {MARKS.get(line.stream, '|')} ", mark_style))
        out.append((line.line, "dim" if system else None))
        return out

    def text(self, line: Line) -> str:
        if not self.colour:
            return "".join(text for text, _ in self.parts(line))
        return "".join(
            f"\x1b[{ANSI[style]}m{text}\x1b[0m" if style and text else text
            for text, style in self.parts(line)
        )

    @staticmethod
    def json(line: Line) -> str:
        return json.dumps(
            {"ts": rfc3339(line.ts_ns, 9), "replica_id": line.replica_id, "node": line.node,
             "stream": line.stream, "line": line.line},
            ensure_ascii=False,
        )  # fmt: skip


# -- following across reconnects -------------------------------------------------


class Resume:
    """What was shown, so a reopened stream neither repeats nor skips.

    Reopening asks for lines since ``last - lookback`` (lines of other
    replicas may share or precede the last timestamp shown: the server's
    reorder window) and drops those already shown, known by (replica, ts),
    which is unique because a replica's timestamps strictly increase.
    """

    def __init__(self, lookback_ns: int = _NS) -> None:
        self.lookback_ns = lookback_ns
        self.last_ts = 0
        self._seen: set[tuple[str, int]] = set()
        self._order: deque[tuple[str, int]] = deque()

    @property
    def started(self) -> bool:
        return self.last_ts > 0

    def fresh(self, line: Line) -> bool:
        """Whether ``line`` is new (and remember it)."""
        key = (line.replica_id, line.ts_ns)
        if key in self._seen:
            return False
        self._seen.add(key)
        self._order.append(key)
        self.last_ts = max(self.last_ts, line.ts_ns)
        cutoff = self.last_ts - self.lookback_ns
        while self._order and self._order[0][1] < cutoff:
            self._seen.discard(self._order.popleft())
        return True

    def since_ns(self, since_ns: int) -> int:
        return max(since_ns, self.last_ts - self.lookback_ns) if self.started else since_ns


OpenStream = Callable[[int, int], AsyncIterator[Any]]  # (since_ns, tail) -> LogLine messages


async def lines(
    open_stream: OpenStream,
    *,
    since_ns: int = 0,
    tail: int = 0,
    follow: bool = False,
    retryable: Callable[[BaseException], bool] = lambda exc: False,
    on_outage: Callable[[BaseException | None], None] = lambda exc: None,
    max_outage_s: float = 120.0,
    backoff_s: float = 0.2,
    max_backoff_s: float = 3.0,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Line]:
    """Lines of ``open_stream`` until it ends; when following, a dropped stream
    (``retryable``) is reopened with backoff and resumed without duplicates.
    ``on_outage(exc)`` is called when a stream drops, ``on_outage(None)`` once
    lines flow again. A first attempt that fails at once is not retried: that
    server is not there (or says no)."""
    resume = Resume()
    outage_since: float | None = None
    attempt = 0
    while True:
        opened = clock()
        received = False
        args = (resume.since_ns(since_ns), 0) if resume.started else (since_ns, tail)
        try:
            async for msg in open_stream(*args):
                if outage_since is not None:
                    outage_since, attempt = None, 0
                    on_outage(None)
                received = True
                line = Line.from_pb(msg)
                if resume.fresh(line):
                    yield line
            return
        except Exception as exc:  # noqa: BLE001 - filtered by retryable, re-raised otherwise
            established = received or resume.started or clock() - opened >= 1.0
            if not (follow and retryable(exc) and (established or outage_since is not None)):
                raise
            now = clock()
            if outage_since is None:
                outage_since = now
                on_outage(exc)
            elif now - outage_since > max_outage_s:
                raise
        attempt += 1
        import asyncio

        await asyncio.sleep(min(backoff_s * 2 ** (attempt - 1), max_backoff_s))
