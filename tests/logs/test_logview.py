"""Client side, pure: DEP/SVC parsing, the formatter, and resuming a followed stream."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

from jaco import logview
from jaco.logview import Batch, Formatter, Line, Resume, Target

T0 = 1_795_000_000_123_456_789  # 2026-11-18T11:06:40.123456789Z
RESET = "\x1b[0m"


def line(ts: int = T0, rid: str = "shop/web/0", stream: str = "stdout", text: str = "hello",
         node: str = "n1") -> Line:  # fmt: skip
    return Line(ts, rid, node, stream, text)


@pytest.mark.parametrize(("text", "target"), [
    ("shop/web", Target("shop", "web")),
    ("shop/web/2", Target("shop", "web", "shop/web/2")),
])  # fmt: skip
def test_parse_target(text: str, target: Target) -> None:
    assert logview.parse_target(text) == target


@pytest.mark.parametrize("text", ["shop", "shop/", "/web", "shop//web", "a/b/c/d", "shop/ web", ""])
def test_parse_target_names_the_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected DEPLOYMENT/SERVICE \(e.g. shop/web\), got"):
        logview.parse_target(text)


@pytest.mark.parametrize(("value", "expected"), [
    (None, ""), ("2", "shop/web/2"), ("web/2", "shop/web/2"), ("shop/web/2", "shop/web/2"),
])  # fmt: skip
def test_replica_option(value: str | None, expected: str) -> None:
    assert logview.replica_id(Target("shop", "web"), value) == expected


@pytest.mark.parametrize("value", ["x", "worker/2", "other/web/2", "shop/web/2/3", "-1"])
def test_bad_replica_option(value: str) -> None:
    with pytest.raises(ValueError, match="--replica: expected a replica of shop/web"):
        logview.replica_id(Target("shop", "web"), value)


def test_replica_option_must_agree_with_the_target() -> None:
    assert logview.replica_id(Target("shop", "web", "shop/web/2"), None) == "shop/web/2"
    with pytest.raises(ValueError, match="contradicts shop/web/2"):
        logview.replica_id(Target("shop", "web", "shop/web/2"), "3")


def test_plain_text_prefix_marks_and_padding() -> None:
    fmt = Formatter()
    assert fmt.text(line()) == "web/0 | hello"
    assert fmt.text(line(rid="shop/web/10", stream="stderr", text="boom")) == "web/10 ! boom"
    assert fmt.text(line(stream="system", text="exited with code 0")) == (
        "web/0  * exited with code 0")  # fmt: skip  # padded to the widest seen
    assert fmt.text(line(rid="", stream="system", text="deployment shop was deleted")) == (
        "jaco   * deployment shop was deleted")  # fmt: skip


def test_timestamps_are_rfc3339_utc_with_ms() -> None:
    assert Formatter(timestamps=True).text(line()) == "2026-11-18T11:06:40.123Z web/0 | hello"
    assert logview.rfc3339(T0, 9) == "2026-11-18T11:06:40.123456789Z"
    assert logview.rfc3339(1_000_000_000_000_000_000) == "2001-09-09T01:46:40.000Z"


def test_colours() -> None:
    fmt = Formatter(colour=True)
    colour = logview.ANSI[logview.colour_for("shop/web/0")]
    assert fmt.text(line()) == f"\x1b[{colour}mweb/0{RESET} | hello"
    assert fmt.text(line(stream="stderr", text="boom")) == (
        f"\x1b[{colour}mweb/0{RESET}\x1b[1;31m ! {RESET}boom")  # fmt: skip
    dim = "\x1b[2m"
    assert fmt.text(line(stream="system", text="exited")) == (
        f"\x1b[{colour}mweb/0{RESET}{dim} * {RESET}{dim}exited{RESET}")  # fmt: skip


def test_colour_is_stable_and_distinct_per_replica_of_a_service() -> None:
    colours = [logview.colour_for(f"shop/web/{i}") for i in range(len(logview.PALETTE))]
    assert len(set(colours)) == len(logview.PALETTE)  # a service's replicas never share one...
    assert logview.colour_for("shop/web/0") == "bright_cyan"  # ...and it never changes
    assert all(c in logview.ANSI for c in logview.PALETTE) and "red" not in logview.PALETTE


def test_parts_for_other_renderers() -> None:
    parts = Formatter(timestamps=True).parts(line(stream="stderr", text="boom"))
    assert parts == [("2026-11-18T11:06:40.123Z ", "dim"), ("web/0", logview.colour_for(
        "shop/web/0")), (" ! ", "bold red"), ("boom", None)]  # fmt: skip


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "env", "expected"), [
    (Tty(), {}, True),
    (io.StringIO(), {}, False),
    (Tty(), {"NO_COLOR": "1"}, False),
    (Tty(), {"NO_COLOR": ""}, True),  # no-color.org: only a non-empty value counts
    (Tty(), {"TERM": "dumb"}, False),
])  # fmt: skip
def test_use_colour(stream: io.StringIO, env: dict[str, str], expected: bool) -> None:
    assert logview.use_colour(stream, env) is expected


def test_json_lines() -> None:
    out = json.loads(Formatter.json(line(text="héllo \"x\"")))
    assert out == {"ts": "2026-11-18T11:06:40.123456789Z", "replica_id": "shop/web/0",
                   "node": "n1", "stream": "stdout", "line": 'héllo "x"'}  # fmt: skip


MIXED = [
    line(), line(T0 + 1, stream="stderr", text="boom"), line(T0 + 2, stream="system", text=""),
    line(T0 + 10**9, rid="shop/web/10", text="wider: pads what follows"),
    line(T0 + 10**9 + 5, stream="system", text="exited"), line(T0 + 3 * 10**9, rid="", text="x"),
    line(T0 + 3 * 10**9 + 999_999_999, text='quote " back \\ tab \t ctl \x01 é 日本 \U0001f600'),
    line(T0 + 4 * 10**9, rid="shop/web/0", node="n2", stream="weird", text="unknown stream"),
]


@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("timestamps", [False, True])
def test_a_batch_renders_as_its_lines_one_by_one(colour: bool, timestamps: bool) -> None:
    one, batch = Formatter(colour=colour, timestamps=timestamps), Formatter(
        colour=colour, timestamps=timestamps)  # fmt: skip
    expected = "".join(one.text(ln) + "\n" for ln in MIXED)
    first, rest = Batch.of_lines(MIXED[:3]), Batch.of_lines(MIXED[3:])
    assert batch.render_text(first) + batch.render_text(rest) == expected
    if not (colour or timestamps):  # the padding grew mid-batch; the cached prefixes too
        assert expected.splitlines()[2:5] == [
            "web/0 * ", "web/10 | wider: pads what follows", "web/0  * exited"]  # fmt: skip


def test_a_batch_renders_as_json_lines_byte_for_byte() -> None:
    fmt = Formatter()
    out = fmt.render_json(Batch.of_lines(MIXED)) + fmt.render_json(Batch.of_lines(MIXED[:1]))
    assert out == "".join(Formatter.json(ln) + "\n" for ln in [*MIXED, MIXED[0]])
    assert fmt.render_json(Batch.of_lines([])) == "" == fmt.render_text(Batch.of_lines([]))


def test_from_batch() -> None:
    msg = SimpleNamespace(ts_ns=[T0, T0 + 1], replica_id=["shop/web/0", ""], node=["n1", "n2"],
                          stream=["stdout", "system"], line=["hello", "bye"])  # fmt: skip
    lines = logview.from_batch(msg)
    assert lines == [line(), line(T0 + 1, "", "system", "bye", "n2")]
    assert all(type(ln) is Line for ln in lines) and lines[1].node == "n2"
    msg.line.pop()
    with pytest.raises(ValueError):  # columns of different lengths: a broken server
        logview.from_batch(msg)


def fresh(r: Resume, lines: list[Line]) -> list[Line]:
    return r.fresh(Batch.of_lines(lines)).lines()


def test_resume_drops_what_was_shown() -> None:
    r = Resume(lookback_ns=100)
    assert not r.started and r.reopen(7) == 7
    assert fresh(r, [line(1000, "a"), line(1000, "b")]) == [line(1000, "a"), line(1000, "b")]
    assert fresh(r, [line(1050, "a")]) == [line(1050, "a")]
    assert r.reopen(7) == 950  # the lookback before the newest line shown
    assert fresh(r, [line(1000, "a"), line(1001, "a"), line(1050, "a"), line(1060, "a")]) == [
        line(1001, "a"), line(1060, "a")]  # fmt: skip  # shown already: dropped
    assert fresh(r, [line(990, "c")]) == [line(990, "c")]  # late line of another replica
    assert fresh(r, [line(1200, "a")]) == [line(1200, "a")]  # moves the window...
    assert r.reopen(0) == 1100  # ...a reopened stream starts after the 1000s
    assert fresh(r, [line(1200, "a"), line(1200, "b")]) == [line(1200, "b")]


def test_resume_forgets_what_is_older_than_the_lookback() -> None:
    r = Resume(lookback_ns=100)
    for ts in range(1000, 2000, 10):
        fresh(r, [line(ts, "a"), line(ts + 1, "b")])
    assert r.reopen(0) == 1891
    # within the lookback: dropped; before it (never asked for again): forgotten
    assert fresh(r, [line(1891, "b"), line(1990, "a"), line(1800, "a")]) == [line(1800, "a")]


def pb(ts: int, rid: str = "shop/web/0", text: str = "") -> Line:
    return line(ts, rid, "stdout", text or str(ts))


def batch(*lines: Line) -> SimpleNamespace:
    """A ``LogBatch`` as the server sends it: columns."""
    ts_ns, replica_id, node, stream, text = (list(c) for c in zip(*lines, strict=True))
    return SimpleNamespace(ts_ns=ts_ns, replica_id=replica_id, node=node, stream=stream,
                           line=text)  # fmt: skip


class Dropped(Exception):
    pass


async def test_lines_resume_after_a_drop_without_duplicates() -> None:
    s = 10**9
    history = [pb(10 * s, "a"), pb(10 * s + 5, "b"), pb(11 * s, "a"), pb(11 * s, "b"),
               pb(12 * s, "a")]  # fmt: skip
    calls: list[tuple[int, int]] = []
    outages: list[object] = []

    def open_stream(since_ns: int, tail: int) -> AsyncIterator[SimpleNamespace]:
        calls.append((since_ns, tail))

        async def gen() -> AsyncIterator[SimpleNamespace]:
            sent = [m for m in history if m.ts_ns >= since_ns]
            if len(calls) == 1:
                yield batch(*sent[:2])  # 10a 10b
                yield batch(sent[2])  # 11a, then the server goes away
                raise Dropped()
            if len(calls) == 2:
                raise Dropped()  # still down
            yield batch(*sent)  # from 10a again: what was shown is dropped

        return gen()

    got = [ln async for batch in logview.batches(
        open_stream, tail=5, follow=True, retryable=lambda e: isinstance(e, Dropped),
        on_outage=outages.append, backoff_s=0.001,
    ) for ln in batch.lines()]  # fmt: skip
    assert [(ln.replica_id, ln.ts_ns) for ln in got] == [
        ("a", 10 * s), ("b", 10 * s + 5), ("a", 11 * s), ("b", 11 * s), ("a", 12 * s)]
    assert calls == [(0, 5), (10 * s, 0), (10 * s, 0)]  # since last-1s, untailed
    assert len(outages) == 2 and isinstance(outages[0], Dropped) and outages[1] is None


async def test_lines_do_not_retry_a_server_that_was_never_there() -> None:
    def open_stream(since_ns: int, tail: int) -> AsyncIterator[SimpleNamespace]:
        async def gen() -> AsyncIterator[SimpleNamespace]:
            raise Dropped()
            yield  # pragma: no cover

        return gen()

    with pytest.raises(Dropped):
        [b async for b in logview.batches(open_stream, follow=True, retryable=lambda e: True)]
    with pytest.raises(ValueError):  # not retryable, even after lines

        def failing(since_ns: int, tail: int) -> AsyncIterator[SimpleNamespace]:
            async def gen() -> AsyncIterator[SimpleNamespace]:
                yield batch(pb(10**9))
                raise ValueError("bad")

            return gen()

        [b async for b in logview.batches(failing, follow=True,
                                          retryable=lambda e: isinstance(e, Dropped))]


async def test_lines_give_up_after_a_long_outage() -> None:
    now = [0.0]
    n = [0]

    def open_stream(since_ns: int, tail: int) -> AsyncIterator[SimpleNamespace]:
        async def gen() -> AsyncIterator[SimpleNamespace]:
            n[0] += 1
            if n[0] == 1:
                yield batch(pb(10**9))
            now[0] += 10
            raise Dropped()

        return gen()

    with pytest.raises(Dropped):
        [b async for b in logview.batches(open_stream, follow=True, retryable=lambda e: True,
                                          max_outage_s=30, backoff_s=0.001,
                                          clock=lambda: now[0])]  # fmt: skip
    assert n[0] == 5  # 1 good stream; the outage starts at t=10, given up after t > 40
