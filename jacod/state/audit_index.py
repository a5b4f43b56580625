"""Secondary indexes of the audit log: positions by type, identity and deployment.

The log itself is the primary index (sorted by id and ts_ns, see
`audit.append_event`), so `since`/`until`/`after_id` narrow it to a window by
bisection. Within a dense window a type filter still had to look at every
event; these indexes list, for each type / identity / deployment, the
positions in `state.audit` of its events in ascending order, so a query walks
only the events of its most selective filter.

Derived data, never stored: not in snapshots, backups or the raft log. The
index lives in the `State` instance's `__dict__` (msgspec `dict=True`, which
holds undeclared attributes and never encodes them). A state decoded from a
snapshot, restored from a backup or copied starts without one; the first query
builds it from the log, and later queries extend it over the events appended
since. Mutation happens under the same lock as every other read of the state
(`Cluster.read`), so it never races an apply.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Hashable, Iterator, Sequence
from heapq import merge
from typing import Final, TypeVar

from .enums import AuditType
from .model import AuditEvent, State

_ATTR: Final = "_audit_index"
# 4-byte unsigned positions: 4 billion events would need hundreds of GB of
# AuditEvent objects first, so 12 bytes an event covers the three indexes.
_TYPECODE: Final = "I"
_CHUNK: Final = 1024

Positions = array  # array[int] of ascending positions in state.audit
K = TypeVar("K", bound=Hashable)


class AuditIndex:
    """Positions of the first `size` events of `log`, grouped three ways."""

    __slots__ = ("by_deployment", "by_identity", "by_type", "last", "log", "size")

    def __init__(self, log: list[AuditEvent]) -> None:
        self.log = log
        self.size = 0
        self.last: AuditEvent | None = None  # log[size - 1] when indexed
        self.by_type: dict[AuditType, Positions] = {}
        self.by_identity: dict[str, Positions] = {}
        self.by_deployment: dict[str, Positions] = {}

    def describes(self, log: list[AuditEvent]) -> bool:
        """True if `log` is the list indexed and still begins with what was indexed.

        The log is append-only, so an unchanged last indexed event means an
        unchanged prefix; a replaced list (snapshot load, restore) fails `is`.
        """
        if self.log is not log or len(log) < self.size:
            return False
        return self.size == 0 or log[self.size - 1] is self.last

    def catch_up(self) -> None:
        """Index the events appended since the last call."""
        log, start = self.log, self.size
        if start == len(log):
            return
        by_type, by_identity, by_deployment = self.by_type, self.by_identity, self.by_deployment
        for pos in range(start, len(log)):
            event = log[pos]
            _positions(by_type, event.type).append(pos)
            _positions(by_identity, event.identity).append(pos)
            _positions(by_deployment, event.deployment).append(pos)
        self.size = len(log)
        self.last = log[-1]

    def nbytes(self) -> int:
        """Bytes held by the position arrays (their payload, not object headers)."""
        groups = (self.by_type, self.by_identity, self.by_deployment)
        return sum(a.buffer_info()[1] * a.itemsize for g in groups for a in g.values())


def _positions(group: dict[K, Positions], key: K) -> Positions:
    positions = group.get(key)
    if positions is None:
        positions = group[key] = array(_TYPECODE)
    return positions


def audit_index(state: State) -> AuditIndex:
    """The index of `state.audit`, built or extended so it covers the whole log."""
    attrs = vars(state)
    index: AuditIndex | None = attrs.get(_ATTR)
    if index is None or not index.describes(state.audit):
        index = attrs[_ATTR] = AuditIndex(state.audit)
    index.catch_up()
    return index


class Candidates:
    """The positions in [start, end) of one or more position arrays, in order."""

    __slots__ = ("count", "ranges")

    def __init__(self, arrays: Sequence[Positions], start: int, end: int) -> None:
        ranges = ((a, bisect(a, start), bisect(a, end)) for a in arrays)
        self.ranges = [r for r in ranges if r[1] < r[2]]
        self.count = sum(hi - lo for _, lo, hi in self.ranges)

    def first(self, n: int) -> Sequence[int]:
        """The first `n` positions, when they come from a single array."""
        (positions, lo, hi), *rest = self.ranges
        assert not rest, "first() is for a single array"
        return positions[lo : min(hi, lo + n)]

    def __iter__(self) -> Iterator[int]:
        if len(self.ranges) == 1:
            return _walk(*self.ranges[0])
        # Every event has exactly one type, so the arrays are disjoint.
        return merge(*(_walk(*r) for r in self.ranges))


def _walk(positions: Positions, lo: int, hi: int) -> Iterator[int]:
    # In chunks: a query usually stops at its limit long before `hi`.
    while lo < hi:
        step = min(hi, lo + _CHUNK)
        yield from positions[lo:step]
        lo = step


def bisect(positions: Positions, value: int) -> int:
    """Index of the first position >= value (arrays support `bisect`)."""
    return bisect_left(positions, value)
