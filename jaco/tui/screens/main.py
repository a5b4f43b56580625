"""``MainScreen``: the console's one screen of panes, and the keys that move
between them and act on the logs pane from anywhere."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from jaco.tui.screens.event_details import EventDetailsScreen
from jaco.tui.widgets import AuditPane, ConsoleHeader, LogPane, NodesPane, StatusPane

if TYPE_CHECKING:
    from jaco.tui.app import JacoApp

# tab order: status -> logs -> audit (not the DOM order, which is the layout's)
PANES = ("#status-table", "#log-view", "#audit-table")


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("tab", "pane(1)", "Pane", tooltip="Next pane"),
        Binding("shift+tab", "pane(-1)", "Previous pane", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("f", "logs('toggle_follow')", "Follow"),
        Binding("t", "logs('toggle_timestamps')", "Time"),
        Binding("w", "logs('toggle_wrap')", "Wrap"),
        Binding("s", "logs('save')", "Save"),
    ]

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(id="header")
        with Horizontal(id="top"):
            yield StatusPane(id="status", classes="pane")
            with Vertical(id="side"):
                yield NodesPane(id="nodes", classes="pane")
                yield AuditPane(id="audit", classes="pane")
        yield LogPane(id="logs", classes="pane")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#status", StatusPane).border_title = "Status"
        self.query_one("#nodes", NodesPane).border_title = "Nodes"
        self.query_one("#status-table").focus()
        self.host.start()

    @property
    def host(self) -> JacoApp:
        return cast("JacoApp", self.app)

    def action_pane(self, delta: int) -> None:
        """Focus the next (or previous) pane; from inside a pane's filter too."""
        panes = ("#status", "#logs", "#audit")
        current = next((n for n, pane in enumerate(panes) if self._in(self.focused, pane)), 0)
        self.query_one(PANES[(current + delta) % len(PANES)]).focus()

    def _in(self, widget: object, selector: str) -> bool:
        pane = self.query_one(selector)
        return widget is pane or pane in getattr(widget, "ancestors", [])

    def action_filter(self) -> None:
        focused = self.focused
        if focused is not None and self._in(focused, "#audit"):
            self.query_one(AuditPane).open_filter()
        else:
            self.query_one(LogPane).open_filter()

    def action_logs(self, action: str) -> None:
        getattr(self.query_one(LogPane), f"action_{action}")()

    @on(StatusPane.ServiceSelected)
    def _service(self, event: StatusPane.ServiceSelected) -> None:
        self.host.select_service(event.deployment, event.service, event.replica_id)
        if event.focus_logs:
            self.query_one("#log-view").focus()

    @on(StatusPane.DeploymentSelected)
    def _deployment(self, event: StatusPane.DeploymentSelected) -> None:
        self.host.select_deployment(event.deployment)

    @on(AuditPane.EventChosen)
    def _event(self, event: AuditPane.EventChosen) -> None:
        self.app.push_screen(EventDetailsScreen(event.event))
