"""Versioned snapshot format of the whole state (raft snapshots and backups).

`{"version": N, "state": {...}}` in msgpack, encoded by msgspec with sorted
map keys so equal states give equal bytes on every node. Not pickle: a
snapshot can be read without trusting whoever wrote it.

Changing the shape of the state in an incompatible way means bumping
`SNAPSHOT_VERSION` and teaching `load_state` to read the previous version.
"""

from __future__ import annotations

import msgspec

from .model import State

SNAPSHOT_VERSION = 1


class _Header(msgspec.Struct):
    version: int


class _Snapshot(msgspec.Struct):
    version: int
    state: State


_encoder = msgspec.msgpack.Encoder(order="deterministic")
_header_decoder = msgspec.msgpack.Decoder(_Header)
_decoder = msgspec.msgpack.Decoder(_Snapshot)


def dump_state(state: State) -> bytes:
    """The state as deterministic bytes: equal states give equal bytes."""
    return _encoder.encode(_Snapshot(version=SNAPSHOT_VERSION, state=state))


def load_state(data: bytes) -> State:
    """Read a snapshot written by `dump_state`.

    Raises ValueError for an unknown version or a malformed snapshot.
    """
    try:
        header = _header_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError(f"not a JACO state snapshot: {exc}") from exc
    if header.version != SNAPSHOT_VERSION:
        raise ValueError(
            f"unsupported state snapshot version {header.version} "
            f"(this jacod reads version {SNAPSHOT_VERSION})"
        )
    try:
        return _decoder.decode(data).state
    except msgspec.DecodeError as exc:
        raise ValueError(f"corrupt state snapshot (version {header.version}): {exc}") from exc
