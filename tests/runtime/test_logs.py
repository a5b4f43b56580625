"""Log capture and reading: follow, rotation, tail, since, previous runs."""

from __future__ import annotations

import asyncio
import sys
import time

from jacod.runtime import ProcessRuntime

from .helpers import RID, collect, sh, spec, until

PACED = "import time\nfor i in range({n}):\n    print(i, flush=True)\n    time.sleep({pause})\n"


def stdout(entries) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.line for e in entries if e.stream == "stdout"]


async def test_follow_gets_lines_written_after_it_started(rt: ProcessRuntime, follower) -> None:
    await rt.create(sh("echo first; sleep 0.3; echo second; sleep 30"))
    got, task = follower(rt)
    await asyncio.sleep(0.15)  # following before the replica even starts
    await rt.start(RID)
    await until(lambda: "second" in stdout(got))
    assert stdout(got) == ["first", "second"]
    assert not task.done()


async def test_follow_survives_rotation(make_runtime, follower) -> None:
    rt = make_runtime(log_max_bytes=4096, log_files=3, follow_poll_s=0.02)
    n = 1500
    await rt.create(spec([sys.executable, "-c", PACED.format(n=n, pause=0.0005)]))
    got, _ = follower(rt)
    await rt.start(RID)
    await until(lambda: str(n - 1) in stdout(got), timeout=15)
    assert stdout(got) == [str(i) for i in range(n)]  # nothing lost, nothing twice
    d = rt.replicas / "shop~web~0"
    logs = sorted(p.name for p in d.glob("current.log*"))
    assert logs == ["current.log", "current.log.1", "current.log.2"]
    assert all(p.stat().st_size <= 4096 for p in d.glob("current.log*"))


async def test_follow_keeps_up_with_a_burst(rt: ProcessRuntime, follower) -> None:
    # Every line of a fast burst, in order (its speed is bench/workloads.py's business).
    n = 100_000
    await rt.create(spec(["seq", "1", str(n)]))
    got, _ = follower(rt)
    await rt.start(RID)
    await until(lambda: len(got) >= n + 2, timeout=60)  # + started / exited
    assert stdout(got) == [str(i) for i in range(1, n + 1)]


async def test_tail_and_since(make_runtime) -> None:
    rt = make_runtime(log_max_bytes=2048)  # tail and since cross rotated files
    await rt.create(sh("seq 1 200"))
    await rt.start(RID)
    await rt.wait(RID)
    assert [e.line for e in await collect(rt, tail=3)] == ["199", "200", "exited with code 0"]
    assert stdout(await collect(rt, tail=60)) == [str(i) for i in range(142, 201)]

    everything = await collect(rt)
    kept = [str(i) for i in range(200 - len(stdout(everything)) + 1, 201)]
    assert stdout(everything) == kept  # older files rotated away; the rest in order
    cut = next(e for e in everything if e.line == "170")
    assert stdout(await collect(rt, since_ns=cut.ts_ns)) == [str(i) for i in range(170, 201)]
    last = await collect(rt, since_ns=cut.ts_ns, tail=5)
    assert stdout(last) == [str(i) for i in range(197, 201)]
    assert await collect(rt, since_ns=time.time_ns()) == []


async def test_previous_run_and_follow_across_restarts(rt: ProcessRuntime, follower) -> None:
    await rt.create(sh("echo one"))
    got, task = follower(rt)
    await rt.start(RID)
    await rt.wait(RID)
    assert await collect(rt, previous=True) == []
    await until(lambda: stdout(got) == ["one"])

    await rt.create(sh("echo two", revision=2))  # new revision, same replica
    info = await rt.inspect(RID)
    assert info is not None and (info.status, info.revision) == ("created", 2)
    await rt.start(RID)
    await rt.wait(RID)
    previous, current = await collect(rt, previous=True), await collect(rt)
    assert (stdout(previous), stdout(current)) == (["one"], ["two"])
    assert current[0].ts_ns > previous[-1].ts_ns  # one timeline across runs
    await until(lambda: stdout(got) == ["one", "two"])

    await rt.start(RID)  # a restart without a new spec keeps the same rule
    await rt.wait(RID)
    assert stdout(await collect(rt, previous=True)) == ["two"]

    await until(lambda: stdout(got) == ["one", "two", "two"], timeout=1)
    assert not task.done()
    await rt.remove(RID)
    await asyncio.wait_for(task, 2)  # removal ends a follow


