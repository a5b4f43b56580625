"""Fixtures shared by every test package (and future e2e tests).

- ``shared_jacod`` (session): one `jacod --dev` for tests that only read from it.
- ``jacod_factory``: daemons of a test's own, all stopped at teardown.
- ``tmpdir_short``: a /tmp directory short enough for unix socket paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import Jacod, free_port, remove_tree, short_tmpdir


@pytest.fixture(scope="session")
def shared_jacod() -> Iterator[Jacod]:
    """A read-only daemon for the whole session, in text mode (no INVOCATION_ID).

    Its data dir is ``$XDG_STATE_HOME/jaco`` of ``shared_jacod.state_home``, so
    `jaco` with that XDG_STATE_HOME and no --server finds it as the local socket.
    It also listens on TCP (``shared_jacod.listen``)."""
    # Not pytest's tmp_path_factory: unix socket paths must stay under 108 bytes.
    base = short_tmpdir("jt-shared-")
    state_home = base / "state"
    daemon = Jacod(
        base,
        state_home=state_home,
        data_dir=state_home / "jaco",
        node_name="shared-node",
        listen=f"127.0.0.1:{free_port()}",
    )
    try:
        daemon.start().wait_ready()
        yield daemon
        rc = daemon.stop()
        assert rc == 0, f"shared jacod exited {rc}; stderr:\n{daemon.stderr()}"
    finally:
        daemon.kill()
        remove_tree(base)


@pytest.fixture
def tmpdir_short() -> Iterator[Path]:
    path = short_tmpdir()
    yield path
    remove_tree(path)


@pytest.fixture
def jacod_factory(tmpdir_short: Path) -> Iterator[Callable[..., Jacod]]:
    """``jacod_factory(name="a", wait=True, **Jacod kwargs)`` starts a daemon
    under the test's own temp dir; every one is stopped (or killed) at teardown."""
    started: list[Jacod] = []

    def start(name: str = "jacod", wait: bool = True, **kwargs: object) -> Jacod:
        daemon = Jacod(tmpdir_short / name, name=name, **kwargs)  # type: ignore[arg-type]
        started.append(daemon)
        daemon.start()
        return daemon.wait_ready() if wait else daemon

    yield start
    for daemon in started:
        daemon.kill()
