"""One log line as styled text for the logs pane: ``[time] prefix mark line``,
the prefix in its replica's colour (``jaco.logview``'s palette, the same as
``jaco logs``), stderr marked, error lines in red, filter matches highlighted."""

from __future__ import annotations

import re
import time

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from jaco.logview import MARKS, Line, colour_for, rfc3339, short_id
from jaco.tui.filters import LogFilter, is_error

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
TIME_WIDTH = 13  # "10:00:01.234 "
MATCH = Style(color="black", bgcolor="yellow", bold=True)
ERROR = Style(color="red", bold=True)
STDERR = Style(color="#ff9f9f")
DIM = Style(dim=True)
# logview's palette (shared with `jaco logs`) as fixed colours: a theme's
# "magenta" can come out close enough to red to read as an error.
HEX = {
    "cyan": "#56b6c2", "magenta": "#c678dd", "green": "#98c379", "yellow": "#e5c07b",
    "blue": "#61afef", "bright_cyan": "#8be9fd", "bright_magenta": "#d7a6ff",
    "bright_green": "#b8e994", "bright_yellow": "#f1fa8c", "bright_blue": "#9ab8ff",
}  # fmt: skip
PREFIX_STYLES = {name: Style(color=colour) for name, colour in HEX.items()}


class Entry:
    """A line as the pane keeps it: sanitised once, measured once."""

    __slots__ = ("line", "seq", "text", "width", "prefix", "error")

    def __init__(self, line: Line, seq: int) -> None:
        self.line = line
        self.seq = seq
        self.text = _CONTROL.sub("�", line.line.expandtabs())
        self.width = cell_len(self.text)
        self.prefix = short_id(line.replica_id)
        self.error = is_error(line)


def clock(ts_ns: int) -> str:
    secs, frac = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%H:%M:%S", time.gmtime(secs)) + f".{frac // 1_000_000:03d}"


def head_width(prefix_width: int, timestamps: bool) -> int:
    return (TIME_WIDTH if timestamps else 0) + prefix_width + 3


def render(entry: Entry, prefix_width: int, timestamps: bool, flt: LogFilter, base: Style) -> Text:
    line = entry.line
    text = Text(style=base, no_wrap=True, end="")
    if timestamps:
        text.append(clock(line.ts_ns) + " ", DIM)
    system = line.stream == "system"
    prefix_style = DIM if not line.replica_id else PREFIX_STYLES[colour_for(line.replica_id)]
    text.append(entry.prefix.ljust(prefix_width), prefix_style)
    mark = MARKS.get(line.stream, "|")
    text.append(f" {mark} ", ERROR if line.stream == "stderr" else DIM)
    start = len(text)
    style = DIM if system else ERROR if entry.error else STDERR if line.stream == "stderr" else None
    text.append(entry.text, style)
    for a, b in flt.spans(entry.text):
        text.stylize(MATCH, start + a, start + b)
    return text


def plain(entry: Entry, prefix_width: int) -> str:
    """For saving: full RFC 3339 time, no styles."""
    mark = MARKS.get(entry.line.stream, "|")
    return f"{rfc3339(entry.line.ts_ns, 9)} {entry.prefix.ljust(prefix_width)} {mark} {entry.text}"
