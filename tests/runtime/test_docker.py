"""The docker runtime against a real engine: podman's Docker-compatible API
service (``tests/helpers/podman.py``, one per module) with a local busybox image.

Each test uses its own node name, so ``list()`` sees only that test's
containers; they are force-removed at teardown. The engine-down test stops
and restarts the module's service and runs last.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from jacod.runtime import (
    OPS,
    ContainerConflict,
    ContainerNotFound,
    InvalidSpec,
    LogEntry,
    ReplicaSpec,
    Runtime,
    RuntimeUnavailable,
    StartFailed,
)
from jacod.runtime.docker import DockerRuntime, ImagePullFailed
from jacod.runtime.docker_spec import container_name
from tests.helpers.podman import IMAGE, Podman, missing, running_podman

pytestmark = pytest.mark.timeout(60)
RID = "shop/web/0"
_nodes = itertools.count()


@pytest.fixture(scope="module")
def podman() -> Iterator[Podman]:
    if (why := missing()) is not None:
        pytest.fail(why, pytrace=False)  # CI installs podman (scripts/setup.sh): never a skip
    with running_podman() as pm:
        yield pm


@pytest.fixture
def node(podman: Podman) -> Iterator[str]:
    name = f"t{next(_nodes)}"
    yield name
    if podman.proc is not None and podman.proc.poll() is None:
        for c in podman.containers(f"label=jaco.node={name}"):
            podman.cli("rm", "--force", "--time", "0", c)


@pytest.fixture
async def make_rt(podman: Podman, node: str) -> AsyncIterator[Callable[..., DockerRuntime]]:
    made: list[DockerRuntime] = []

    def make(**kw: Any) -> DockerRuntime:
        kw.setdefault("node", node)
        kw.setdefault("follow_poll_s", 0.05)
        rt = DockerRuntime(podman.host, **kw)
        made.append(rt)
        return rt

    yield make
    for rt in made:
        await rt.aclose()


@pytest.fixture
def rt(make_rt: Callable[..., DockerRuntime]) -> DockerRuntime:
    return make_rt()


def sh(script: str, replica_id: str = RID, **kw: Any) -> ReplicaSpec:
    deployment, service, _ = replica_id.split("/")
    return ReplicaSpec(
        replica_id=replica_id, deployment=deployment, service=service,
        revision=kw.pop("revision", 1), image=kw.pop("image", IMAGE),
        command=["sh", "-c", script], **kw,
    )  # fmt: skip


async def collect(rt: DockerRuntime, replica_id: str = RID, **kw: Any) -> list[LogEntry]:
    return [e async for e in rt.logs(replica_id, **kw)]


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not (await predicate() if asyncio.iscoroutinefunction(predicate) else predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not in {timeout}s: {what}")
        await asyncio.sleep(0.05)


async def until_logged(rt: DockerRuntime, text: str, **kw: Any) -> list[LogEntry]:
    deadline = time.monotonic() + 10
    while True:
        entries = await collect(rt, **kw)
        if any(e.line == text for e in entries):
            return entries
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not logged; got {[e.line for e in entries]}")
        await asyncio.sleep(0.05)


def inspect_cli(podman: Podman, name: str) -> dict[str, Any]:
    r = podman.cli("inspect", name)
    assert r.returncode == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout)[0]
    return data


# -- lifecycle ------------------------------------------------------------------------


def test_satisfies_the_protocol(rt: DockerRuntime) -> None:
    assert isinstance(rt, Runtime) and rt.name == "docker"


async def test_apply_run_logs_stop_remove(rt: DockerRuntime, podman: Podman, node: str) -> None:
    spec = sh("echo hello; echo oops >&2; echo $GREETING; sleep 30",
              env={"GREETING": "hi there"}, memory_bytes=64 << 20, cpu=0.5)  # fmt: skip
    await rt.pull(spec)
    created = await rt.create(spec)
    assert (created.status, created.pid, created.revision) == ("created", None, 1)

    name = container_name(node, RID)
    cfg = inspect_cli(podman, name)
    assert cfg["Config"]["Labels"].items() >= {
        "jaco.managed": "true", "jaco.node": node, "jaco.deployment": "shop",
        "jaco.service": "web", "jaco.replica_id": RID, "jaco.revision": "1",
    }.items()  # fmt: skip
    assert cfg["HostConfig"]["RestartPolicy"]["Name"] in ("no", "")
    assert cfg["HostConfig"]["Memory"] == 64 << 20 and cfg["HostConfig"]["NanoCpus"] == 5 * 10**8

    info = await rt.start(RID)
    assert info.status == "running" and info.pid and info.started_at_ns > 0
    assert abs(info.started_at_ns - time.time_ns()) < 10 * 10**9
    assert (await rt.start(RID)).pid == info.pid  # never twice

    entries = await until_logged(rt, "hi there")
    assert {e.line: e.stream for e in entries} == {
        "hello": "stdout", "oops": "stderr", "hi there": "stdout",
    }  # fmt: skip
    stamps = [e.ts_ns for e in entries]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # (stdout and stderr are read apart by the engine: their order may vary)
    assert await collect(rt, tail=1) == entries[-1:]
    assert await collect(rt, since_ns=stamps[-1] + 1) == []
    assert await collect(rt, since_ns=stamps[1]) == entries[1:]

    assert [i.replica_id for i in await rt.list()] == [RID]
    t0 = time.monotonic()
    stopped = await rt.stop(RID, grace_s=1)  # sh as pid 1 ignores SIGTERM: killed after 1 s
    assert time.monotonic() - t0 < 5
    assert (stopped.status, stopped.exit_code) == ("exited", 137)
    assert stopped.finished_at_ns >= stopped.started_at_ns > 0

    await rt.remove(RID)
    assert await rt.inspect(RID) is None
    assert await rt.list() == []
    assert podman.containers(f"label=jaco.node={node}") == []
    with pytest.raises(ContainerNotFound):
        await rt.remove(RID)


async def test_exit_code_wait_and_graceful_stop(rt: DockerRuntime) -> None:
    await rt.create(sh("echo bye; exit 3"))
    await rt.start(RID)
    assert await rt.wait(RID) == 3
    info = await rt.inspect(RID)
    assert info is not None and (info.status, info.exit_code, info.pid) == ("exited", 3, None)

    await rt.create(sh("trap 'echo term; exit 0' TERM; echo ready; while :; do sleep 0.1; done"))
    await rt.start(RID)
    await until_logged(rt, "ready")
    stopped = await rt.stop(RID, grace_s=5)
    assert stopped.exit_code == 0
    assert "term" in [e.line for e in await collect(rt)]


async def test_failed_start_reports_an_exit_with_the_reason(rt: DockerRuntime) -> None:
    spec = ReplicaSpec(replica_id=RID, deployment="shop", service="web", revision=1,
                       image=IMAGE, command=["/no/such/binary"])  # fmt: skip
    await rt.create(spec)
    with pytest.raises(StartFailed, match="no/such/binary"):
        await rt.start(RID)
    info = await rt.inspect(RID)
    assert info is not None and (info.status, info.exit_code) == ("exited", 127)
    assert info.error.startswith("exec failed:")


async def test_recreate_needs_a_stopped_container(rt: DockerRuntime) -> None:
    await rt.create(sh("sleep 30"))
    first = await rt.start(RID)
    with pytest.raises(ContainerConflict, match="running"):
        await rt.create(sh("sleep 30", revision=2))
    await rt.stop(RID, grace_s=0)
    again = await rt.create(sh("echo two; sleep 30", revision=2))
    assert (again.status, again.revision) == ("created", 2)
    second = await rt.start(RID)
    assert second.pid != first.pid and second.revision == 2


async def test_images_and_invalid_specs(make_rt: Callable[..., DockerRuntime]) -> None:
    rt = make_rt()
    with pytest.raises(InvalidSpec, match="needs an image"):
        await rt.pull(sh("true", image=""))
    with pytest.raises(ImagePullFailed, match="cannot pull image"):
        await rt.pull(sh("true", image="docker.io/library/nonexistent-jaco:1"))
    with pytest.raises(ImagePullFailed, match="not on this node"):
        await rt.create(sh("true", image="docker.io/library/nonexistent-jaco:1"))
    never = make_rt(pull_policy="never")
    await never.pull(sh("true"))
    with pytest.raises(ImagePullFailed, match="pull policy is never"):
        await never.pull(sh("true", image="nonexistent-jaco:1"))


async def test_failed_pull_of_a_local_image_does_not_fail(
    make_rt: Callable[..., DockerRuntime],
) -> None:
    # The image cannot be pulled (no registry): the local copy is used.
    rt = make_rt(pull_policy="always")
    await rt.pull(sh("echo local"))
    await rt.create(sh("echo local"))
    assert (await rt.start(RID)).status in ("running", "exited")


# -- logs ------------------------------------------------------------------------------------


async def test_follow_continues_across_restarts_and_ends_on_remove(rt: DockerRuntime) -> None:
    await rt.create(sh('echo "run at $(date +%s%N)"; echo second >&2; sleep 0.3; exit 1'))
    await rt.start(RID)
    got: list[LogEntry] = []

    async def follow() -> None:
        async for e in rt.logs(RID, follow=True):
            got.append(e)

    task = asyncio.create_task(follow())
    await until(lambda: len(got) >= 2, what="first run's lines")
    assert await rt.wait(RID) == 1
    await asyncio.sleep(1.1)  # the agent's backoff: runs are at least a second apart
    await rt.start(RID)
    await until(lambda: len(got) >= 4, what="second run's lines")
    assert sorted(e.line.split(" at ")[0] for e in got[:2]) == ["run", "second"]
    assert sorted(e.line.split(" at ")[0] for e in got[2:]) == ["run", "second"]
    stamps = [e.ts_ns for e in got]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)

    # Without follow: this run only; previous: the earlier one.
    assert await rt.wait(RID) == 1
    current = await collect(rt)
    assert [e.line for e in current] == [e.line for e in got[2:]]
    assert [e.line for e in await collect(rt, previous=True)] == [e.line for e in got[:2]]

    await rt.remove(RID)
    await asyncio.wait_for(task, 5)  # ends on removal
    assert len(got) == 4


async def test_follow_with_tail_and_since(rt: DockerRuntime) -> None:
    await rt.create(sh("for i in 1 2 3 4 5; do echo l$i; done; sleep 0.5; echo l6; sleep 30"))
    await rt.start(RID)
    first = await until_logged(rt, "l5")
    got: list[str] = []

    async def follow() -> None:
        async for e in rt.logs(RID, follow=True, tail=2):
            got.append(e.line)

    task = asyncio.create_task(follow())
    await until(lambda: "l6" in got, what="l6 after the tail")
    assert got == ["l4", "l5", "l6"]
    task.cancel()
    resumed = await take(rt.logs(RID, follow=True, since_ns=first[2].ts_ns + 1), 3)
    assert [e.line for e in resumed] == ["l4", "l5", "l6"]


async def take(it: AsyncIterator[LogEntry], n: int) -> list[LogEntry]:
    out: list[LogEntry] = []
    async with contextlib.aclosing(it) as entries:  # type: ignore[type-var]
        async for e in entries:
            out.append(e)
            if len(out) >= n:
                break
    return out


async def test_logs_of_unknown_replicas(rt: DockerRuntime) -> None:
    with pytest.raises(ContainerNotFound):
        await collect(rt, "nope/x/0")
    await rt.create(sh("echo never"))
    assert await collect(rt) == [] and await collect(rt, previous=True) == []


# -- re-adoption and orphans --------------------------------------------------------------------


async def test_a_new_runtime_adopts_running_replicas(
    make_rt: Callable[..., DockerRuntime], podman: Podman, node: str
) -> None:
    first = make_rt()
    for i in range(2):
        await first.create(sh("echo up; sleep 30", f"shop/web/{i}", revision=4))
        await first.start(f"shop/web/{i}")
    await first.create(sh("sleep 30", "shop/worker/0"))
    await first.aclose()

    second = make_rt()
    found = {i.replica_id: i for i in await second.list()}
    assert sorted(found) == ["shop/web/0", "shop/web/1", "shop/worker/0"]
    assert {found[r].status for r in ("shop/web/0", "shop/web/1")} == {"running"}
    assert found["shop/web/0"].revision == 4 and found["shop/worker/0"].status == "created"
    assert (await second.start("shop/web/0")).pid == found["shop/web/0"].pid  # never twice
    assert "up" in [e.line for e in await collect(second)]
    # Another node sharing the engine sees none of them.
    assert await make_rt(node=node + "-other").list() == []

    # A JACO container of this node under a name no replica has: an orphan.
    r = podman.cli("create", "--name", f"{node}-stray", "--label", "jaco.managed=true",
                   "--label", f"jaco.node={node}", "--label", "jaco.replica_id=shop/web/0",
                   IMAGE, "true")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert sorted(i.replica_id for i in await second.list()) == sorted(found)
    assert await second.orphans() == [f"{node}-stray"]
    keep = ["shop/web/0", "shop/web/1"]
    stray = sorted([f"{node}-stray", container_name(node, "shop/worker/0")])
    assert await second.orphans(keep) == stray
    assert await second.remove_orphans(keep) == stray
    assert await second.orphans(keep) == []
    assert sorted(i.replica_id for i in await second.list()) == keep


def test_every_op_is_observed(podman: Podman, node: str) -> None:
    seen: list[tuple[str, str]] = []

    class Obs:
        def __init__(self, op: str, rid: str) -> None:
            seen.append((op, rid))

        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    async def run() -> None:
        rt = DockerRuntime(podman.host, node=node, observe=Obs)
        try:
            await rt.pull(sh("echo x"))
            await rt.create(sh("echo x"))
            await rt.start(RID)
            await rt.wait(RID)
            await rt.inspect(RID)
            await rt.list()
            await collect(rt)  # type: ignore[arg-type]
            await rt.stop(RID, 0)
            await rt.remove(RID)
        finally:
            await rt.aclose()

    asyncio.run(run())
    assert {op for op, _ in seen} == set(OPS)
    assert all(rid in (RID, "") for _, rid in seen)


# -- the engine goes away and comes back (last: restarts the module's service) -----------


async def test_engine_down_is_unavailable_with_a_reason_then_recovers(
    make_rt: Callable[..., DockerRuntime], podman: Podman,
) -> None:  # fmt: skip
    rt = make_rt()
    await rt.create(sh("trap 'exit 0' TERM; echo alive; while :; do echo tick; sleep 0.1; done"))
    running = await rt.start(RID)
    before: list[LogEntry] = []  # a follow opened before the outage
    during: list[LogEntry] = []  # one opened during it

    async def follow(into: list[LogEntry]) -> None:
        async for e in rt.logs(RID, follow=True):
            into.append(e)

    tasks = [asyncio.create_task(follow(before))]
    await until(lambda: len(before) >= 3, what="lines before the outage")
    podman.stop_service()
    try:
        for op in (rt.list(), rt.inspect(RID), rt.start(RID), rt.pull(sh("true")),
                   rt.stop(RID, 1), collect(rt)):  # fmt: skip
            with pytest.raises(RuntimeUnavailable) as err:
                await op
            assert str(err.value).startswith(f"docker engine at {podman.host} is unreachable: ")
        assert "is the engine running?" in str(err.value)
        tasks.append(asyncio.create_task(follow(during)))
        seen = len(before)
        await asyncio.sleep(0.3)
    finally:
        podman.start_service()
    # Back: the container kept running and is found as it was; both follows go on.
    (info,) = await rt.list()
    assert (info.status, info.pid) == ("running", running.pid)
    assert "alive" in [e.line for e in await collect(rt)]
    await until(lambda: len(before) >= seen + 3 and len(during) >= 3, what="follows resumed")
    for got in (before, during):
        stamps = [e.ts_ns for e in got]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    for task in tasks:
        task.cancel()
    fresh = make_rt()
    assert [i.replica_id for i in await fresh.list()] == [RID]
