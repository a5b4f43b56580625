"""``ConsoleHeader``: which cluster, through which target, who is leader, who
you are, and whether the streams are live (connected / reconnecting / error)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Static

from jaco.tui.rows import HeaderInfo
from jaco.tui.source import ConnState

_CONN = {
    "connecting": ("◌ connecting…", "conn-connecting"),
    "connected": ("● connected", "conn-connected"),
    "reconnecting": ("◌ reconnecting…", "conn-reconnecting"),
    "error": ("✖ error", "conn-error"),
}


class ConsoleHeader(Horizontal):
    DEFAULT_CSS = """
    ConsoleHeader { height: 1; dock: top; background: $panel; }
    ConsoleHeader > #brand { width: auto; padding: 0 1; background: $accent; color: $text;
                             text-style: bold; }
    ConsoleHeader > #info { width: 1fr; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    ConsoleHeader > #conn {
        width: auto; max-width: 35%; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    ConsoleHeader > .conn-connected { color: $success; }
    ConsoleHeader > .conn-connecting { color: $text-muted; }
    ConsoleHeader > .conn-reconnecting { background: $warning; color: $background;
                                         text-style: bold; }
    ConsoleHeader > .conn-error { background: $error; color: $text; text-style: bold; }
    """

    info: reactive[HeaderInfo] = reactive(HeaderInfo, init=False)
    target: reactive[str] = reactive("", init=False)
    conn: reactive[ConnState] = reactive(lambda: ConnState("connecting"), init=False)

    def compose(self) -> ComposeResult:
        yield Static("JACO", id="brand")
        yield Static(id="info")
        yield Static(id="conn")

    def _render_info(self) -> None:
        i = self.info
        text = Text(no_wrap=True, overflow="ellipsis")
        parts = [
            ("cluster ", i.cluster_id[:8] or "?"),
            ("target ", self.target),
            ("leader ", i.leader or "(none)"),
            ("you ", i.identity or "?"),
        ]
        for n, (label, value) in enumerate(parts):
            if n:
                text.append("  ")
            text.append(label, "dim")
            text.append(value, "bold" if label != "target " else "")
        if i.cluster_id and not i.quorum:
            text.append("  NO QUORUM", "bold red")
        self.query_one("#info", Static).update(text)

    def watch_info(self) -> None:
        self._render_info()

    def watch_target(self) -> None:
        self._render_info()

    def watch_conn(self, conn: ConnState) -> None:
        label, cls = _CONN[conn.kind]
        widget = self.query_one("#conn", Static)
        widget.set_classes(cls)
        widget.update(
            Text(f"{label} {conn.detail}".rstrip()) if conn.kind != "connected" else label
        )

    def on_mount(self) -> None:
        self._render_info()
        self.watch_conn(self.conn)
