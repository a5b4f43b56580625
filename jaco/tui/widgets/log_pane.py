"""``LogPane``: the selected service's replicas, merged in time order, followed
across restarts, new replicas and reconnects. Streaming runs in an exclusive
worker (pointing the pane elsewhere cancels the old stream), batched by
``pump`` into ``LinesArrived`` messages that coalesce while queued."""

from __future__ import annotations

import os
import time
from typing import cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from jaco.logview import Line
from jaco.tui.filters import SINCE_PRESETS, LogFilter, log_request
from jaco.tui.messages import Batched
from jaco.tui.pump import pump
from jaco.tui.source import Host, LogRequest
from jaco.tui.widgets.filter_bar import FilterBar
from jaco.tui.widgets.indicator import Indicator
from jaco.tui.widgets.log_view import LogView

HINT = "Select a service in Status (enter) to tail its logs; l on a replica for its own."


class LogPane(Vertical):
    class LinesArrived(Batched[Line]):
        pass

    class StreamEnded(Message):
        def __init__(self, generation: int, error: str) -> None:
            super().__init__()
            self.generation, self.error = generation, error

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.request: LogRequest | None = None
        self.since = "tail"
        self.generation = 0
        self.ended = ""
        self._subtitle = ""

    def compose(self) -> ComposeResult:
        host = cast(Host, self.app)
        yield Static(HINT, id="log-hint")
        yield LogView(max_lines=host.buffer_lines, id="log-view")
        yield Indicator(id="log-paused")
        yield FilterBar("filter lines (alt+r regex, alt+c case, alt+v inverse)", id="log-filter")

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def on_mount(self) -> None:
        self._refresh_labels()

    # -- pointing the pane --------------------------------------------------------

    def show(self, deployment: str, service: str, replica_id: str = "") -> None:
        host = cast(Host, self.app)
        self.request = log_request(deployment, service, replica_id, self.since, host.source.now())
        self.restart()

    def set_since(self, since: str) -> None:
        if since not in SINCE_PRESETS:
            raise ValueError(f"since: one of {', '.join(SINCE_PRESETS)}")
        self.since = since
        if self.request is not None:
            r = self.request
            self.show(r.deployment, r.service, r.replica_id)
        self._refresh_labels()

    def restart(self) -> None:
        self.generation += 1
        self.ended = ""
        self.view.clear()
        self.view.follow = True
        self.query_one("#log-hint").display = self.request is None
        if self.request is not None:
            self._stream(self.request, self.generation)
        self._refresh_labels()

    def stop(self) -> None:
        self.generation += 1
        self.workers.cancel_group(self, "logs")

    @work(exclusive=True, group="logs")
    async def _stream(self, request: LogRequest, generation: int) -> None:
        host = cast(Host, self.app)

        def deliver(lines: list[Line]) -> None:
            self.post_message(self.LinesArrived(lines, generation))

        error = ""
        try:
            await pump(host.source.logs(request), deliver, interval=host.flush_s,
                       inflight=host.inflight)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - shown in the pane; the console keeps running
            from jaco.tui.client_source import reason

            error = reason(exc)
        self.post_message(self.StreamEnded(generation, error))

    @on(LinesArrived)
    def _lines(self, message: LinesArrived) -> None:
        cast(Host, self.app).inflight.done(len(message.items))
        if message.generation == self.generation:
            self.view.add_lines(message.items)

    @on(StreamEnded)
    def _ended(self, message: StreamEnded) -> None:
        if message.generation == self.generation:
            self.ended = message.error or "stream ended"
            self._refresh_labels()

    # -- labels -------------------------------------------------------------------

    @on(LogView.Changed)
    def _view_changed(self) -> None:
        self._refresh_labels()

    def _refresh_labels(self) -> None:
        view = self.view
        target = self.request.label if self.request else "no service selected"
        self.border_title = Text(f"Logs · {target}")
        parts = [self.since if self.since != "tail" else "tail"]
        if view.filter.text:
            parts.append(f"filter {view.filter.describe()} · {view.shown:,}/{view.total:,}")
        else:
            parts.append(f"{view.total:,} lines")
        parts.append("following" if view.follow else "paused")
        parts += [name for name, on_ in (("time", view.timestamps), ("wrap", view.wrap)) if on_]
        if self.ended:
            parts.append(self.ended)
        subtitle = " · ".join(parts)
        if subtitle != self._subtitle:  # each assignment repaints the border
            self._subtitle = subtitle
            self.border_subtitle = Text(subtitle)
        paused = self.query_one("#log-paused", Indicator)
        show = not view.follow and self.request is not None
        if paused.display != show:
            paused.display = show
        if show:
            paused.show(f"paused · +{view.new_lines:,} new lines · f to follow")
        failed = bool(self.ended and self.ended != "stream ended")
        if failed != self.has_class("-error"):
            self.set_class(failed, "-error")

    # -- actions ------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.view.follow = not self.view.follow

    def action_toggle_timestamps(self) -> None:
        self.view.timestamps = not self.view.timestamps
        self._refresh_labels()

    def action_toggle_wrap(self) -> None:
        self.view.wrap = not self.view.wrap
        self._refresh_labels()

    def open_filter(self) -> None:
        self.query_one(FilterBar).open(self.view.filter)

    @on(FilterBar.Changed)
    def _filter_changed(self, event: FilterBar.Changed) -> None:
        event.stop()
        self.view.set_filter(event.value)  # a bad regex matches everything until fixed
        self._refresh_labels()

    @on(FilterBar.Submitted)
    def _filter_submitted(self, event: FilterBar.Submitted) -> None:
        event.stop()
        event.bar.close()
        self.view.focus()

    @on(FilterBar.Cancelled)
    def _filter_cancelled(self, event: FilterBar.Cancelled) -> None:
        event.stop()
        self.view.set_filter(LogFilter())
        self._refresh_labels()
        self.view.focus()

    def default_save_path(self) -> str:
        label = (self.request.label if self.request else "logs").replace("/", "-")
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(cast(Host, self.app).source.now()))
        return os.path.join(os.getcwd(), f"jaco-{label}-{stamp}.log")

    def action_save(self) -> None:
        from jaco.tui.screens.save import SaveScreen

        def chosen(path: str | None) -> None:
            if path:
                self._write(path, self.view.export())

        self.app.push_screen(SaveScreen(self.default_save_path()), chosen)

    @work(thread=True, group="save")
    def _write(self, path: str, lines: list[str]) -> None:
        try:
            with open(path, "w", encoding="utf-8") as out:
                out.writelines(line + "\n" for line in lines)
        except OSError as exc:
            self.app.call_from_thread(
                self.app.notify, f"cannot save: {exc}", severity="error", markup=False
            )
            return
        note = " (filter applied)" if self.view.filter.text else ""
        self.app.call_from_thread(
            self.app.notify, f"saved {len(lines):,} lines{note} to {path}", markup=False
        )
