"""``FilterBar``: the `/` prompt at the bottom of a pane. Text, and for logs
three toggles (alt+r regex, alt+c case, alt+v inverse, or click them).
Enter keeps the filter, escape drops it."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Label, Static

from jaco.tui.filters import LogFilter


class Toggle(Static):
    """A clickable flag chip."""

    DEFAULT_CSS = """
    Toggle { width: auto; padding: 0 1; margin-left: 1; color: $text-muted; background: $panel; }
    Toggle.-on { color: $text; background: $accent; text-style: bold; }
    """

    on_state: reactive[bool] = reactive(False)

    def __init__(self, label: str, flag: str) -> None:
        super().__init__(label, id=f"toggle-{flag}")
        self.flag = flag

    def watch_on_state(self, value: bool) -> None:
        self.set_class(value, "-on")

    def on_click(self) -> None:
        bar = self.query_ancestor(FilterBar)
        bar.toggle(self.flag)


class FilterBar(Horizontal):
    DEFAULT_CSS = """
    FilterBar { height: 1; display: none; background: $panel; }
    FilterBar.-open { display: block; }
    FilterBar > Label { width: auto; padding: 0 1; color: $accent; text-style: bold; }
    FilterBar > Input { width: 1fr; height: 1; border: none; padding: 0; background: $panel; }
    FilterBar > Input:focus { border: none; }
    FilterBar > .error { width: auto; color: $error; padding: 0 1; }
    """
    BINDINGS = [
        Binding("alt+r", "flip('regex')", "Regex", show=False),
        Binding("alt+c", "flip('case')", "Case", show=False),
        Binding("alt+v", "flip('invert')", "Inverse", show=False),
        Binding("escape", "cancel", "Clear filter", show=False),
    ]

    class Changed(Message):
        def __init__(self, bar: FilterBar, value: LogFilter) -> None:
            super().__init__()
            self.bar, self.value = bar, value

    class Submitted(Changed):
        pass

    class Cancelled(Message):
        def __init__(self, bar: FilterBar) -> None:
            super().__init__()
            self.bar = bar

    def __init__(self, placeholder: str, *, toggles: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.placeholder = placeholder
        self.toggles = toggles
        self.value = LogFilter()

    def compose(self) -> ComposeResult:
        yield Label("/")
        yield Input(placeholder=self.placeholder, compact=True)
        yield Label("", classes="error")
        if self.toggles:
            yield Toggle(".* regex", "regex")
            yield Toggle("Aa case", "case")
            yield Toggle("! inverse", "invert")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, value: LogFilter | None = None) -> None:
        if value is not None:
            self.value = value
            self.query_one(Input).value = value.text
            self._sync()
        self.add_class("-open")
        self.query_one(Input).focus()

    def close(self) -> None:
        self.remove_class("-open")

    def toggle(self, flag: str) -> None:
        if not self.toggles:
            return
        self.value = self.value.toggled(flag)
        self._sync()
        self.post_message(self.Changed(self, self.value))

    def action_flip(self, flag: str) -> None:
        self.toggle(flag)

    def action_cancel(self) -> None:
        self.value = LogFilter()
        self.query_one(Input).value = ""
        self._sync()
        self.close()
        self.post_message(self.Cancelled(self))

    def show_error(self, text: str) -> None:
        self.query_one(".error", Label).update(Text(text))

    def _sync(self) -> None:
        if self.toggles:
            for chip in self.query(Toggle):
                chip.on_state = bool(getattr(self.value, chip.flag))
        self.show_error(self.value.error)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value == self.value.text:
            return
        self.value = self.value.with_text(event.value)
        self._sync()
        self.post_message(self.Changed(self, self.value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(self, self.value))
