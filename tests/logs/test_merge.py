"""The merge core (pure, fake clock) and its asyncio driver (bounded queues)."""

from __future__ import annotations

import asyncio
import random

import pytest

from jacod.api.logfanin import Fanin, Feed
from jacod.api.logmerge import Merger

W = 0.1  # reorder window


def merger(**kw: float) -> Merger[str]:
    kw.setdefault("window_s", W)
    kw.setdefault("strict_timeout_s", 5.0)
    return Merger(**kw)  # type: ignore[arg-type]


def push(m: Merger[str], key: str, *stamps: int, at: float = 0.0) -> None:
    for ts in stamps:
        m.push(key, ts, f"{key}{ts}", at)


@pytest.mark.parametrize("seed", range(5))
def test_backlog_is_merged_in_time_order_whatever_the_arrival_order(seed: int) -> None:
    rng = random.Random(seed)
    stamps = rng.sample(range(1000), 60)  # distinct: ties across sources have no one order
    sources = {k: sorted(stamps[i * 20 : (i + 1) * 20]) for i, k in enumerate("abc")}
    m = merger()
    for k in sources:
        m.add(k, 0.0)
    out: list[str] = []
    cursors = dict.fromkeys(sources, 0)
    while any(cursors[k] < len(v) for k, v in sources.items()):  # arrivals interleave randomly
        k = rng.choice([k for k in sources if cursors[k] < len(sources[k])])
        push(m, k, sources[k][cursors[k]])
        cursors[k] += 1
        if cursors[k] == len(sources[k]):
            m.end(k)
        out += m.pop_ready(0.0)
    out += m.pop_ready(0.0)
    expected = sorted((ts, k) for k, v in sources.items() for ts in v)
    assert out == [f"{k}{ts}" for ts, k in expected]
    assert m.drained


@pytest.mark.parametrize("seed", range(5))
def test_runs_merge_like_single_items(seed: int) -> None:
    """Pushed in runs of any size, popped at any moment: the same order as
    item by item, ties across sources in the order they were pushed."""
    rng = random.Random(seed)
    sources = {k: sorted(rng.sample(range(300), 60)) for k in "abc"}  # ties across sources
    m = merger()
    for k in sources:
        m.add(k, 0.0)
    out: list[str] = []
    pushed: list[tuple[int, int, str]] = []  # (ts, run number, item): the expected order
    cursors = dict.fromkeys(sources, 0)
    run = 0
    while any(cursors[k] < len(v) for k, v in sources.items()):
        k = rng.choice([k for k in sources if cursors[k] < len(sources[k])])
        stamps = sources[k][cursors[k] : cursors[k] + rng.randint(1, 25)]
        cursors[k] += len(stamps)
        m.push_many(k, stamps, [f"{k}{ts}" for ts in stamps], 0.0)
        pushed += [(ts, run, f"{k}{ts}") for ts in stamps]
        run += 1
        if cursors[k] == len(sources[k]):
            m.end(k)
        if rng.random() < 0.5:
            out += m.pop_ready(0.0)
    out += m.pop_ready(0.0)
    assert out == [item for *_, item in sorted(pushed)]
    assert m.drained


def test_a_run_goes_up_to_the_next_sources_line_then_waits_for_it() -> None:
    m = merger()
    for k in "ab":
        m.add(k, 0.0, backlog=False)
    m.push_many("a", [1, 2, 3, 7, 8], ["a1", "a2", "a3", "a7", "a8"], 1.0)
    m.push_many("b", [3, 5], ["b3", "b5"], 1.0)
    assert m.pop_ready(1.0) == ["a1", "a2", "a3", "b3", "b5"]  # a3 pushed before b3; b empty
    assert m.pop_ready(1.0 + W) == ["a7", "a8"]  # then a's rest waits the window for b
    with pytest.raises(ValueError, match="2 timestamps for 1 items"):
        m.push_many("a", [9, 10], ["a9"], 2.0)


