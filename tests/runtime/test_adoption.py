"""Replicas outlive the runtime object and the process that started them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from jacod.runtime import ProcessRuntime

from .helpers import RID, running, session, shims_for, spec, until

OWNER = """
import asyncio, sys, time
from pathlib import Path
from jacod.runtime import ProcessRuntime, ReplicaSpec

async def main():
    rt = ProcessRuntime(Path(sys.argv[1]), cgroup_parent=None)
    await rt.create(ReplicaSpec(replica_id="shop/web/0", deployment="shop", service="web",
                                revision=1, command=["sleep", "30"]))
    info = await rt.start("shop/web/0")
    print(info.pid, flush=True)

asyncio.run(main())
if sys.argv[2] == "linger":
    time.sleep(60)
"""


def shim_pid(rt: ProcessRuntime) -> int:
    state = json.loads((rt.replicas / "shop~web~0" / "state.json").read_bytes())
    return int(state["shim_pid"])


async def test_fresh_runtime_readopts_without_duplicates(make_runtime) -> None:
    first = make_runtime()
    await first.create(spec(["sleep", "30"]))
    info = await first.start(RID)
    del first

    rt = make_runtime()
    (again,) = await rt.list()
    assert (again.status, again.pid) == ("running", info.pid)
    assert again.started_at_ns == info.started_at_ns
    assert (await rt.start(RID)).pid == info.pid  # never started twice
    shim = shim_pid(rt)
    assert shims_for(rt.replicas / "shop~web~0") == [shim]
    assert sorted(session(shim)) == sorted([shim, info.pid])

    stopped = await rt.stop(RID, grace_s=2)
    assert stopped.exit_code == 143 and not running(info.pid)


@pytest.mark.parametrize("owner_fate", ["exits", "kill -9"])
async def test_replica_outlives_its_owner(make_runtime, state_dir: Path, owner_fate: str) -> None:
    owner = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        OWNER,
        str(state_dir),
        "linger" if owner_fate == "kill -9" else "",
        stdout=asyncio.subprocess.PIPE,
    )
    assert owner.stdout is not None
    pid = int(await asyncio.wait_for(owner.stdout.readline(), 10))
    if owner_fate == "kill -9":
        owner.send_signal(signal.SIGKILL)
    await owner.wait()
    await asyncio.sleep(0.1)

    assert running(pid)
    rt = make_runtime()
    (info,) = await rt.list()
    assert (info.status, info.pid) == ("running", pid)
    assert len(shims_for(rt.replicas / "shop~web~0")) == 1


async def test_vanished_supervisor_is_reported_and_cleaned_up(rt: ProcessRuntime) -> None:
    await rt.create(spec(["sleep", "30"]))
    info = await rt.start(RID)
    os.kill(shim_pid(rt), signal.SIGKILL)

    async def exited() -> bool:
        now = await rt.inspect(RID)
        return now is not None and now.status == "exited"

    for _ in range(100):
        if await exited():
            break
        await asyncio.sleep(0.02)
    now = await rt.inspect(RID)
    assert now is not None
    assert (now.status, now.exit_code, now.error) == ("exited", None, "supervisor vanished")
    assert await rt.wait(RID) == -1
    assert running(info.pid)  # the orphan is still there ...

    again = await rt.start(RID)  # ... until the replica runs again
    await until(lambda: not running(info.pid))
    assert again.status == "running" and again.pid != info.pid
