"""The process runtime's lifecycle with real processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from jacod.runtime import (
    OPS,
    ContainerConflict,
    ContainerNotFound,
    InvalidSpec,
    ProcessRuntime,
    Runtime,
    StartFailed,
)

from .helpers import (
    RID,
    collect,
    proc_stat,
    running,
    session,
    sh,
    spec,
    until,
    until_logged,
)


def test_satisfies_the_protocol(rt: ProcessRuntime) -> None:
    assert isinstance(rt, Runtime)
    assert rt.name == "process"


async def test_start_logs_stop_remove(rt: ProcessRuntime, state_dir: Path) -> None:
    created = await rt.create(sh("echo hello; echo oops >&2; sleep 30"))
    assert (created.status, created.pid, created.revision) == ("created", None, 1)

    info = await rt.start(RID)
    assert info.status == "running" and running(info.pid)
    assert (info.deployment, info.service) == ("shop", "web")

    entries = await until_logged(rt, "oops")
    by_line = {e.line: e.stream for e in entries}
    assert by_line["hello"] == "stdout" and by_line["oops"] == "stderr"
    assert by_line[f"started pid {info.pid}"] == "system"
    stamps = [e.ts_ns for e in entries]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert abs(stamps[0] - time.time_ns()) < 10 * 10**9

    t0 = time.monotonic()
    stopped = await rt.stop(RID, grace_s=5)
    assert time.monotonic() - t0 < 2
    assert (stopped.status, stopped.exit_code, stopped.error) == ("exited", 143, "")
    assert stopped.finished_at_ns >= stopped.started_at_ns > 0
    assert not running(info.pid)

    await rt.remove(RID)
    assert await rt.inspect(RID) is None
    assert await rt.list() == []
    assert os.listdir(state_dir / "replicas") == []


async def test_stop_kills_after_grace_when_term_is_ignored(rt: ProcessRuntime) -> None:
    await rt.create(sh('trap "" TERM; echo ready; while :; do sleep 0.05; done'))
    info = await rt.start(RID)
    await until_logged(rt, "ready")
    t0 = time.monotonic()
    stopped = await rt.stop(RID, grace_s=0.5)
    elapsed = time.monotonic() - t0
    assert 0.5 <= elapsed < 2.5
    assert stopped.exit_code == 137
    assert not running(info.pid)
    assert "grace period expired; SIGKILL" in [e.line for e in await collect(rt)]


async def test_exit_code_and_wait(rt: ProcessRuntime) -> None:
    await rt.create(sh("exit 3"))
    await rt.start(RID)
    assert await rt.wait(RID) == 3
    info = await rt.inspect(RID)
    assert info is not None
    assert (info.status, info.exit_code, info.error) == ("exited", 3, "")
    assert (await collect(rt))[-1].line == "exited with code 3"


async def test_killed_by_signal_is_reported(rt: ProcessRuntime) -> None:
    await rt.create(sh("kill -9 $$"))
    await rt.start(RID)
    assert await rt.wait(RID) == 137
    info = await rt.inspect(RID)
    assert info is not None and info.error == "killed by SIGKILL"


async def test_nonexistent_command_is_a_clear_error(rt: ProcessRuntime) -> None:
    await rt.create(spec(["/usr/bin/nope", "--flag"]))
    with pytest.raises(StartFailed, match="command not found: /usr/bin/nope"):
        await rt.start(RID)
    info = await rt.inspect(RID)
    assert info is not None
    assert (info.status, info.exit_code) == ("exited", 127)
    assert info.error == "exec failed: command not found: /usr/bin/nope"
    assert [(e.stream, e.line) for e in await collect(rt)] == [("system", info.error)]

    await rt.create(spec(["true"], workdir="/does/not/exist"))
    with pytest.raises(StartFailed, match="workdir not found: /does/not/exist"):
        await rt.start(RID)


async def test_invalid_specs_are_refused(rt: ProcessRuntime) -> None:
    with pytest.raises(InvalidSpec, match="needs a non-empty command"):
        await rt.create(spec([]))
    with pytest.raises(InvalidSpec, match="needs a non-empty command"):
        await rt.create(spec([""]))


async def test_env_and_workdir(rt: ProcessRuntime, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JACOD_ONLY", "must-not-leak")
    workdir = tmp_path / "wd"
    workdir.mkdir()
    script = 'echo "foo=$FOO"; echo "leak=$JACOD_ONLY"; echo "lang=$LANG"; pwd; command -v sh'
    await rt.create(sh(script, env={"FOO": "bar baz"}, workdir=str(workdir)))
    await rt.start(RID)
    await rt.wait(RID)
    lines = [e.line for e in await collect(rt) if e.stream == "stdout"]
    assert lines[:4] == ["foo=bar baz", "leak=", "lang=C.UTF-8", str(workdir)]
    assert lines[4].endswith("/sh")

    await rt.create(sh("pwd", revision=2))  # no workdir: the replica's own directory
    await rt.start(RID)
    await rt.wait(RID)
    (pwd,) = [e.line for e in await collect(rt) if e.stream == "stdout"]
    assert pwd == str(rt.replicas / "shop~web~0")


async def test_start_is_idempotent_and_create_refuses_running(rt: ProcessRuntime) -> None:
    await rt.create(spec(["sleep", "30"]))
    first = await rt.start(RID)
    second = await rt.start(RID)
    assert first.pid == second.pid
    with pytest.raises(ContainerConflict, match="is running"):
        await rt.create(spec(["sleep", "30"], revision=2))
    await rt.remove(RID)  # force: no stop needed
    assert not running(first.pid)


async def test_leftover_children_die_with_the_main_process(rt: ProcessRuntime) -> None:
    await rt.create(sh("sleep 300 & echo $!"))
    await rt.start(RID)
    assert await rt.wait(RID) == 0
    (bg,) = [int(e.line) for e in await collect(rt) if e.stream == "stdout"]
    await until(lambda: not running(bg))


async def test_unknown_replica(rt: ProcessRuntime) -> None:
    assert await rt.inspect("a/b/0") is None
    for call in (rt.start("a/b/0"), rt.stop("a/b/0"), rt.remove("a/b/0"), rt.wait("a/b/0")):
        with pytest.raises(ContainerNotFound, match="replica a/b/0 not found"):
            await call
    with pytest.raises(ContainerNotFound):
        await collect(rt, "a/b/0")


async def test_every_operation_is_observed(make_runtime) -> None:
    seen: list[tuple[str, str]] = []

    class Recorder:
        def __init__(self, op: str, rid: str) -> None:
            seen.append((op, rid))

        def __enter__(self) -> None:
            return None

        def __exit__(self, *exc: object) -> None:
            return None

    rt = make_runtime(observe=Recorder)
    s = sh("echo hi")
    await rt.pull(s)
    await rt.create(s)
    await rt.start(RID)
    await rt.wait(RID)
    await rt.inspect(RID)
    await collect(rt)
    await rt.stop(RID)
    await rt.list()
    await rt.remove(RID)
    ops = [op for op, _ in seen]
    assert set(ops) == set(OPS)
    assert all(rid == RID for op, rid in seen if op != "container_list")


async def test_many_replicas_listed(rt: ProcessRuntime) -> None:
    ids = [f"shop/web/{i}" for i in range(3)] + ["shop/worker/0"]
    for rid in ids:
        await rt.create(spec(["sleep", "30"], rid))
        await rt.start(rid)
    infos = await rt.list()
    assert sorted(i.replica_id for i in infos) == sorted(ids)
    assert all(i.status == "running" for i in infos)
    pids = {i.pid for i in infos}
    assert len(pids) == 4
    for i in infos:
        fields = proc_stat(i.pid or 0)
        assert fields is not None
        pgid, sid = int(fields[2]), int(fields[3])
        assert pgid == i.pid != sid  # its own group, inside its supervisor's session
        assert i.pid in session(sid)
