"""``Indicator``: one line of styled text that repaints without a layout pass
(``Static.update`` re-lays the screen out, too dear at 20 updates a second)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class Indicator(Widget):
    DEFAULT_CSS = """
    Indicator { height: 1; }
    """

    text: reactive[Text] = reactive(Text, layout=False)

    def show(self, text: str | Text) -> None:
        value = text if isinstance(text, Text) else Text(text)
        if value != self.text:
            self.text = value

    def render(self) -> Text:
        return self.text
