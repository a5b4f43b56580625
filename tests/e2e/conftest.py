"""Private mount namespaces for the log-mode tests: one with a real
systemd-journald, one with no journal socket at all (whatever the host has)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import JournalNamespace, remove_tree, short_tmpdir


def _namespace(journald: bool) -> Iterator[JournalNamespace]:
    root = short_tmpdir("jt-ns-")
    ns = JournalNamespace(root, journald=journald)
    try:
        ns.start()
    except RuntimeError as exc:
        remove_tree(root)
        # CI runs as root: this must work there, so never a skip.
        pytest.fail(str(exc), pytrace=False)
    try:
        yield ns
    finally:
        ns.stop()
        remove_tree(root)


@pytest.fixture(scope="session")
def journal_ns() -> Iterator[JournalNamespace]:
    """/run/systemd/journal/socket served by a private systemd-journald."""
    yield from _namespace(journald=True)


@pytest.fixture(scope="session")
def bare_ns() -> Iterator[JournalNamespace]:
    """An empty /run/systemd: no journal socket."""
    yield from _namespace(journald=False)
