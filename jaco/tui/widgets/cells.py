"""(text, style) cells from ``jaco.tui.rows`` as renderables for tables."""

from __future__ import annotations

from rich.text import Text

from jaco.tui.rows import Cell


def styled(cell: Cell) -> Text:
    text, style = cell
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")
