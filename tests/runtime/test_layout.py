"""Pure pieces: replica directory names and line splitting."""

from __future__ import annotations

import pytest

from jacod.runtime.layout import replica_key
from jacod.runtime.shim import MAX_LINE, _split


@pytest.mark.parametrize(
    ("replica_id", "key"),
    [
        ("shop/web/0", "shop~web~0"),
        ("a_b/c/0", "a_b~c~0"),
        ("a/b_c/0", "a~b_c~0"),
        ("we~ird/x y/é", "we%7Eird~x%20y~%C3%A9"),
        ("../../etc", "..~..~etc"),
    ],
)
def test_replica_key(replica_id: str, key: str) -> None:
    assert replica_key(replica_id) == key


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_replica_key_refuses_unsafe_ids(bad: str) -> None:
    with pytest.raises(ValueError):
        replica_key(bad)


def test_split_keeps_partial_lines_and_bounds_length() -> None:
    assert _split(b"a\nb\nc") == ([b"a", b"b"], b"c")
    assert _split(b"\n\n") == ([b"", b""], b"")
    lines, rest = _split(b"x" * (2 * MAX_LINE + 5) + b"\n" + b"y" * (MAX_LINE + 1))
    assert [len(line) for line in lines] == [MAX_LINE, MAX_LINE, 5, MAX_LINE]
    assert rest == b"y"
