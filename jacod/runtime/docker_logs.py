"""The engine's log stream → :class:`LogEntry` (pure: bytes in, entries out).

``GET /containers/{id}/logs?timestamps=1`` multiplexes stdout and stderr in
frames: an 8-byte header (stream id, 3 zero bytes, big-endian payload size)
then ``<RFC 3339 time> <text>``. Docker sends a line per frame (long lines
in several, the last one ending in ``\\n``); a container with a TTY sends raw
bytes without headers.

Timestamps. Entries must be strictly increasing per replica, and re-reading
a stretch must give the same stamps (``jaco logs`` resumes after the last one
it sent). Engines stamp lines independently (equal stamps happen), and
podman 4's Docker API even truncates stamps to whole seconds. So a read
always starts at a whole second, and each line gets ``max(stamp, previous +
1 ns)``: the same lines from the same second on always get the same stamps.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from jacod.runtime.base import LogEntry, Stream
from jacod.runtime.docker_spec import parse_time

SECOND = 1_000_000_000
_HEADER = struct.Struct(">BxxxL")
_STREAMS: dict[int, Stream] = {1: "stdout", 2: "stderr", 3: "system"}
MAX_PARTIAL = 1 << 20  # a line longer than this is cut rather than buffered forever


def floor_second(ns: int) -> int:
    return ns - ns % SECOND


@dataclass(frozen=True, slots=True)
class RawLine:
    stamp_ns: int  # as the engine stamped it
    fine: bool  # the stamp had sub-second digits
    stream: Stream
    text: str


class FrameParser:
    """Bytes of a log response → (stream, payload) frames, whatever the chunking."""

    def __init__(self, raw: bool = False) -> None:
        self.raw = raw
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[Stream, bytes]]:
        if self.raw:
            return [("stdout", bytes(data))] if data else []
        self._buf += data
        out: list[tuple[Stream, bytes]] = []
        pos = 0
        while len(self._buf) - pos >= _HEADER.size:
            kind, size = _HEADER.unpack_from(self._buf, pos)
            end = pos + _HEADER.size + size
            if len(self._buf) < end:
                break
            if kind != 0:  # 0 is stdin: never sent to us
                out.append((_STREAMS.get(kind, "system"), bytes(self._buf[pos + 8 : end])))
            pos = end
        del self._buf[:pos]
        return out


class LineAssembler:
    """Frames → lines with the stamp of their first part.

    Each frame is ``<stamp> <text>``; text without a trailing newline is the
    start of a line continued by the next frame of the same stream."""

    def __init__(self) -> None:
        self._partial: dict[Stream, tuple[int, bool, bytearray]] = {}

    def feed(self, stream: Stream, payload: bytes) -> Iterator[RawLine]:
        stamp_text, sep, text = payload.partition(b" ")
        stamp, fine = parse_time(stamp_text.decode("ascii", "replace"))
        if not sep or not stamp:
            stamp, fine, text = 0, False, payload  # no stamp: keep the bytes anyway
        pending = self._partial.pop(stream, None)
        if pending is not None:
            stamp, fine = pending[0], pending[1]
            text = bytes(pending[2]) + text
        parts = text.split(b"\n")
        tail = parts.pop()
        for part in parts:
            yield RawLine(stamp, fine, stream, part.decode("utf-8", "replace"))
        if tail:
            if len(tail) >= MAX_PARTIAL:
                yield RawLine(stamp, fine, stream, tail.decode("utf-8", "replace"))
            else:
                self._partial[stream] = (stamp, fine, bytearray(tail))

    def flush(self) -> Iterator[RawLine]:
        """What is left when the stream ends: lines that never got their newline."""
        for stream, (stamp, fine, text) in sorted(self._partial.items()):
            yield RawLine(stamp, fine, stream, text.decode("utf-8", "replace"))
        self._partial.clear()


class Stamper:
    """Strictly increasing stamps, reproducible from any whole second on."""

    def __init__(self) -> None:
        self.last = 0

    def stamp(self, line: RawLine) -> int:
        self.last = max(line.stamp_ns, self.last + 1)
        return self.last


@dataclass
class Window:
    """Which lines a query wants: ``[lo, hi)`` by the engine's stamp (run
    boundaries; a stamp without sub-second digits is compared by its whole
    second) and after ``after`` by ours (``since_ns - 1``, then the last line
    delivered)."""

    lo: int = 0
    hi: int = 0  # 0: no end
    after: int = 0  # our stamp of the last line already delivered

    def admits(self, line: RawLine, ts: int) -> bool:
        if ts <= self.after:
            return False
        lo, hi = self.lo, self.hi
        if not line.fine:
            lo, hi = floor_second(lo), floor_second(hi)
        return line.stamp_ns >= lo and (not self.hi or line.stamp_ns < hi)

    def since_param(self) -> int:
        """The engine's ``since`` (whole seconds) covering this window."""
        return max(self.lo, self.after) // SECOND


class Decoder:
    """One read of the engine's stream (it must start at ``Window.since_param``)."""

    def __init__(self, replica_id: str, window: Window, raw: bool = False) -> None:
        self.replica_id, self.window = replica_id, window
        self.frames, self.lines, self.stamper = FrameParser(raw), LineAssembler(), Stamper()

    def feed(self, data: bytes) -> list[LogEntry]:
        out: list[LogEntry] = []
        for stream, payload in self.frames.feed(data):
            out.extend(self._admit(self.lines.feed(stream, payload)))
        return out

    def finish(self) -> list[LogEntry]:
        return list(self._admit(self.lines.flush()))

    def _admit(self, lines: Iterator[RawLine]) -> Iterator[LogEntry]:
        w = self.window
        for line in lines:
            ts = self.stamper.stamp(line)
            if w.admits(line, ts):
                w.after = ts
                yield LogEntry(ts, self.replica_id, line.stream, line.text)
