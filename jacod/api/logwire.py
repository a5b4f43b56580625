"""Log records on the wire: ``Record`` tuples in, bounded ``LogBatch`` messages
out, and back. The only place log lines meet protobuf.

A batch is columns (a repeated field per part of a line), so building or
reading one is a few C-level copies, not a message per line. It carries what
was ready when it was sent, up to ``MAX_LINES`` lines or about ``MAX_BYTES``
(line lengths in characters plus a per-line allowance; a line is at most
64 KiB, so a message stays far below gRPC's 4 MiB limit). ``MAX_BYTES`` holds
a whole 64 KiB read of a replica's log (``runtime/logs.py``): one message per
read, not two.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate
from operator import itemgetter
from typing import overload

from jaco.v1 import entities_pb2 as pb
from jacod.api.logquery import Record

MAX_LINES = 1000
MAX_BYTES = 128 * 1024
_PER_LINE = 48  # timestamp, replica id, node, stream and framing, roughly
_text = itemgetter(4)


def encode(
    records: list[Record], *, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES
) -> Iterator[pb.LogBatch]:
    """``records`` in order, in as few bounded batches as they fit in (a line
    larger than ``max_bytes`` goes alone)."""
    # size[i]: what records[:i] weigh, so records[i:j] weigh size[j] - size[i]
    size = list(accumulate(map(_PER_LINE.__add__, map(len, map(_text, records))), initial=0))
    start, n = 0, len(records)
    while start < n:
        end = min(start + max_lines, bisect_right(size, size[start] + max_bytes) - 1)
        end = max(end, start + 1)
        ts_ns, replica_id, node, stream, line = zip(*records[start:end], strict=True)
        yield pb.LogBatch(ts_ns=ts_ns, replica_id=replica_id, node=node, stream=stream,
                          line=line)  # fmt: skip
        start = end


def decode(batch: pb.LogBatch) -> list[Record]:
    """A batch's lines; ValueError if its columns differ in length (a broken peer)."""
    return list(zip(batch.ts_ns, batch.replica_id, batch.node, batch.stream, batch.line,
                    strict=True))  # fmt: skip


class Received(Sequence[Record]):
    """A batch from another node as a run of the merge, decoded only where the
    merge cuts it (another node's lines in between, a tail): a batch that goes
    through whole is sent on as it came (``encode_runs``)."""

    __slots__ = ("batch", "_n")

    def __init__(self, batch: pb.LogBatch) -> None:
        n = len(batch.ts_ns)
        lengths = {len(batch.replica_id), len(batch.node), len(batch.stream), len(batch.line)}
        if lengths != {n}:
            raise ValueError("a log batch with columns of different lengths")
        self.batch, self._n = batch, n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> Record: ...
    @overload
    def __getitem__(self, i: slice) -> list[Record]: ...
    def __getitem__(self, i: int | slice) -> Record | list[Record]:
        b = self.batch
        if isinstance(i, slice):
            return list(zip(b.ts_ns[i], b.replica_id[i], b.node[i], b.stream[i], b.line[i],
                            strict=True))  # fmt: skip
        return (b.ts_ns[i], b.replica_id[i], b.node[i], b.stream[i], b.line[i])

    def __iter__(self) -> Iterator[Record]:
        return iter(self[:])


def encode_runs(runs: Iterable[Sequence[Record]]) -> Iterator[pb.LogBatch]:
    """Runs in order (``Merger.pop_runs``) as bounded batches; a whole
    ``Received`` batch goes as it came, without decoding and encoding it."""
    pending: list[Record] = []
    for run in runs:
        if isinstance(run, Received):
            if pending:
                yield from encode(pending)
                pending = []
            yield run.batch
        else:
            pending += run
    if pending:
        yield from encode(pending)
