"""``StatusPane``: deployments -> services -> replicas, live. Each snapshot is
diffed against what is on screen: changed cells are updated in place, and the
table is rebuilt only when rows come or go (an apply, a delete, a scale)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from jaco.tui.rows import STATUS_COLUMNS, Cell, Row
from jaco.tui.widgets.cells import styled
from jaco.tui.widgets.indicator import Indicator


class StatusTable(DataTable[object]):
    BINDINGS = [
        Binding("enter", "select_cursor", "Select", tooltip="Show this service's logs and audit"),
        Binding("l", "logs", "Logs", tooltip="Tail this replica's (or service's) logs"),
    ]

    def action_logs(self) -> None:
        self.query_ancestor(StatusPane).choose(focus_logs=True)


class StatusPane(Vertical):
    class ServiceSelected(Message):
        """A service (or one replica of it) was chosen."""

        def __init__(self, deployment: str, service: str, replica_id: str, focus_logs: bool):
            super().__init__()
            self.deployment, self.service = deployment, service
            self.replica_id, self.focus_logs = replica_id, focus_logs

    class DeploymentSelected(Message):
        def __init__(self, deployment: str) -> None:
            super().__init__()
            self.deployment = deployment

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: dict[str, Row] = {}
        self._order: list[str] = []

    def compose(self) -> ComposeResult:
        table = StatusTable(cursor_type="row", zebra_stripes=False, id="status-table")
        for name in STATUS_COLUMNS:
            table.add_column(name.upper(), key=name)
        yield table
        yield Indicator(id="status-detail")

    @property
    def table(self) -> StatusTable:
        return self.query_one(StatusTable)

    def update(self, rows: list[Row]) -> None:
        table = self.table
        order = [r.key for r in rows]
        if order != self._order:
            self._rebuild(table, rows)
        else:
            for row in rows:
                old = self.rows[row.key]
                if old.cells != row.cells:
                    self._patch(table, row.key, old.cells, row.cells)
        self.rows = {r.key: r for r in rows}
        self._order = order
        ready = sum(1 for r in rows if r.kind == "replica" and r.state == "running")
        total = sum(1 for r in rows if r.kind == "replica")
        subtitle = f"{ready}/{total} replicas running" if total else ""
        if subtitle != self.border_subtitle:
            self.border_subtitle = subtitle
        self._show_detail()

    def _show_detail(self) -> None:
        row = self.current()
        text = Text(no_wrap=True, overflow="ellipsis")
        if not self.rows:
            text.append("no deployments yet: jaco apply -f FILE", "dim")
        for part, style in row.detail if row is not None else ():
            text.append(part, style)
        self.query_one("#status-detail", Indicator).show(text)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def _patch(self, table: StatusTable, key: str, old: tuple[Cell, ...], new: tuple[Cell, ...]):  # type: ignore[no-untyped-def]
        for name, before, after in zip(STATUS_COLUMNS, old, new, strict=True):
            if before != after:
                try:
                    table.update_cell(key, name, styled(after))
                except CellDoesNotExist:  # pragma: no cover - rows and keys are kept in step
                    return

    def _rebuild(self, table: StatusTable, rows: list[Row]) -> None:
        current = self.current()
        table.clear()
        for row in rows:
            table.add_row(*(styled(c) for c in row.cells), key=row.key)
        if current is not None and current.key in {r.key for r in rows}:
            table.move_cursor(row=table.get_row_index(current.key), animate=False)
        if not rows:
            self.border_subtitle = ""

    def current(self) -> Row | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None
        return self.rows.get(key or "")

    def select_key(self, key: str) -> bool:
        if key not in self.rows:
            return False
        self.table.move_cursor(row=self.table.get_row_index(key), animate=False)
        return True

    def choose(self, focus_logs: bool = False) -> None:
        row = self.current()
        if row is None:
            return
        if row.kind == "deployment":
            self.post_message(self.DeploymentSelected(row.deployment))
        else:
            rid = row.replica_id if focus_logs else ""
            self.post_message(self.ServiceSelected(row.deployment, row.service, rid, focus_logs))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.choose()
