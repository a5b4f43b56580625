"""cgroup v2 placement where the machine allows it; never a failed start."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jacod.runtime import ProcessRuntime

from .helpers import RID, kill_everything, shims_for, spec


def v2_root() -> Path | None:
    for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        if (root / "cgroup.controllers").is_file() and os.access(root, os.W_OK):
            return root
    return None


@pytest.fixture
def cgroup_parent(state_dir: Path) -> Iterator[tuple[Path, str]]:
    root = v2_root()
    if root is None:
        pytest.skip("no writable cgroup v2 hierarchy")
    parent = f"jaco-test-{uuid.uuid4().hex[:8]}.slice"
    yield root, parent
    kill_everything(state_dir)
    for _ in range(100):  # cgroups empty shortly after their processes were killed
        try:
            for d in [*(root / parent).glob("*/"), root / parent]:
                if d.is_dir():
                    d.rmdir()
            return
        except OSError:
            time.sleep(0.02)


async def test_replica_placed_in_its_cgroup(make_runtime, cgroup_parent) -> None:
    root, parent = cgroup_parent
    rt: ProcessRuntime = make_runtime(cgroup_root=root, cgroup_parent=parent)
    await rt.create(spec(["sleep", "30"], cpu=0.5, memory_bytes=64 * 2**20))
    info = await rt.start(RID)
    cgroup = root / parent / "shop~web~0"
    with open(f"/proc/{info.pid}/cgroup") as f:
        (v2,) = [line.strip() for line in f if line.startswith("0::")]
    assert v2 == f"0::/{parent}/shop~web~0"
    (shim,) = shims_for(rt.replicas / "shop~web~0")
    with open(f"/proc/{shim}/cgroup") as f:
        assert f"0::/{parent}/@supervisors\n" in f.read().splitlines(keepends=True)
    if (cgroup / "memory.max").exists():  # only where the memory controller is delegated
        assert (cgroup / "memory.max").read_text().strip() == str(64 * 2**20)
    if (cgroup / "cpu.max").exists():
        assert (cgroup / "cpu.max").read_text().split() == ["50000", "100000"]
    await rt.remove(RID)
    assert not cgroup.exists()


async def test_no_cgroups_is_not_an_error(make_runtime, tmp_path: Path) -> None:
    rt: ProcessRuntime = make_runtime(cgroup_root=tmp_path / "nocgroup", cgroup_parent="jaco.slice")
    await rt.create(spec(["true"], memory_bytes=2**20))
    await rt.start(RID)
    assert await rt.wait(RID) == 0
