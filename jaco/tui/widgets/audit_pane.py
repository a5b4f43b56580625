"""``AuditPane``: the audit tail. Type / identity / deployment filters go to
the server (the stream restarts with them); high-signal events stand out;
enter opens an event's details."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable

from jaco.auditview import HIGH_SIGNAL
from jaco.tui.filters import LogFilter, audit_filter_text, parse_audit_filter
from jaco.tui.messages import Batched
from jaco.tui.pump import each, pump
from jaco.tui.source import AuditEvent, AuditFilter, Host
from jaco.tui.widgets.filter_bar import FilterBar

COLUMNS = ("time", "type", "identity", "deployment", "id", "details")


def when(ts: str | None, now: float) -> str:
    """Time of day for today's events (UTC, like every time jaco prints), else the date too."""
    if not ts:
        return "-"
    at = time.gmtime(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp())
    today = time.gmtime(now)[:3] == at[:3]
    return time.strftime("%H:%M:%S" if today else "%m-%d %H:%M", at)


def summary(payload: str) -> str:
    try:
        items = json.loads(payload).items()
    except (ValueError, AttributeError):
        return payload
    return " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in items)


def cells(event: AuditEvent, now: float) -> list[Text]:
    high = event["type"] in HIGH_SIGNAL
    base = "bold red" if high else ""
    values = [
        (when(event["ts"], now), base or "dim"),
        (("▲ " if high else "") + event["type"], base or "cyan"), (event["identity"], base),
        (event["deployment"] or "-", base), (f"#{event['id']}", base or "dim"),
        (summary(event["payload"] or ""), base),
    ]  # fmt: skip
    return [Text(v, style=s, no_wrap=True, overflow="ellipsis") for v, s in values]


class AuditTable(DataTable[object]):
    BINDINGS = [
        Binding("enter", "select_cursor", "Details"),
        Binding("escape", "clear_filter", "All events", show=False),
    ]

    def action_clear_filter(self) -> None:
        self.query_ancestor(AuditPane).set_filter(AuditFilter())

    def on_resize(self) -> None:
        # A tail: when the newest event is selected, keep it in view as panes
        # around it come and go (the nodes pane appears with the first status).
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.scroll_end(animate=False)


class AuditPane(Vertical):
    class EventsArrived(Batched[AuditEvent]):
        pass

    class EventChosen(Message):
        def __init__(self, event: AuditEvent) -> None:
            super().__init__()
            self.event = event

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.filter = AuditFilter()
        self.events: dict[str, AuditEvent] = {}
        self.generation = 0
        self.error = ""

    def compose(self) -> ComposeResult:
        yield AuditTable(cursor_type="row", id="audit-table")
        yield FilterBar("type:apply,auth_denied identity:NAME deployment:DEP  (enter)",
                        toggles=False, id="audit-filter")  # fmt: skip

    @property
    def table(self) -> AuditTable:
        return self.query_one(AuditTable)

    def on_mount(self) -> None:
        self._refresh_labels()

    def set_filter(self, flt: AuditFilter) -> None:
        if flt != self.filter:
            self.filter = flt
            self.restart()

    def restart(self) -> None:
        self.generation += 1
        self.error = ""
        self.events.clear()
        table = self.table
        table.clear(columns=True)  # and their widths: a narrower filter gets narrower columns
        for name in COLUMNS:
            table.add_column(name.upper(), key=name)
        self._stream(self.filter, self.generation)
        self._refresh_labels()

    @work(exclusive=True, group="audit")
    async def _stream(self, flt: AuditFilter, generation: int) -> None:
        host = cast(Host, self.app)

        def deliver(events: list[AuditEvent]) -> None:
            self.post_message(self.EventsArrived(events, generation))

        try:
            await pump(each(host.source.audit(flt)), deliver, interval=host.flush_s,
                       inflight=host.inflight)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - shown in the pane; the console keeps running
            from jaco.tui.client_source import reason

            self.error = reason(exc)
            self._refresh_labels()

    @on(EventsArrived)
    def _arrived(self, message: EventsArrived) -> None:
        host = cast(Host, self.app)
        host.inflight.done(len(message.items))
        if message.generation != self.generation:
            return
        table = self.table
        at_end = table.cursor_row >= table.row_count - 1
        for event in message.items:
            key = str(event["id"])
            if key in self.events:
                continue
            self.events[key] = event
            table.add_row(*cells(event, host.source.now()), key=key)
        over = len(self.events) - host.buffer_lines
        if over > 0:
            for key in list(self.events)[:over]:
                del self.events[key]
                table.remove_row(key)
        if at_end and table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)
        self._refresh_labels()

    def _refresh_labels(self) -> None:
        scope = self.filter.describe() or "all events"
        self.border_title = Text(f"Audit · {scope}")
        high = sum(1 for e in self.events.values() if e["type"] in HIGH_SIGNAL)
        parts = [f"{len(self.events):,} events"]
        if high:
            parts.append(f"{high} high-signal")
        if self.error:
            parts.append(self.error)
        self.border_subtitle = Text(" · ".join(parts))

    def open_filter(self) -> None:
        self.query_one(FilterBar).open(LogFilter(audit_filter_text(self.filter)))

    @on(FilterBar.Changed)
    def _typing(self, event: FilterBar.Changed) -> None:
        event.stop()  # applied on enter: each change restarts the server-side stream

    @on(FilterBar.Submitted)
    def _submitted(self, event: FilterBar.Submitted) -> None:
        event.stop()
        try:
            flt = parse_audit_filter(event.value.text, self.filter)
        except ValueError as exc:
            event.bar.show_error(str(exc))
            return
        event.bar.close()
        self.table.focus()
        self.set_filter(flt)

    @on(FilterBar.Cancelled)
    def _cancelled(self, event: FilterBar.Cancelled) -> None:
        event.stop()
        self.table.focus()
        self.set_filter(AuditFilter(deployment=self.filter.deployment))

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        chosen = self.events.get(event.row_key.value or "")
        if chosen is not None:
            self.post_message(self.EventChosen(chosen))
