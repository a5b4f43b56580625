"""The console's widgets, one a module."""

from jaco.tui.widgets.audit_pane import AuditPane
from jaco.tui.widgets.filter_bar import FilterBar
from jaco.tui.widgets.header import ConsoleHeader
from jaco.tui.widgets.indicator import Indicator
from jaco.tui.widgets.log_pane import LogPane
from jaco.tui.widgets.log_view import LogView
from jaco.tui.widgets.nodes_pane import NodesPane
from jaco.tui.widgets.status_pane import StatusPane

__all__ = [
    "AuditPane",
    "ConsoleHeader",
    "FilterBar",
    "Indicator",
    "LogPane",
    "LogView",
    "NodesPane",
    "StatusPane",
]
