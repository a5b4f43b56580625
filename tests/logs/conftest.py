from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jacod.runtime import ProcessRuntime
from tests.runtime.helpers import kill_everything

from .harness import Harness, start_cluster


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    cluster = await start_cluster(tmp_path)
    runtime = ProcessRuntime(tmp_path / "rt", cgroup_parent=None, follow_poll_s=0.02)
    try:
        yield Harness(cluster, runtime)
    finally:
        kill_everything(tmp_path / "rt")
        await cluster.stop()