def test_runs_go_out_as_pushed_unless_cut() -> None:
    m = merger()
    for k in "ab":
        m.add(k, 0.0, backlog=False)
    a1, b1 = ["a1", "a2", "a3"], ["b5", "b6"]
    m.push_many("a", [1, 2, 3], a1, 1.0)
    m.push_many("b", [5, 6], b1, 1.0)
    m.push_many("a", [4, 7], ["a4", "a7"], 1.0)
    runs = m.pop_runs(1.0)
    assert runs == [a1, ["a4"], b1]  # a's second run is cut by b's
    assert runs[0] is a1 and runs[2] is b1  # whole: the very sequences pushed
    assert m.pop_ready(1.0 + W) == ["a7"]


def test_backlog_waits_for_every_source_until_it_stalls() -> None:
    m = merger(strict_timeout_s=2.0)
    m.add("a", 0.0)
    m.add("b", 0.0)
    push(m, "a", 5, 7)
    assert m.pop_ready(1.0) == []  # b may still have older lines
    assert m.deadline(1.0) == 2.0
    push(m, "b", 6, at=1.5)
    assert m.pop_ready(1.5) == ["a5", "b6"]  # a7 waits for b again (empty, still in backlog)
    assert m.pop_ready(3.4) == []
    assert m.pop_ready(3.5) == ["a7"]  # b silent for 2 s: stalled, no longer waited for


def test_tail_keeps_the_last_lines_across_sources() -> None:
    m = merger(tail=3)
    for k in "ab":
        m.add(k, 0.0)
    push(m, "a", 1, 4, 6)
    push(m, "b", 2, 3, 5, 7)
    m.end("a")
    m.end("b")
    assert m.pop_ready(0.0) == ["b5", "a6", "b7"]


def test_tail_then_follow() -> None:
    m = merger(tail=2)
    for k in "ab":
        m.add(k, 0.0)
    push(m, "a", 1, 3)
    m.caught_up("a", 0.0)
    push(m, "b", 2, 4)
    assert m.pop_ready(0.0) == []  # b's backlog is not over yet
    m.caught_up("b", 0.0)
    assert m.pop_ready(0.0) == []  # b4 waits the window (a is empty now), and the tail for it
    assert m.initial
    assert m.pop_ready(W) == ["a3", "b4"]
    assert not m.initial
    push(m, "a", 10, at=1.0)
    push(m, "b", 11, at=1.0)
    assert m.pop_ready(1.0) == ["a10"]  # live lines are not tailed
    assert m.pop_ready(1.0 + W) == ["b11"]


def test_reorder_window_in_follow() -> None:
    m = merger()
    for k in "ab":
        m.add(k, 0.0, backlog=False)
    push(m, "a", 100, at=1.0)
    assert m.pop_ready(1.05) == []  # b might still deliver an earlier line
    assert m.deadline(1.05) == pytest.approx(1.0 + W)
    push(m, "b", 90, at=1.06)  # late, but within the window: goes first
    assert m.pop_ready(1.06) == ["b90"]  # a's next line is after a100: b90 is safe now
    assert m.pop_ready(1.09) == []  # b is empty again: a100 waits out its window
    assert m.pop_ready(1.0 + W) == ["a100"]
    push(m, "a", 120, at=2.0)
    push(m, "b", 130, at=2.0)
    assert m.pop_ready(2.0) == ["a120"]  # every source had a line pending: no waiting
    push(m, "a", 125, at=2.05)  # ...a can still deliver lines before b's pending one
    assert m.pop_ready(2.05) == ["a125"]
    assert m.pop_ready(2.0 + W) == ["b130"]


def test_a_line_later_than_the_window_is_still_shown() -> None:
    m = merger()
    for k in "ab":
        m.add(k, 0.0, backlog=False)
    push(m, "a", 100, at=1.0)
    assert m.pop_ready(1.2) == ["a100"]
    push(m, "b", 90, at=1.3)  # too late to be in order: shown rather than lost
    assert m.pop_ready(1.3 + W) == ["b90"]


