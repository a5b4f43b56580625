"""Reading a replica's log files: backlog, ``tail``, ``since``, and ``follow``.

Records are ``<ts_ns> <stream> <line>\\n``; the shim makes timestamps strictly
increasing within a run. Files are read through open descriptors, so a rotation
(rename) or deletion never pulls a file out from under a reader. Following
tracks the inode being read: once a newer file exists in the chain
(``previous.log*`` then ``current.log*``), the old one is final — drain it,
then continue with the next. If the reader fell so far behind that its file
left the chain, it resumes from the oldest file and skips what it has seen by
timestamp. It ends when the replica directory goes away.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from jacod.runtime.base import LogEntry, Stream
from jacod.runtime.layout import chain, log_paths
from jacod.runtime.shim import CURRENT, PREVIOUS, SPEC_FILE

_CHUNK = 256 * 1024  # scanning backwards (tail, line ends)
# Reading forwards: what one batch holds at most (a reader per replica, each
# holding one while the merge is busy: hundreds of replicas stay in bounds).
_READ = 64 * 1024
_STREAMS: dict[str, Stream] = {"stdout": "stdout", "stderr": "stderr", "system": "system"}


class _Src:
    __slots__ = ("fd", "ino")

    def __init__(self, fd: int) -> None:
        self.fd, self.ino = fd, os.fstat(fd).st_ino


def _open(path: Path, ino: int | None = None) -> _Src | None:
    try:
        src = _Src(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    except OSError:
        return None
    if ino is not None and src.ino != ino:
        os.close(src.fd)
        return None
    return src


def _open_run(
    paths: list[Path], *, exclude: frozenset[int] | set[int] = frozenset(), close: bool = False
) -> list[_Src]:
    # Newest first, so a rotation in between yields a duplicate (dropped), not a gap.
    found: dict[int, _Src] = {}
    for path in reversed(paths):
        src = _open(path)
        if src is None:
            continue
        if src.ino in found or src.ino in exclude or close:
            os.close(src.fd)
        if src.ino not in found and src.ino not in exclude:
            found[src.ino] = src
    return list(reversed(found.values()))


def _ts(raw: bytes) -> int:
    try:
        return int(raw[: raw.index(b" ")])
    except ValueError:
        return 0


def _line_end(fd: int) -> int:
    """Offset just past the last complete record (a writer may be mid-line)."""
    pos = os.fstat(fd).st_size
    while pos > 0:
        start = max(0, pos - _CHUNK)
        at = os.pread(fd, pos - start, start).rfind(b"\n")
        if at >= 0:
            return start + at + 1
        pos = start
    return 0


def _tail(sources: list[_Src], n: int, since_ns: int) -> tuple[list[bytes], int]:
    """The last ``n`` records at or after ``since_ns``, and where the newest file's read ended."""
    newest_end = _line_end(sources[-1].fd)
    out: list[bytes] = []
    for i, src in enumerate(reversed(sources)):
        pos = newest_end if i == 0 else os.fstat(src.fd).st_size
        carry = b""
        while pos > 0:
            start = max(0, pos - _CHUNK)
            parts = (os.pread(src.fd, pos - start, start) + carry).split(b"\n")
            pos = start
            carry = parts.pop(0) if pos > 0 else b""
            for raw in reversed(parts):
                if not raw:
                    continue
                if _ts(raw) < since_ns:
                    return out[::-1], newest_end
                out.append(raw)
                if len(out) >= n:
                    return out[::-1], newest_end
    return out[::-1], newest_end


def _newest_ts(fd: int) -> int:
    end = _line_end(fd)
    tail = os.pread(fd, min(end, _CHUNK), max(0, end - _CHUNK))
    return _ts(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]) if end else 0


def last_ts(paths: list[Path]) -> int:
    """The timestamp of the newest record in these files (oldest first), or 0."""
    for src in reversed(_open_run(paths)):
        try:
            if ts := _newest_ts(src.fd):
                return ts
        finally:
            os.close(src.fd)
    return 0


def _skip_old(sources: list[_Src], since_ns: int) -> list[_Src]:
    """Drop whole files whose newest record is older than ``since_ns``."""
    while len(sources) > 1 and _newest_ts(sources[0].fd) < since_ns:
        os.close(sources.pop(0).fd)
    return sources


