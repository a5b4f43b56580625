"""Client side, pure: DEP/SVC parsing, the formatter, and resuming a followed stream."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

from jaco import logview
from jaco.logview import Formatter, Line, Resume, Target

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


def test_from_pb() -> None:
    msg = SimpleNamespace(ts=SimpleNamespace(seconds=T0 // 10**9, nanos=T0 % 10**9),
                          replica_id="shop/web/0", node="n1", stream="stdout", line="hello")
    assert Line.from_pb(msg) == line()


def test_resume_drops_what_was_shown() -> None:
    r = Resume(lookback_ns=100)
    assert not r.started and r.since_ns(7) == 7
    assert r.fresh(line(1000, "a")) and r.fresh(line(1000, "b")) and r.fresh(line(1050, "a"))
    assert not r.fresh(line(1000, "a"))  # shown already
    assert r.since_ns(7) == 950
    assert r.fresh(line(990, "c"))  # late line of another replica: not shown before
    assert r.fresh(line(1200, "a"))  # moves the window: 1000s are forgotten...
    assert r.since_ns(0) == 1100  # ...because a reopened stream starts after them


def pb(ts: int, rid: str = "shop/web/0", text: str = "") -> SimpleNamespace:
    return SimpleNamespace(ts=SimpleNamespace(seconds=ts // 10**9, nanos=ts % 10**9),
                           replica_id=rid, node="n1", stream="stdout", line=text or str(ts))


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
            sent = [m for m in history if m.ts.seconds * 10**9 + m.ts.nanos >= since_ns]
            if len(calls) == 1:
                for m in sent[:3]:  # 10a 10b 11a, then the server goes away
                    yield m
                raise Dropped()
            if len(calls) == 2:
                raise Dropped()  # still down
            for m in sent:
                yield m

        return gen()

    got = [ln async for ln in logview.lines(
        open_stream, tail=5, follow=True, retryable=lambda e: isinstance(e, Dropped),
        on_outage=outages.append, backoff_s=0.001,
    )]  # fmt: skip
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
        [ln async for ln in logview.lines(open_stream, follow=True, retryable=lambda e: True)]
    with pytest.raises(ValueError):  # not retryable, even after lines

        def failing(since_ns: int, tail: int) -> AsyncIterator[SimpleNamespace]:
            async def gen() -> AsyncIterator[SimpleNamespace]:
                yield pb(10**9)
                raise ValueError("bad")

            return gen()

        [ln async for ln in logview.lines(failing, follow=True,
                                          retryable=lambda e: isinstance(e, Dropped))]


async def test_lines_give_up_after_a_long_outage() -> None:
    now = [0.0]
    n = [0]

    def open_stream(since_ns: int, tail: int) -> AsyncIterator[SimpleNamespace]:
        async def gen() -> AsyncIterator[SimpleNamespace]:
            n[0] += 1
            if n[0] == 1:
                yield pb(10**9)
            now[0] += 10
            raise Dropped()

        return gen()

    with pytest.raises(Dropped):
        [ln async for ln in logview.lines(open_stream, follow=True, retryable=lambda e: True,
                                          max_outage_s=30, backoff_s=0.001,
                                          clock=lambda: now[0])]  # fmt: skip
    assert n[0] == 5  # 1 good stream; the outage starts at t=10, given up after t > 40
