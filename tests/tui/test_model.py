"""The console's pure parts, table-tested: filters, rows, batching, the data
source's resume logic, and that the data layer imports no textual."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jaco.tui.demo import NOW, demo_script, demo_status, line
from jaco.tui.fake import FakeSource
from jaco.tui.filters import LogFilter, log_request, parse_audit_filter
from jaco.tui.pump import Inflight, each, pump
from jaco.tui.rows import header_info, node_rows, status_rows
from jaco.tui.source import AuditFilter, LogRequest


@pytest.mark.parametrize(
    ("flt", "text", "keep", "spans"),
    [
        (LogFilter("err"), "ERROR here", True, [(0, 3)]),
        (LogFilter("err", case=True), "ERROR here", False, []),
        (LogFilter("err", invert=True), "ERROR here", False, []),
        (LogFilter("err", invert=True), "all good", True, []),
        (LogFilter("a.c"), "abc", False, []),  # plain: the dot is a dot
        (LogFilter("a.c", regex=True), "abc a.c", True, [(0, 3), (4, 7)]),
        (LogFilter("(", regex=True), "anything", True, []),  # bad regex: keeps all
        (LogFilter(""), "anything", True, []),
    ],
)
def test_log_filter(flt: LogFilter, text: str, keep: bool, spans: list[tuple[int, int]]) -> None:
    assert flt.keep(text) is keep
    assert flt.spans(text) == spans


def test_log_filter_flags_and_errors() -> None:
    assert LogFilter("(", regex=True).error.startswith("bad regex")
    flt = LogFilter("x").toggled("regex").toggled("case").toggled("invert")
    assert (flt.regex, flt.case, flt.invert) == (True, True, True)
    assert flt.describe() == "not /x/ (regex, case)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", AuditFilter(deployment="shop")),
        ("type:apply,auth_denied", AuditFilter(frozenset({"apply", "auth_denied"}), "", "shop")),
        ("identity:bob dep:*", AuditFilter(identity="bob")),
        (
            "t:DELETE who:alice deployment:hello",
            AuditFilter(frozenset({"delete"}), "alice", "hello"),
        ),
    ],
)
def test_parse_audit_filter(text: str, expected: AuditFilter) -> None:
    assert parse_audit_filter(text, AuditFilter(deployment="shop")) == expected


@pytest.mark.parametrize("text", ["type:nope", "colour:red", "identity:", "bare"])
def test_parse_audit_filter_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_audit_filter(text, AuditFilter())


def test_since_presets() -> None:
    assert log_request("d", "s", "", "tail", NOW) == LogRequest("d", "s", tail=1000)
    assert log_request("d", "s", "d/s/1", "5m", NOW).since_ns == int((NOW - 300) * 1e9)
    assert log_request("d", "s", "", "all", NOW) == LogRequest("d", "s")


def test_status_rows_and_header() -> None:
    from jaco.render import to_dict

    st = to_dict(demo_status())
    rows = status_rows(st, NOW)
    assert [r.key for r in rows][:5] == [
        "d:shop", "s:shop/web", "r:shop/web/0", "r:shop/web/1", "r:shop/web/2",
    ]  # fmt: skip
    failed = next(r for r in rows if r.key == "r:shop/api/1")
    assert failed.cells[1] == ("failed", "bold red") and failed.cells[3] == ("4", "yellow")
    assert failed.cells[5][0].startswith("exit 1: psycopg")
    assert next(r for r in rows if r.key == "d:shop").cells[1] == ("3/5 ready", "yellow")
    assert [n for n, _ in node_rows(st)] == ["node-a", "node-b", "node-c"]
    assert header_info(st).leader == "node-a" and header_info(st).identity == "alice"


async def test_pump_batches_a_burst_and_delivers_the_rest_at_the_end() -> None:
    async def burst() -> AsyncIterator[int]:
        for i in range(1000):
            yield i
        await asyncio.sleep(0.05)
        yield 1000

    batches: list[list[int]] = []
    inflight = Inflight()
    await pump(each(burst()), batches.append, interval=0.02, inflight=inflight)
    assert [len(b) for b in batches] == [1000, 1]
    assert sum(batches, []) == list(range(1001)) and inflight.n == 1001


async def test_pump_joins_the_batches_a_stream_delivers() -> None:
    async def chunks() -> AsyncIterator[list[int]]:
        yield [0, 1, 2]
        yield []
        yield [3]
        await asyncio.sleep(0.05)
        yield [4, 5]

    batches: list[list[int]] = []
    await pump(chunks(), batches.append, interval=0.02)
    assert batches == [[0, 1, 2, 3], [4, 5]]


def test_batched_messages_merge_instead_of_dropping() -> None:
    from jaco.tui.widgets import LogPane

    older = LogPane.LinesArrived([1, 2], generation=3)  # type: ignore[list-item]
    newer = LogPane.LinesArrived([3], generation=3)  # type: ignore[list-item]
    assert older.can_replace(newer) and newer.items == [1, 2, 3]
    other_stream = LogPane.LinesArrived([4], generation=4)  # type: ignore[list-item]
    assert not newer.can_replace(other_stream)


async def test_source_logs_resume_after_a_drop_without_repeats() -> None:
    source = FakeSource(demo_script(), retry_s=0.01)
    request = LogRequest("hello", "worker", tail=5)
    got: list[tuple[str, int]] = []

    async def read() -> None:
        async for batch in source.logs(request):
            got.extend((item.replica_id, item.ts_ns) for item in batch)

    task = asyncio.create_task(read())
    try:
        await asyncio.sleep(0.05)
        assert len(got) == 5
        source.client.disconnect()
        await asyncio.sleep(0.05)
        source.client.push_logs("hello", "worker", [line(-1, "hello/worker/0", "after")])
        source.client.reconnect()
        await asyncio.sleep(0.1)
    finally:
        task.cancel()
    assert len(got) == 6 and len(set(got)) == 6
    assert source.conn.state.kind == "connecting"  # only the status watch speaks for it


def test_data_layer_imports_no_textual() -> None:
    modules = ["jaco.tui", "jaco.tui.source", "jaco.tui.client_source", "jaco.tui.filters",
               "jaco.tui.rows", "jaco.tui.pump", "jaco.tui.fake", "jaco.tui.demo"]  # fmt: skip
    code = f"import {', '.join(modules)}, sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not [m for m in json.loads(out.stdout) if m.split(".")[0] == "textual"]


def test_the_palette_offers_every_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jaco import contexts
    from jaco.tui import choices

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("JACO_SERVER", raising=False)
    path = Path(contexts.config_path())
    path.parent.mkdir(parents=True)
    found = contexts.Contexts(str(path), "prod", {
        "prod": contexts.Context("prod", "10.0.0.5:7400"),
        "dev": contexts.Context("dev", "unix:///tmp/dev.sock"),
    })  # fmt: skip
    path.write_text(contexts.dump(found))
    assert choices("unix:///tmp/dev.sock")[:2] == ["context dev", "context prod"]