class LogReader:
    def __init__(
        self, directory: Path, replica_id: str, files: int, *, since_ns: int, tail: int,
        follow: bool, previous: bool, poll_s: float = 0.1,
    ) -> None:  # fmt: skip
        self.dir, self.replica_id, self.files = directory, replica_id, files
        self.since_ns, self.tail, self.poll_s = since_ns, tail, poll_s
        self.previous, self.follow = previous, follow and not previous
        self.dir_ino = os.stat(directory).st_ino
        self.last_ts = 0  # timestamps only grow along the chain: anything older was seen

    def _removed(self) -> bool:
        try:
            return os.stat(self.dir).st_ino != self.dir_ino or not (self.dir / SPEC_FILE).exists()
        except OSError:
            return True

    def _entries(self, records: bytes) -> list[LogEntry]:
        """Complete records (newline-separated) as entries. Decoded once per chunk:
        no UTF-8 sequence holds a newline or space byte, so it reads as per line."""
        out: list[LogEntry] = []
        since, last, rid = self.since_ns, self.last_ts, self.replica_id
        for rec in records.decode("utf-8", "replace").split("\n"):
            parts = rec.split(" ", 2)
            try:
                ts = int(parts[0])
            except ValueError:
                continue
            if ts < since or ts <= last or len(parts) < 2:
                continue
            line = parts[2] if len(parts) == 3 else ""
            out.append(LogEntry(ts, rid, _STREAMS.get(parts[1], "system"), line))
            last = ts
        self.last_ts = last
        return out

    def _next(self, cur: _Src) -> _Src | None:
        """The file written after ``cur``, once one exists."""
        try:
            if os.stat(self.dir / CURRENT).st_ino == cur.ino:
                return None
        except OSError:
            pass
        inos: list[tuple[Path, int]] = []
        for path in chain(self.dir, self.files):
            try:
                ino = os.stat(path).st_ino
            except OSError:
                continue
            if all(ino != seen for _, seen in inos):
                inos.append((path, ino))
        index = next((i for i, (_, ino) in enumerate(inos) if ino == cur.ino), -1)
        for path, ino in inos[index + 1 :]:  # lost our place (-1): from the oldest
            src = _open(path, ino)
            if src is not None:
                return src
        return None

    async def batches(self) -> AsyncIterator[list[LogEntry]]:
        """Entries as read: one list per chunk of the files (never an empty one)."""
        run = PREVIOUS if self.previous else CURRENT
        sources = await asyncio.to_thread(_open_run, log_paths(self.dir, run, self.files))
        retired = {s.ino for s in _open_run(log_paths(self.dir, PREVIOUS, self.files), close=True)}
        cur: _Src | None = None
        nxt: _Src | None = None
        try:
            offset = 0
            if sources and self.tail > 0:
                raws, offset = await asyncio.to_thread(_tail, sources, self.tail, self.since_ns)
                while len(sources) > 1:
                    os.close(sources.pop(0).fd)
                if batch := self._entries(b"\n".join(raws)):
                    yield batch
            elif sources and self.since_ns:
                sources = await asyncio.to_thread(_skip_old, sources, self.since_ns)
            rest = b""
            while True:
                if cur is None:
                    if not sources and self.follow:
                        # Nothing of this run existed when we began: whatever appeared since
                        # is news, even if a quick restart already retired it to ``previous``.
                        sources = _open_run(chain(self.dir, self.files), exclude=retired)
                    if not sources:
                        if not self.follow or self._removed():
                            return
                        await asyncio.sleep(self.poll_s)
                        continue
                    cur = sources.pop(0)
                data = os.pread(cur.fd, _READ, offset)
                if data:
                    offset += len(data)
                    data = rest + data
                    cut = data.rfind(b"\n") + 1
                    rest = data[cut:]
                    if cut and (batch := self._entries(data[:cut])):
                        yield batch
                    await asyncio.sleep(0)
                    continue
                if nxt is None:
                    nxt = sources.pop(0) if sources else self._next(cur) if self.follow else None
                    if nxt is not None:
                        continue  # drain ``cur`` once more: it is final now
                    if not self.follow or self._removed():
                        return
                    await asyncio.sleep(self.poll_s)
                    continue
                if rest and (batch := self._entries(rest)):
                    yield batch
                os.close(cur.fd)
                cur, nxt, offset, rest = nxt, None, 0, b""
        finally:
            for src in (cur, nxt, *sources):
                if src is not None:
                    os.close(src.fd)
