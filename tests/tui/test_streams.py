"""Streams through the console: reconnecting without duplicates or gaps,
status diffing, bounded buffers, bursts, deletes, new replicas, switching target."""

from __future__ import annotations

from typing import Any

from jaco.tui.demo import CLUSTER_ID, event, line
from jaco.tui.fake import FakeSource
from jaco.tui.testing import settle
from jaco.tui.widgets import ConsoleHeader, LogView, StatusPane
from jaco.v1 import control_pb2
from jaco.v1 import entities_pb2 as pb
from tests.tui.conftest import WEB, Running, fake, push_web, select


def keys_of(view: LogView) -> list[tuple[str, int]]:
    return [(e.line.replica_id, e.line.ts_ns) for e in view.lines()]


async def test_reconnect_resumes_every_stream_without_duplicates_or_gaps(
    console: Running,
) -> None:
    async with console() as (app, pilot):
        await select(pilot, WEB)
        view, client = app.log_pane.view, fake(app)
        before = keys_of(view)
        header = app.query_one(ConsoleHeader)
        assert header.conn.kind == "connected"

        client.disconnect("connection refused: jacod restarting")
        await settle(pilot)
        assert header.conn.kind == "reconnecting" and "restarting" in header.conn.detail
        assert app.screen.has_class("-stale")

        # while the daemon is down: logs keep being written, an event is recorded,
        # a replica recovers
        push_web(app, 5)
        client.push_audit(event(13, -1, "apply", "alice", {"revision": 4}, "shop"))
        status = control_pb2.GetStatusResponse()
        status.CopyFrom(client.script.status)
        status.replicas[2].state = pb.REPLICA_STATE_RUNNING  # shop/web/2
        status.replicas[2].last_error = ""
        client.set_status(status)
        assert view.total == len(before)

        client.reconnect()
        await settle(pilot)
        assert header.conn.kind == "connected" and not app.screen.has_class("-stale")
        after = keys_of(view)
        assert after[: len(before)] == before  # nothing repeated, nothing lost
        assert len(after) == len(before) + 5 and len(set(after)) == len(after)
        assert [e.text for e in view.lines()[-5:]] == [f"GET /cart 200 #{i}" for i in range(5)]
        assert [e["id"] for e in app.audit_pane.events.values()].count(13) == 1
        assert app.query_one(StatusPane).rows["r:shop/web/2"].state == "running"
        # how each stream resumed: logs since the last line (less the reorder
        # window), audit after the last id it showed
        logs = [args for name, args in client.calls if name == "logs"]
        assert logs[-1][3] > 0 and logs[-1][4] == 0
        assert [a for name, a in client.calls if name == "follow_audit"][-1] == 10


async def test_status_updates_patch_cells_and_rebuild_only_when_rows_change(
    console: Running, monkeypatch: Any
) -> None:
    async with console() as (app, pilot):
        pane, client = app.query_one(StatusPane), fake(app)
        rebuilds: list[int] = []
        original = StatusPane._rebuild

        def counting(self: StatusPane, table: Any, rows: Any) -> None:
            rebuilds.append(len(rows))
            original(self, table, rows)

        monkeypatch.setattr(StatusPane, "_rebuild", counting)
        status = control_pb2.GetStatusResponse()
        status.CopyFrom(client.script.status)
        status.replicas[4].state = pb.REPLICA_STATE_RUNNING  # shop/api/1 recovers
        client.set_status(status)
        await settle(pilot)
        assert rebuilds == []
        assert pane.rows["r:shop/api/1"].state == "running"
        assert str(pane.table.get_cell("r:shop/api/1", "state")) == "running"

        await select(pilot, 8)  # hello: its first service's logs
        assert app.log_pane.request is not None
        assert app.log_pane.request.deployment == "hello"
        del status.deployments[1]  # jaco delete hello
        del status.replicas[5:]
        client.set_status(status)
        await settle(pilot)
        assert len(rebuilds) == 1 and not [k for k in pane.rows if "hello" in k]
        assert app.log_pane.view.lines()[-1].text == "deployment hello was deleted"
        assert "stream ended" in str(app.log_pane.border_subtitle)


async def test_buffer_is_bounded_and_a_paused_view_stays_put(console: Running) -> None:
    async with console(buffer_lines=50) as (app, pilot):
        await select(pilot, WEB)
        view = app.log_pane.view
        assert view.total == 50  # the scripted backlog is longer
        app.log_pane.action_toggle_follow()
        await settle(pilot)
        view.scroll_to(y=10, animate=False, immediate=True, force=True)
        first_on_screen = view.lines()[10].text
        push_web(app, 7)
        await settle(pilot)
        assert view.total == 50 and view.lines()[-1].text == "GET /cart 200 #6"
        assert view.lines()[int(view.scroll_y)].text == first_on_screen
        assert view.new_lines == 7


async def test_a_burst_becomes_a_few_repaints(console: Running, monkeypatch: Any) -> None:
    async with console() as (app, pilot):
        await select(pilot, WEB)
        calls: list[int] = []
        original = LogView.add_lines

        def counting(self: LogView, lines: Any) -> None:
            lines = list(lines)
            calls.append(len(lines))
            original(self, lines)

        monkeypatch.setattr(LogView, "add_lines", counting)
        push_web(app, 5000)
        await settle(pilot)
        assert sum(calls) == 5000 and len(calls) <= 3, calls


async def test_new_replicas_join_the_merged_view(console: Running) -> None:
    async with console() as (app, pilot):
        await select(pilot, WEB)
        fake(app).push_logs("shop", "web", [line(-5, "shop/web/10", "hello from a new replica")])
        await settle(pilot)
        last = app.log_pane.view.lines()[-1]
        assert last.prefix == "web/10" and app.log_pane.view.render_line(
            app.log_pane.view.size.height - 1
        ).text.startswith("web/10 | hello")


async def test_switching_target_reconnects_every_pane(console: Running) -> None:
    other = FakeSource()
    other.script.status.cluster.cluster_id = "0ther000-0000-0000-0000-000000000000"

    async with console(switch=lambda target: other, targets=["unix:///other.sock"]) as (
        app,
        pilot,
    ):
        header = app.query_one(ConsoleHeader)
        assert header.info.cluster_id == CLUSTER_ID
        app.switch_target("unix:///other.sock")
        await settle(pilot)
        assert app.source is other
        assert header.info.cluster_id.startswith("0ther000")
        assert len(app.audit_pane.events) == 12
