"""``JacoApp``: the triage console. It owns the data source and the two
app-wide streams (status snapshots, connection state); the panes own theirs
(logs, audit). Everything it reads comes through ``DataSource``."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Sequence
from typing import ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen

from jaco.tui.commands import JacoCommands
from jaco.tui.messages import Batched
from jaco.tui.pump import FLUSH_S, Inflight, each, pump
from jaco.tui.rows import StatusView, status_view
from jaco.tui.screens.help import HelpScreen
from jaco.tui.screens.main import MainScreen
from jaco.tui.source import AuditFilter, ConnState, DataSource, Status
from jaco.tui.widgets import AuditPane, ConsoleHeader, LogPane, NodesPane, StatusPane

AGE_REFRESH_S = 5.0


class JacoApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "jaco"
    COMMANDS = {JacoCommands}
    COMMAND_PALETTE_BINDING = "colon"
    COMMAND_PALETTE_DISPLAY = ":"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    class StatusArrived(Batched[StatusView]):
        pass

    class ConnectionChanged(Message):
        def __init__(self, state: ConnState) -> None:
            super().__init__()
            self.state = state

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, JacoApp.ConnectionChanged)

    def __init__(
        self,
        source: DataSource,
        *,
        buffer_lines: int = 10_000,
        flush_s: float = FLUSH_S,
        targets: Sequence[str] = (),
        switch: Callable[[str], DataSource] | None = None,
        initial: tuple[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        self.buffer_lines = buffer_lines
        self.flush_s = flush_s
        self.inflight = Inflight()
        self.targets = list(dict.fromkeys([source.target, *targets]))
        self._switch = switch
        self.initial = initial
        self.last_status: Status | None = None
        self.conn = ConnState("connecting")
        self._gc_threshold: tuple[int, int, int] | None = None

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    # -- panes -------------------------------------------------------------------

    @property
    def log_pane(self) -> LogPane:
        return self.screen_stack[0].query_one(LogPane)

    @property
    def audit_pane(self) -> AuditPane:
        return self.screen_stack[0].query_one(AuditPane)

    @property
    def status_pane(self) -> StatusPane:
        return self.screen_stack[0].query_one(StatusPane)

    def on_mount(self) -> None:
        self.set_interval(AGE_REFRESH_S, self._refresh_ages)

    def on_ready(self) -> None:
        # A log firehose allocates fast, and with the default thresholds that
        # means a full collection every second or so, re-scanning everything:
        # 50-100 ms pauses a keypress waits behind (bench/tui_load.py). What is
        # built by now (modules, widgets, styles) lives as long as the app, so
        # it is frozen out of collections, and young objects are collected in
        # larger, rarer batches. Lines and rows are freed by reference counting
        # either way; only cyclic garbage waits longer.
        self._gc_threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(5_000, 20, 20)

    def on_unmount(self) -> None:
        if self._gc_threshold is not None:  # a process may run more than one app (tests)
            gc.unfreeze()
            gc.set_threshold(*self._gc_threshold)

    def start(self) -> None:
        """(Re)start every stream; the main screen calls it once it is composed."""
        self.screen_stack[0].query_one(ConsoleHeader).target = self.source.target
        self._watch_connection()
        self._watch_status()
        self.audit_pane.restart()
        self.log_pane.restart()

    def settled(self) -> bool:
        """Everything the source sent is on screen (for tests and the bench)."""
        return self.inflight.n == 0 and self.source.idle()

    # -- app-wide streams ----------------------------------------------------------

    @work(exclusive=True, group="connection")
    async def _watch_connection(self) -> None:
        async for state in self.source.connection():
            self.post_message(self.ConnectionChanged(state))

    @work(exclusive=True, group="status")
    async def _watch_status(self) -> None:
        def deliver(items: list[StatusView]) -> None:
            self.post_message(self.StatusArrived(items, 0))

        async def views() -> AsyncIterator[StatusView]:
            async for status in self.source.status():
                yield await asyncio.to_thread(status_view, status, self.source.now())

        try:
            await pump(each(views()), deliver, interval=self.flush_s,
                       inflight=self.inflight)  # fmt: skip
        except Exception:  # noqa: BLE001, S110 - the source has put the error in the header
            pass

    @on(ConnectionChanged)
    def _connection(self, message: ConnectionChanged) -> None:
        self.conn = message.state
        self.screen_stack[0].query_one(ConsoleHeader).conn = message.state
        self.screen_stack[0].set_class(message.state.kind in ("reconnecting", "error"), "-stale")

    @on(StatusArrived)
    def _status(self, message: StatusArrived) -> None:
        self.inflight.done(len(message.items))
        view = message.items[-1]  # a snapshot replaces what came before
        self.last_status = view.status
        self._show(view)
        if self.initial is not None:
            dep, svc = self.initial
            self.initial = None
            self.select_service(dep, svc)

    def _show(self, view: StatusView) -> None:
        main = self.screen_stack[0]
        main.query_one(ConsoleHeader).info = view.header
        main.query_one(StatusPane).update(view.rows)
        main.query_one(NodesPane).update(view.nodes)

    @work(exclusive=True, group="ages")
    async def _refresh_ages(self) -> None:
        status = self.last_status
        if status is None:
            return
        view = await asyncio.to_thread(status_view, status, self.source.now())
        if status is self.last_status:  # else a newer snapshot is already on screen
            self._show(view)

    # -- selection -----------------------------------------------------------------

    def select_service(self, deployment: str, service: str, replica_id: str = "") -> None:
        self.status_pane.select_key(
            f"r:{replica_id}" if replica_id else f"s:{deployment}/{service}"
        )
        self.log_pane.show(deployment, service, replica_id)
        audit = self.audit_pane
        audit.set_filter(AuditFilter(audit.filter.types, audit.filter.identity, deployment))

    def select_deployment(self, deployment: str) -> None:
        status = self.last_status
        spec = next((d for d in (status or {}).get("deployments", []) if d["name"] == deployment),
                    None)  # fmt: skip
        if spec is None:
            self.notify(f"no deployment {deployment!r}", severity="warning", markup=False)
            return
        if spec["services"]:
            self.select_service(deployment, spec["services"][0]["name"])
        self.status_pane.select_key(f"d:{deployment}")

    def switch_target(self, target: str) -> None:
        if target == self.source.target:
            return
        if self._switch is None:
            self.notify("switching targets is not available here", severity="warning")
            return
        try:
            source = self._switch(target)
        except Exception as exc:  # noqa: BLE001 - stay on the current target, say why
            self.notify(f"cannot switch to {target}: {exc}", severity="error", markup=False)
            return
        old, self.source = self.source, source
        self.workers.cancel_all()
        self._close(old)
        self.last_status = None
        self.log_pane.request = None
        self.start()
        self.notify(f"switched to {target}", markup=False)

    @work(group="close")
    async def _close(self, source: DataSource) -> None:
        await source.close()

    # -- global actions --------------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
