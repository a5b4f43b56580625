"""``HelpScreen`` (`?`): every key, by where it works."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Everywhere", (
        ("tab / shift+tab", "next / previous pane (or click one)"),
        ("/", "filter the focused pane (logs when Status has focus)"),
        (":", "command palette: target, deployment, service, since, audit filters"),
        ("f", "follow the logs / pause (paused: \"+N new lines\")"),
        ("t / w", "log timestamps / wrap long lines"),
        ("s", "save the logs pane to a file"),
        ("?", "this help"),
        ("q", "quit"),
    )),
    ("Status", (
        ("↑ ↓ enter", "select a service: logs follow it, audit narrows to its deployment"),
        ("l", "logs of the replica (or service) under the cursor"),
    )),
    ("Logs", (
        ("↑ pgup home", "scroll back (pauses following)"),
        ("end", "jump to the newest line and follow again"),
        ("alt+r alt+c alt+v", "in the filter: regex, case-sensitive, inverse"),
        ("enter / escape", "in the filter: keep it / clear it"),
    )),
    ("Audit", (
        ("enter", "the event's details, payload included"),
        ("/", "type:apply,auth_denied identity:NAME deployment:DEP (enter applies)"),
        ("escape", "every event again (drops the filters)"),
    )),
)  # fmt: skip


def keys_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for n, (section, rows) in enumerate(KEYS):
        if n:
            table.add_row("", "")
        table.add_row(Text(section, style="bold underline"), "")
        for key, what in rows:
            table.add_row(Text(key, style="bold cyan"), what)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = "escape to close · the mouse works too"
            yield Static(keys_table())