def test_a_source_joining_later_has_its_backlog_merged_strictly() -> None:
    m = merger()
    m.add("a", 0.0)
    m.caught_up("a", 0.0)
    assert m.pop_ready(0.0) == [] and not m.initial
    m.add("c", 1.0)  # a new replica
    push(m, "a", 50, at=1.0)
    assert m.pop_ready(1.5) == []  # c is reading its backlog
    push(m, "a", 60, at=1.6)
    push(m, "c", 55, at=1.6)
    m.caught_up("c", 1.6)
    assert m.pop_ready(1.6) == ["a50", "c55"]
    assert m.pop_ready(1.65) == []  # c is empty and live: a60 gets the window
    assert m.pop_ready(1.6 + W) == ["a60"]


def test_an_ended_source_does_not_hold_anything_back() -> None:
    m = merger()
    for k in "ab":
        m.add(k, 0.0, backlog=False)
    push(m, "a", 1, 2)
    push(m, "b", 3)
    m.end("b")  # what it sent is still merged
    assert m.pop_ready(0.0) == ["a1", "a2"]  # a is empty: the window holds b3
    assert m.pop_ready(W) == ["b3"]
    m.end("a")
    assert m.drained and m.open_sources == 0
    m.add("b", 1.0)  # the same key may open again (a replica re-created)
    assert m.open_sources == 1


def test_per_source_cap() -> None:
    m = merger()
    m.cap = 2
    m.add("a", 0.0)
    m.add("b", 0.0)
    push(m, "a", 1, 2)
    assert not m.wants("a") and m.wants("b")
    push(m, "b", 0)
    assert m.pop_ready(0.0) == ["b0"]
    assert not m.wants("a")


def test_close_returns_what_is_held_in_order() -> None:
    m = merger(tail=5)
    m.add("a", 0.0)
    m.add("b", 0.0)
    push(m, "a", 3, 1)
    assert m.close() == ["a1", "a3"]


# -- the driver --------------------------------------------------------------


async def test_fanin_merges_producers_and_ends() -> None:
    def producer(key: str, stamps: list[int]):  # type: ignore[no-untyped-def]
        async def run(feed: Feed[str]) -> None:
            for ts in stamps:
                await feed.put(ts, f"{key}{ts}")
                await asyncio.sleep(0)

        return run

    fanin: Fanin[str] = Fanin(Merger(window_s=0.05))
    fanin.add("a", producer("a", [1, 4, 5]))
    fanin.add("b", producer("b", [2, 3, 6]))
    fanin.finish()
    out = [x async for runs in fanin.batches() for run in runs for x in run]
    assert out == ["a1", "b2", "b3", "a4", "a5", "b6"]


async def test_a_slow_reader_makes_producers_wait() -> None:
    produced = 0

    async def chatty(feed: Feed[int]) -> None:
        nonlocal produced
        for i in range(100_000):
            await feed.put(i, i)
            produced += 1

    m: Merger[int] = Merger(window_s=0.01, cap=16)
    fanin: Fanin[int] = Fanin(m, queue_size=32)
    fanin.add("a", chatty, backlog=False)
    batches = fanin.batches()
    got = [x for run in await anext(batches) for x in run]
    await asyncio.sleep(0.2)  # the reader stalls; the producer must not run ahead
    assert got == list(range(len(got)))
    assert produced <= len(got) + 16 + 32 + 1
    await batches.aclose()  # cancels the producer
    assert fanin.open_keys == [] or all(not fanin.is_open(k) for k in fanin.open_keys)


async def test_caught_up_marker_and_cancelled_sources() -> None:
    gate = asyncio.Event()

    async def backlog_then_live(feed: Feed[str]) -> None:
        await feed.put(1, "old")
        await feed.caught_up()
        await gate.wait()
        await feed.put(2, "new")
        await asyncio.sleep(3600)

    fanin: Fanin[str] = Fanin(Merger(window_s=0.01), caught_up_item="MARK")
    fanin.add("a", backlog_then_live)
    batches = fanin.batches()
    assert await anext(batches) == [["old"], ["MARK"]]  # the marker ends the backlog's batch
    gate.set()
    assert await anext(batches) == [["new"]]
    assert fanin.is_open("a")
    fanin.cancel("a")
    fanin.finish()
    assert [x async for x in batches] == []
