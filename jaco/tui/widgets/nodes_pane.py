"""``NodesPane``: every node with its raft role, health and pressure (PSI)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

from jaco.tui.rows import NODE_COLUMNS, Cell
from jaco.tui.widgets.cells import styled


class NodesPane(Vertical):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: list[tuple[str, tuple[Cell, ...]]] = []

    def compose(self) -> ComposeResult:
        table: DataTable[object] = DataTable(cursor_type="none", id="nodes-table")
        table.can_focus = False
        for name in NODE_COLUMNS:
            table.add_column(name.upper(), key=name)
        yield table

    def update(self, rows: list[tuple[str, tuple[Cell, ...]]]) -> None:
        if rows == self._rows:
            return
        table = self.query_one(DataTable)
        if [k for k, _ in rows] == [k for k, _ in self._rows]:
            for (key, cells), (_, old) in zip(rows, self._rows, strict=True):
                for name, before, after in zip(NODE_COLUMNS, old, cells, strict=True):
                    if before != after:
                        table.update_cell(key, name, styled(after))
        else:
            table.clear()
            for key, cells in rows:
                table.add_row(*(styled(c) for c in cells), key=key)
        self._rows = rows
        healthy = sum(1 for _, cells in rows if cells[2][0] == "ok")
        self.border_subtitle = f"{healthy}/{len(rows)} healthy"
