"""Each key in the footer (and the help screen) does what it says."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, Input

from jaco.tui.screens import EventDetailsScreen, HelpScreen, SaveScreen
from jaco.tui.testing import enter_text, settle
from jaco.tui.widgets import FilterBar
from tests.tui.conftest import API, WEB, Running, fake, press, push_web, select


def screen_text(app: object) -> str:
    svg = app.export_screenshot()  # type: ignore[attr-defined]
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def test_footer_lists_the_keys(console: Running) -> None:
    async with console() as (app, _):
        bindings = app.screen.active_bindings
        shown = {key for key, active in bindings.items() if active.binding.show}
        assert {"tab", "slash", "f", "t", "w", "s", "question_mark", "q", "enter", "l"} <= shown
        assert "colon" in bindings  # the footer shows it on its right as ": palette"


async def test_tab_and_shift_tab_cycle_status_logs_audit(console: Running) -> None:
    async with console() as (app, pilot):
        assert app.focused.id == "status-table"
        seen = []
        for _ in range(3):
            await press(pilot, "tab")
            seen.append(app.focused.id)
        assert seen == ["log-view", "audit-table", "status-table"]
        await press(pilot, "shift+tab")
        assert app.focused.id == "audit-table"


async def test_clicking_a_pane_focuses_it(console: Running) -> None:
    async with console() as (app, pilot):
        await pilot.click("#audit-table")
        await settle(pilot)
        assert app.focused.id == "audit-table"
        await pilot.click("#log-view")
        await settle(pilot)
        assert app.focused.id == "log-view"


async def test_enter_on_a_service_points_logs_and_narrows_audit(console: Running) -> None:
    async with console() as (app, pilot):
        await select(pilot, API)
        assert app.log_pane.request is not None
        assert (app.log_pane.request.deployment, app.log_pane.request.service) == ("shop", "api")
        assert app.log_pane.request.replica_id == ""
        replicas = {e.line.replica_id for e in app.log_pane.view.lines()}
        assert {"shop/api/0", "shop/api/1"} <= replicas
        assert app.audit_pane.filter.deployment == "shop"
        assert {e["deployment"] for e in app.audit_pane.events.values()} == {"shop"}


async def test_mouse_click_selects_a_service(console: Running) -> None:
    async with console() as (app, pilot):
        table = app.query_one("#status-table", DataTable)
        # header row, then shop, web: click web twice (highlight, then select)
        await pilot.click("#status-table", offset=(4, 2))
        await pilot.click("#status-table", offset=(4, 2))
        await settle(pilot)
        assert table.cursor_row == WEB
        assert app.log_pane.request is not None and app.log_pane.request.service == "web"


async def test_l_on_a_replica_tails_only_that_replica(console: Running) -> None:
    async with console() as (app, pilot):
        await press(pilot, *["down"] * (API + 2), "l")  # shop/api/1
        request = app.log_pane.request
        assert request is not None and request.replica_id == "shop/api/1"
        assert app.focused.id == "log-view"
        shown = {e.line.replica_id for e in app.log_pane.view.lines()}
        assert shown == {"shop/api/1"}


async def test_slash_filters_logs_plain_regex_case_inverse(console: Running) -> None:
    async with console() as (app, pilot):
        await select(pilot, WEB)
        view = app.log_pane.view
        total = view.total
        await press(pilot, "slash")
        bar = app.query_one("#log-filter", FilterBar)
        assert bar.is_open and isinstance(app.focused, Input)
        await press(pilot, "5", "0", "3")
        assert 0 < view.shown < total
        assert all("503" in e.text for e in view.lines())
        assert view.filter.spans("GET / 503 1ms") == [(6, 9)]  # highlighted
        await press(pilot, "alt+v")  # inverse
        assert view.filter.invert and all("503" not in e.text for e in view.lines())
        await press(pilot, "alt+v", "alt+r")  # back, then regex
        enter_text(app, "GET /(cart|checkout) ")
        await settle(pilot)
        assert (
            view.filter.regex
            and view.shown
            and all("/cart " in e.text or "/checkout " in e.text for e in view.lines())
        )
        enter_text(app, "get /CART")
        await settle(pilot)
        case_blind = view.shown
        await press(pilot, "alt+c")  # case-sensitive: nothing matches
        assert case_blind and view.shown == 0
        await pilot.click("#toggle-case")  # the chips are clickable too
        await settle(pilot)
        assert not view.filter.case and view.shown == case_blind
        await press(pilot, "enter")  # keep it, back to the lines
        assert not bar.is_open and app.focused.id == "log-view" and view.filter.text
        await press(pilot, "slash", "escape")  # clear it
        assert not view.filter.text and view.shown == total


async def test_slash_in_audit_filters_by_type_and_identity(console: Running) -> None:
    async with console() as (app, pilot):
        await press(pilot, "tab", "tab", "slash")
        enter_text(app, "type:nope")
        await press(pilot, "enter")
        bar = app.query_one("#audit-filter", FilterBar)
        assert bar.is_open and "unknown type" in str(bar.query_one(".error").render())
        enter_text(app, "type:apply,rollback identity:alice")
        await press(pilot, "enter")
        events = app.audit_pane.events.values()
        assert {e["id"] for e in events} == {6, 7, 10}
        # the filter went to the server: the follow asked for it
        assert app.audit_pane.filter.identity == "alice"
        await press(pilot, "escape")  # every event again
        assert len(app.audit_pane.events) == 12


async def test_f_pauses_counts_new_lines_and_follows_again(console: Running) -> None:
    async with console() as (app, pilot):
        await select(pilot, WEB)
        view = app.log_pane.view
        await press(pilot, "f")
        assert not view.follow
        where = view.scroll_y
        push_web(app, 5)
        await settle(pilot)
        paused = app.query_one("#log-paused")
        assert view.new_lines == 5 and paused.display
        assert "+5 new lines" in str(paused.render())
        assert view.scroll_y == where  # nothing moved under the reader
        await press(pilot, "f")
        assert view.follow and not paused.display and view.scroll_y == view.max_scroll_y


async def test_scrolling_up_pauses_and_end_follows(console: Running) -> None:
    async with console() as (app, pilot):
        await select(pilot, WEB)
        await press(pilot, "tab", "pageup")
        assert not app.log_pane.view.follow
        await press(pilot, "end")
        assert app.log_pane.view.follow


async def test_t_toggles_timestamps(console: Running) -> None:
    async with console() as (app, pilot):
        await select(pilot, WEB)
        view = app.log_pane.view
        assert ":59:" not in view.render_line(0).text
        await press(pilot, "t")
        assert view.timestamps and view.render_line(0).text.startswith("09:59:")
        assert "time" in str(app.log_pane.border_subtitle)


async def test_w_wraps_long_lines(console: Running) -> None:
    async with console() as (app, pilot):
        await select(pilot, WEB)
        push_web(app, 1, text="x" * 500)
        await settle(pilot)
        view = app.log_pane.view
        assert view.virtual_size.height == view.total
        await press(pilot, "w")
        assert view.wrap and view.virtual_size.height > view.total
        assert view.virtual_size.width == 0  # nothing to scroll sideways
        await press(pilot, "w")
        assert view.virtual_size.height == view.total


async def test_s_saves_what_the_logs_pane_shows(
    console: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with console() as (app, pilot):
        await select(pilot, API)
        await press(pilot, "s")
        assert isinstance(app.screen, SaveScreen)
        field = app.screen.query_one(Input)
        assert field.value == str(tmp_path / "jaco-shop-api-20261127T100000Z.log")
        await press(pilot, "enter")
        path = tmp_path / "jaco-shop-api-20261127T100000Z.log"
        for _ in range(100):  # written by a thread worker
            if path.exists() and path.read_text().endswith("\n"):
                break
            await pilot.pause(0.02)
        saved = path.read_text().splitlines()
        assert len(saved) == app.log_pane.view.total
        assert saved[-1].startswith("2026-11-27T09:59:58.000000000Z api/0 | handled order")


async def test_enter_on_an_audit_event_opens_its_details(console: Running) -> None:
    async with console() as (app, pilot):
        await press(pilot, "tab", "tab", "enter")
        assert isinstance(app.screen, EventDetailsScreen)
        assert app.screen.event["id"] == 12
        text = screen_text(app)
        assert "isolation_drift_detected  (high-signal)" in text
        assert '"rule": "shop/api egress"' in text  # the payload, pretty-printed
        await press(pilot, "escape")
        assert not isinstance(app.screen, EventDetailsScreen)


async def test_colon_opens_the_palette_and_since_restarts_the_logs(console: Running) -> None:
    async with console() as (app, pilot):
        await select(pilot, WEB)
        await press(pilot, "colon")
        assert isinstance(app.screen, CommandPalette)
        enter_text(app, "since: 5m")
        await pilot.pause(0.3)  # the palette searches in the background
        await press(pilot, "enter")
        assert app.log_pane.since == "5m"
        last = [args for name, args in fake(app).calls if name == "logs"][-1]
        assert last[3] == int((app.source.now() - 300) * 1e9) and last[4] == 0


async def test_question_mark_opens_help_and_escape_closes(console: Running) -> None:
    async with console() as (app, pilot):
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_q_quits(console: Running) -> None:
    async with console() as (app, pilot):
        await pilot.press("q")
        await pilot.pause()
        assert app._exit  # noqa: SLF001 - the pilot has no public "has exited"
