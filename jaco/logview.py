"""Log lines on the client: ``DEP/SVC`` targets, formatting (replica prefix,
stable colours, timestamps, JSON) and following a stream across reconnects
without duplicates. Lines arrive in batches (``LogBatch``, columns) and are
handled a batch at a time: ``jaco logs`` formats one, column by column, into
one string for one write.

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
from json.encoder import encode_basestring as _json_str  # what json.dumps(ensure_ascii=False) uses
from typing import Any, NamedTuple, TextIO

_NS = 1_000_000_000
SERVER_PREFIX = "jaco"  # lines the server adds (a node lost, the deployment deleted)


class Line(NamedTuple):
    ts_ns: int
    replica_id: str
    node: str
    stream: str  # stdout | stderr | system
    line: str


_new = tuple.__new__  # a Line without NamedTuple's Python-level __new__: the per-line path


class Batch:
    """A ``jaco.v1.LogBatch``'s lines as columns: line i is ``ts_ns[i]``,
    ``replica_id[i]``, ``node[i]``, ``stream[i]``, ``line[i]``. ``jaco logs``
    formats them straight from the columns; ``lines()`` makes ``Line`` tuples."""

    __slots__ = ("line", "node", "replica_id", "stream", "ts_ns")

    def __init__(self, ts_ns: list[int], replica_id: list[str], node: list[str],
                 stream: list[str], line: list[str]) -> None:  # fmt: skip
        if not len(ts_ns) == len(replica_id) == len(node) == len(stream) == len(line):
            raise ValueError("a log batch with columns of different lengths")
        self.ts_ns, self.replica_id, self.node, self.stream, self.line = (
            ts_ns, replica_id, node, stream, line)  # fmt: skip

    @classmethod
    def of(cls, msg: Any) -> Batch:
        """From a ``jaco.v1.LogBatch`` (duck-typed: no protobuf import here)."""
        return cls(list(msg.ts_ns), list(msg.replica_id), list(msg.node), list(msg.stream),
                   list(msg.line))  # fmt: skip

    @classmethod
    def of_lines(cls, lines: list[Line]) -> Batch:
        return cls([ln.ts_ns for ln in lines], [ln.replica_id for ln in lines],
                   [ln.node for ln in lines], [ln.stream for ln in lines],
                   [ln.line for ln in lines])  # fmt: skip

    def __len__(self) -> int:
        return len(self.ts_ns)

    def lines(self) -> list[Line]:
        rows = zip(self.ts_ns, self.replica_id, self.node, self.stream, self.line, strict=True)
        return [_new(Line, row) for row in rows]

    def take(self, rows: list[int]) -> Batch:
        """Only these rows (indices, in order)."""
        return Batch([self.ts_ns[i] for i in rows], [self.replica_id[i] for i in rows],
                     [self.node[i] for i in rows], [self.stream[i] for i in rows],
                     [self.line[i] for i in rows])  # fmt: skip


def from_batch(msg: Any) -> list[Line]:
    """The lines of a ``jaco.v1.LogBatch``; ValueError if its columns differ in length."""
    return Batch.of(msg).lines()


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


class _Stamps:
    """``rfc3339`` for timestamps in a row: ``strftime`` once per second."""

    def __init__(self, digits: int = 3) -> None:
        self._div, self._fmt = 10 ** (9 - digits), f"%s.%0{digits}dZ"
        self._sec, self._base = -1, ""

    def __call__(self, ts_ns: int) -> str:
        sec, frac = divmod(ts_ns, _NS)
        if sec != self._sec:
            self._sec, self._base = sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        return self._fmt % (self._base, frac // self._div)


MARKS = {"stdout": "|", "stderr": "!", "system": "*"}
_RESET = "\x1b[0m"


class Formatter:
    """One line of text per log line: ``[TS ]PREFIX MARK LINE``.

    The prefix is the short replica id padded to the widest seen so far; the
    mark is ``|`` (stdout), ``!`` (stderr) or ``*`` (system, also dimmed).
    ``render_text``/``render_json`` do a whole batch, with what is the same
    for every line of a replica and stream computed once.
    """

    def __init__(self, *, colour: bool = False, timestamps: bool = False) -> None:
        self.colour, self.timestamps = colour, timestamps
        self.width = 0
        self._heads: dict[tuple[str, str], tuple[str, str]] = {}  # -> (head, body style)
        self._mids: dict[tuple[str, str, str], str] = {}  # JSON between "ts" and the line
        self._ms, self._ns = _Stamps(3), _Stamps(9)

    def _head_parts(self, replica_id: str, stream: str) -> list[tuple[str, str | None]]:
        prefix = short_id(replica_id)
        if len(prefix) > self.width:
            self.width = len(prefix)
            self._heads.clear()  # padded anew from here on
        prefix_style = "dim" if not replica_id else colour_for(replica_id)
        mark_style = {"stderr": "bold red", "system": "dim"}.get(stream)
        return [(prefix.ljust(self.width), prefix_style),
                (f" {MARKS.get(stream, '|')} ", mark_style)]  # fmt: skip

    def parts(self, line: Line) -> list[tuple[str, str | None]]:
        """``(text, style)`` pieces, styles from ``PALETTE`` plus ``red``/``dim``."""
        out: list[tuple[str, str | None]] = []
        if self.timestamps:
            out.append((rfc3339(line.ts_ns) + " ", "dim"))
        out += self._head_parts(line.replica_id, line.stream)
        out.append((line.line, "dim" if line.stream == "system" else None))
        return out

    def _paint(self, text: str, style: str | None) -> str:
        return f"\x1b[{ANSI[style]}m{text}{_RESET}" if self.colour and style and text else text

    def text(self, line: Line) -> str:
        return "".join(self._paint(text, style) for text, style in self.parts(line))

    def _head(self, replica_id: str, stream: str) -> tuple[str, str]:
        head = "".join(self._paint(t, s) for t, s in self._head_parts(replica_id, stream))
        body = f"\x1b[{ANSI['dim']}m" if self.colour and stream == "system" else ""
        self._heads[replica_id, stream] = head, body
        return head, body

    def render_text(self, batch: Batch) -> str:
        """``text`` of each line, newline-terminated, as one string (one write)."""
        heads, out = self._heads, []
        stamp = self._ms if self.timestamps else None
        dim = f"\x1b[{ANSI['dim']}m"
        rows = zip(batch.ts_ns, batch.replica_id, batch.stream, batch.line, strict=True)
        for ts_ns, replica_id, stream, text in rows:
            head, body = heads.get((replica_id, stream)) or self._head(replica_id, stream)
            if body and text:
                text = f"{body}{text}{_RESET}"
            if stamp is not None:
                ts = stamp(ts_ns)
                head = f"{dim}{ts} {_RESET}{head}" if self.colour else f"{ts} {head}"
            out.append(f"{head}{text}\n")
        return "".join(out)

    @staticmethod
    def json(line: Line) -> str:
        return json.dumps(
            {"ts": rfc3339(line.ts_ns, 9), "replica_id": line.replica_id, "node": line.node,
             "stream": line.stream, "line": line.line},
            ensure_ascii=False,
        )  # fmt: skip

    def render_json(self, batch: Batch) -> str:
        """``json`` of each line, newline-terminated, as one string."""
        mids, stamp, out = self._mids, self._ns, []
        rows = zip(batch.ts_ns, batch.replica_id, batch.node, batch.stream, batch.line,
                   strict=True)  # fmt: skip
        for ts_ns, replica_id, node, stream, text in rows:
            mid = mids.get((replica_id, node, stream))
            if mid is None:
                mid = mids[replica_id, node, stream] = (
                    f'"replica_id": {_json_str(replica_id)}, "node": {_json_str(node)}, '
                    f'"stream": {_json_str(stream)}, "line": '
                )
            out.append(f'{{"ts": "{stamp(ts_ns)}", {mid}{_json_str(text)}}}\n')
        return "".join(out)


# -- following across reconnects -------------------------------------------------


class Resume:
    """What was shown, so a reopened stream neither repeats nor skips.

    Reopening asks for lines since ``last - lookback`` (lines of other
    replicas may share or precede the last timestamp shown: the server's
    reorder window) and drops those already shown, known by (replica, ts),
    which is unique because a replica's timestamps strictly increase. One
    stream never repeats a line, so the set of what was shown is built only
    when reopening; until then each batch's stamp and replica columns are kept.
    """

    def __init__(self, lookback_ns: int = _NS) -> None:
        self.lookback_ns = lookback_ns
        self.last_ts = 0
        # Per batch shown: (its newest ts, stamps, replica ids), for the lookback.
        self._shown: deque[tuple[int, list[int], list[str]]] = deque()
        self._seen: set[tuple[str, int]] = set()  # shown before the last reopen...
        self._until = 0  # ...all at or before this

    @property
    def started(self) -> bool:
        return self.last_ts > 0

    def reopen(self, since_ns: int) -> int:
        """The ``since`` for a reopened stream; what it repeats will be dropped."""
        if not self.started:
            return since_ns
        cutoff = self.last_ts - self.lookback_ns
        self._seen = {
            (rid, ts)
            for _, stamps, replicas in self._shown
            for ts, rid in zip(stamps, replicas, strict=True)
            if ts >= cutoff
        }
        self._until = self.last_ts
        return max(since_ns, cutoff)

    def fresh(self, batch: Batch) -> Batch:
        """The lines of ``batch`` not shown before (and remember them)."""
        if not len(batch):
            return batch
        if self._seen and min(batch.ts_ns) <= self._until:
            seen, until = self._seen, self._until
            rows = zip(batch.ts_ns, batch.replica_id, strict=True)
            keep = [i for i, (ts, rid) in enumerate(rows) if ts > until or (rid, ts) not in seen]
            if len(keep) < len(batch):
                batch = batch.take(keep)
            if not len(batch):
                return batch
        newest = max(batch.ts_ns)
        self._shown.append((newest, batch.ts_ns, batch.replica_id))
        if newest > self.last_ts:
            self.last_ts = newest
            cutoff = newest - self.lookback_ns
            while self._shown[0][0] < cutoff:
                self._shown.popleft()
        return batch


OpenStream = Callable[[int, int], AsyncIterator[Any]]  # (since_ns, tail) -> LogBatch messages


async def batches(
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
    resume: Resume | None = None,
) -> AsyncIterator[Batch]:
    """Batches of ``open_stream`` (never empty) until it ends; when following,
    a dropped stream (``retryable``) is reopened with backoff and resumed
    without duplicates (``resume`` may carry what was shown across calls).
    ``on_outage(exc)`` is called when a stream drops, ``on_outage(None)`` once
    lines flow again. A first attempt that fails at once is not retried: that
    server is not there (or says no)."""
    shown = Resume() if resume is None else resume
    outage_since: float | None = None
    attempt = 0
    while True:
        opened = clock()
        received = False
        args = (shown.reopen(since_ns), 0) if shown.started else (since_ns, tail)
        try:
            async for msg in open_stream(*args):
                if outage_since is not None:
                    outage_since, attempt = None, 0
                    on_outage(None)
                received = True
                if len(batch := shown.fresh(Batch.of(msg))):
                    yield batch
            return
        except Exception as exc:  # noqa: BLE001 - filtered by retryable, re-raised otherwise
            established = received or shown.started or clock() - opened >= 1.0
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