async def test_tail_then_follow(rt: ProcessRuntime, follower) -> None:
    await rt.create(sh("seq 1 5; sleep 0.3; echo later; sleep 30"))
    await rt.start(RID)
    await until(lambda: (rt.replicas / "shop~web~0" / "current.log").stat().st_size > 60)
    await asyncio.sleep(0.05)
    got, _ = follower(rt, tail=2)
    await until(lambda: "later" in stdout(got))
    assert stdout(got) == ["4", "5", "later"]


async def test_long_and_binary_lines(rt: ProcessRuntime) -> None:
    code = "import sys; sys.stdout.buffer.write(b'x' * 200000 + b'\\n\\xffok \\r\\n' + b'end')"
    await rt.create(spec([sys.executable, "-c", code]))
    await rt.start(RID)
    await rt.wait(RID)
    lines = stdout(await collect(rt))
    assert [len(line) for line in lines[:4]] == [65536, 65536, 65536, 200000 - 3 * 65536]
    assert lines[4:] == ["\ufffdok \r", "end"]


async def test_log_batches_are_the_chunks_read(rt: ProcessRuntime) -> None:
    # ~1.2 MB of lines of 3-byte characters: chunk boundaries fall inside some of them
    code = "import sys\nfor i in range(40000):\n    print(f'{i} ' + '日本' * (i % 7))\n"
    await rt.create(spec([sys.executable, "-c", code]))
    await rt.start(RID)
    await rt.wait(RID)
    batches = [b async for b in rt.log_batches(RID)]
    flat = [e for b in batches for e in b]
    assert all(batches) and 3 <= len(batches) <= len(flat) // 100, len(batches)  # reads, not lines
    assert flat == await collect(rt)
    assert stdout(flat) == [f"{i} " + "日本" * (i % 7) for i in range(40000)]
    [tail] = [b async for b in rt.log_batches(RID, tail=3)]
    assert [e.line for e in tail] == ["39998 ", "39999 日本", "exited with code 0"]


async def test_follow_from_created_skips_the_retired_run(rt: ProcessRuntime, follower) -> None:
    await rt.create(sh("echo one"))
    await rt.start(RID)
    await rt.wait(RID)
    await rt.create(sh("echo two", revision=2))  # retires run one to "previous"
    got, _ = follower(rt)
    await asyncio.sleep(0.15)
    await rt.start(RID)
    await until(lambda: "exited with code 0" in [e.line for e in got])
    assert stdout(got) == ["two"]


async def test_a_reader_left_far_behind_resumes_without_duplicates(make_runtime) -> None:
    rt = make_runtime(log_max_bytes=1024, log_files=2)
    await rt.create(sh("echo first; sleep 0.3; seq 1 3000; sleep 30"))
    await rt.start(RID)
    entries = rt.logs(RID, follow=True).__aiter__()
    try:
        got = [await entries.__anext__()]
        while got[-1].line != "first":
            got.append(await entries.__anext__())
        # Stall while the files we would read next are rotated away.
        await until_last(rt, "3000")
        while got[-1].line != "3000":
            got.append(await asyncio.wait_for(entries.__anext__(), 5))
    finally:
        await entries.aclose()
    numbers = [int(line) for line in stdout(got)[1:]]
    assert numbers == sorted(set(numbers)) and numbers[-1] == 3000
    assert len(numbers) < 3000  # what rotated away while we stalled is gone, nothing twice
    stamps = [e.ts_ns for e in got]
    assert stamps == sorted(set(stamps))


async def until_last(rt: ProcessRuntime, line: str) -> None:
    for _ in range(250):
        if [e.line for e in await collect(rt, tail=1)] == [line]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{line!r} never became the last line")
