"""``EventDetailsScreen``: one audit event, every field, the payload pretty-printed."""

from __future__ import annotations

import json

from rich.console import Group
from rich.json import JSON
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from jaco.auditview import HIGH_SIGNAL
from jaco.tui.source import AuditEvent


def details(event: AuditEvent) -> Group:
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="dim", no_wrap=True)
    fields.add_column()
    high = event["type"] in HIGH_SIGNAL
    rows = (
        ("id", str(event["id"])),
        ("time", event["ts"] or "-"),
        ("type", event["type"] + ("  (high-signal)" if high else "")),
        ("identity", event["identity"] or "-"),
        ("deployment", event["deployment"] or "-"),
        ("node", event["node"] or "-"),
        ("trace id", event["trace_id"] or "-"),
    )
    for name, value in rows:
        fields.add_row(name, Text(value, style="bold red" if high and name == "type" else ""))
    body: JSON | Text
    try:
        body = JSON.from_data(json.loads(event["payload"] or "{}"), indent=2, sort_keys=True)
    except ValueError:  # not JSON after all: show it as it is
        body = Text(event["payload"])
    return Group(fields, Text(""), Text("payload", style="dim"), body)


class EventDetailsScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close")]

    def __init__(self, event: AuditEvent) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="details-box") as box:
            box.border_title = f"Audit event #{self.event['id']} · {self.event['type']}"
            box.border_subtitle = "escape to close"
            yield Static(details(self.event))
