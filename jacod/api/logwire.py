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
from collections.abc import Iterator
from itertools import accumulate
from operator import itemgetter

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
