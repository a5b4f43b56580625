"""What an operator sees, pinned as SVGs (``snapshots/__snapshots__/``).
Data comes from the scripted demo cluster (``jaco.tui.demo``) through the
same ``ClientSource`` the console uses against jacod: fixed clock, fixed ids.
Regenerate after an intended change with ``pytest snapshots --snapshot-update``
and look at the result before committing it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from jaco.tui.app import JacoApp
from jaco.tui.demo import line
from jaco.tui.testing import demo_app, enter_text, keys, settle

SIZE = (120, 36)
Before = Callable[[Pilot[Any]], Awaitable[None]]

# Rows of the demo status table: 0 shop, 1 web, 2-4 web/N, 5 api, 6-7 api/N, 8 hello ...
WEB, API = 1, 5


Step = str | list[str] | Callable[[JacoApp], None]


def steps(*items: Step) -> Before:
    """Settle, then each step (a key, keys typed in one go, or a callable on
    the app), settling after each."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot, screenshot=True)
        for step in items:
            if callable(step):
                step(pilot.app)  # type: ignore[arg-type]
            else:
                await pilot.press(*([step] if isinstance(step, str) else step))
            await settle(pilot, screenshot=True)

    return run


def select(row: int) -> list[str]:
    return ["down"] * row + ["enter"]


def typed(text: str) -> Callable[[JacoApp], None]:
    return lambda app: enter_text(app, text)


class TestMainScreen:
    def test_default_layout(self, snap_compare: Any) -> None:
        assert snap_compare(demo_app(), terminal_size=SIZE, run_before=steps())

    def test_service_selected(self, snap_compare: Any) -> None:
        # the crash-looping api: its stderr and error lines stand out, audit narrows to shop
        assert snap_compare(demo_app(), terminal_size=SIZE, run_before=steps(select(API)))

    def test_80x24(self, snap_compare: Any) -> None:
        assert snap_compare(demo_app(), terminal_size=(80, 24), run_before=steps(select(API)))


class TestLogsPane:
    def test_filtered_regex_with_timestamps(self, snap_compare: Any) -> None:
        before = steps(select(WEB), "slash", "alt+r", typed("50[23]|timed out"), "enter", "t")
        assert snap_compare(demo_app(), terminal_size=SIZE, run_before=before)

    def test_paused_with_new_lines(self, snap_compare: Any) -> None:
        def more(app: JacoApp) -> None:
            new = [line(-1 - i, f"shop/web/{i % 3}", f"GET /cart 200 {i}ms") for i in range(7)]
            app.source.client.push_logs("shop", "web", new)  # type: ignore[attr-defined]

        before = steps(select(WEB), "f", more)
        assert snap_compare(demo_app(), terminal_size=SIZE, run_before=before)


class TestAuditPane:
    def test_filtered_by_type(self, snap_compare: Any) -> None:
        text = typed("type:auth_denied,token_revoke,isolation_drift_detected")
        before = steps("tab", "tab", "slash", text, "enter")
        assert snap_compare(demo_app(), terminal_size=SIZE, run_before=before)

    def test_event_details(self, snap_compare: Any) -> None:
        # the last event (#12, isolation_drift_detected: high-signal) is under the cursor
        before = steps("tab", "tab", "enter")
        assert snap_compare(demo_app(), terminal_size=SIZE, run_before=before)


class TestConnection:
    def test_reconnecting(self, snap_compare: Any) -> None:
        def drop(app: JacoApp) -> None:
            app.source.client.disconnect()  # type: ignore[attr-defined]

        before = steps(select(WEB), drop)
        assert snap_compare(demo_app(), terminal_size=SIZE, run_before=before)


class TestOverlays:
    def test_help_screen(self, snap_compare: Any) -> None:
        before = steps("question_mark")
        assert snap_compare(demo_app(), terminal_size=SIZE, run_before=before)

    def test_command_palette_since(self, snap_compare: Any) -> None:
        before = steps(select(WEB), "colon", keys("since"))
        assert snap_compare(demo_app(), terminal_size=SIZE, run_before=before)
