"""Fixtures for runtime tests: real processes, all killed at teardown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jacod.runtime import LogEntry, ProcessRuntime

from .helpers import RID, kill_everything


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "state"
    yield d
    kill_everything(d)


@pytest.fixture
def make_runtime(state_dir: Path) -> Callable[..., ProcessRuntime]:
    def make(**kw: Any) -> ProcessRuntime:
        kw.setdefault("cgroup_parent", None)
        return ProcessRuntime(state_dir, **kw)

    return make


@pytest.fixture
def rt(make_runtime: Callable[..., ProcessRuntime]) -> ProcessRuntime:
    return make_runtime()


@pytest.fixture
async def follower() -> AsyncIterator[Callable[..., tuple[list[LogEntry], asyncio.Task[None]]]]:
    """Start ``rt.logs(..., follow=True)`` in a task collecting into a list."""
    tasks: list[asyncio.Task[None]] = []

    def start(
        rt: ProcessRuntime, replica_id: str = RID, **kw: Any
    ) -> tuple[list[LogEntry], asyncio.Task[None]]:
        got: list[LogEntry] = []

        async def run() -> None:
            async for e in rt.logs(replica_id, follow=True, **kw):
                got.append(e)

        task = asyncio.create_task(run())
        tasks.append(task)
        return got, task

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
