"""``LogView``: a virtualised, bounded log widget. It keeps at most
``max_lines`` lines, renders only the rows on screen (each line rendered once
and cached), and takes lines in batches, so a chatty service costs a repaint
per batch, not per line. Follow / pause, filter, timestamps and wrap."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from jaco.logview import Line
from jaco.tui.filters import LogFilter
from jaco.tui.logrender import Entry, head_width, plain, render


class LogView(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    LogView { background: $surface; overflow: auto auto; }
    """

    follow: reactive[bool] = reactive(True)
    timestamps: reactive[bool] = reactive(False)
    wrap: reactive[bool] = reactive(False)

    class Changed(Message):
        """Counts or follow state changed (coalesced: only the latest matters)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogView.Changed)

    def __init__(self, max_lines: int = 10_000, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.filter = LogFilter()
        self.new_lines = 0  # shown lines that arrived while paused
        self._all: list[Entry] = []
        self._shown: list[Entry] = self._all  # the same list while unfiltered
        self._seq = 0
        self._prefix_width = 0
        self._text_width = 0
        self._starts: list[int] = []  # wrap mode: first row of each shown entry
        self._rows = 0
        self._layout_dirty = True
        self._cache: LRUCache[int, Strip] = LRUCache(1024)  # whole lines
        # rows as shown: (seq, part of a wrapped line, scroll x, width)
        self._rows_cache: LRUCache[tuple[int, int, int, int], Strip] = LRUCache(2048)

    # -- content ---------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self._all)

    @property
    def shown(self) -> int:
        return len(self._shown)

    def lines(self) -> list[Entry]:
        return list(self._shown)

    def clear(self) -> None:
        self._all.clear()
        self._shown = [] if self.filter.active else self._all
        self.new_lines = 0
        self._prefix_width = self._text_width = 0
        self._relayout()
        self.scroll_to(0, 0, animate=False, immediate=True)

    def add_lines(self, lines: Iterable[Line]) -> None:
        entries = []
        for line in lines:
            self._seq += 1
            entries.append(Entry(line, self._seq))
        if not entries:
            return
        widest = max(len(e.prefix) for e in entries)
        if widest > self._prefix_width:
            self._prefix_width = widest
            self._clear_caches()
            self._layout_dirty = True
        self._text_width = max(self._text_width, max(e.width for e in entries))
        self._all.extend(entries)
        fresh = entries
        if self._shown is not self._all:
            fresh = [e for e in entries if self.filter.keep(e.text)]
            self._shown.extend(fresh)
        if not self.follow:
            self.new_lines += len(fresh)
        self._append_layout(len(fresh))
        self._evict()
        self._update_size()
        self.post_message(self.Changed())

    def _evict(self) -> None:
        over = len(self._all) - self.max_lines
        if over <= 0:
            return
        cutoff = self._all[over].seq
        del self._all[:over]
        gone = over
        if self._shown is not self._all:
            gone = bisect_left(self._shown, cutoff, key=lambda e: e.seq)
            del self._shown[:gone]
        if not gone:
            return
        rows = gone
        if self.wrap and not self._layout_dirty:
            rows = self._starts[gone] if gone < len(self._starts) else self._rows
            del self._starts[:gone]
            base = self._starts[0] if self._starts else 0
            self._starts = [s - base for s in self._starts]
            self._rows -= rows
        if not self.follow:  # keep the lines on screen where they are
            self.scroll_to(
                y=max(0, self.scroll_y - rows), animate=False, immediate=True, force=True
            )

    # -- filter and toggles ----------------------------------------------------

    def set_filter(self, flt: LogFilter) -> None:
        if flt == self.filter:
            return
        self.filter = flt
        self._shown = [e for e in self._all if flt.keep(e.text)] if flt.active else self._all
        self._relayout()

    def watch_timestamps(self) -> None:
        self._relayout()

    def watch_wrap(self) -> None:
        self._relayout()

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.new_lines = 0
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        self.post_message(self.Changed())

    def _relayout(self) -> None:
        self._clear_caches()
        self._layout_dirty = True
        self._update_size()
        self.refresh()

    # -- geometry --------------------------------------------------------------

    def _head(self) -> int:
        return head_width(self._prefix_width, self.timestamps)

    def _indent(self, width: int) -> int:
        return min(self._head(), width // 2)

    def _height(self, entry: Entry, width: int) -> int:
        full = self._head() + entry.width
        if full <= width:
            return 1
        step = max(1, width - self._indent(width))
        return 1 + -(-(full - width) // step)

    def _append_layout(self, count: int) -> None:
        if not self.wrap or self._layout_dirty or not count:
            return
        width = max(1, self.scrollable_content_region.width)
        for entry in self._shown[-count:]:
            self._starts.append(self._rows)
            self._rows += self._height(entry, width)

    def _layout(self) -> None:
        if not self._layout_dirty:
            return
        self._layout_dirty = False
        if not self.wrap:
            self._starts, self._rows = [], len(self._shown)
            return
        width = max(1, self.scrollable_content_region.width)
        starts, row = [], 0
        for entry in self._shown:
            starts.append(row)
            row += self._height(entry, width)
        self._starts, self._rows = starts, row

    def _update_size(self) -> None:
        self._layout()
        rows = self._rows if self.wrap else len(self._shown)
        width = 0 if self.wrap else self._head() + self._text_width
        size = Size(width, rows)
        resized = size != self.virtual_size
        if resized:
            # Not `self.virtual_size = size`: that lays the whole screen out, per
            # batch. Only the scrollbars depend on it, unless one comes or goes.
            bars = (self.show_horizontal_scrollbar, self.show_vertical_scrollbar)
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)
            if bars != (self.show_horizontal_scrollbar, self.show_vertical_scrollbar):
                self.refresh(layout=True)
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)
        self.refresh()
        if resized:
            self.call_after_refresh(self._sync_scrollbar)

    def _sync_scrollbar(self) -> None:
        # Scrolled before layout decided to show the scrollbar: it missed the move.
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = self.scroll_y

    def on_resize(self) -> None:
        if self.wrap:
            self._relayout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._clear_caches()

    # -- rendering -------------------------------------------------------------

    def _strip(self, entry: Entry) -> Strip:  # the whole line, styled
        strip = self._cache.get(entry.seq)
        if strip is None:
            text = render(entry, self._prefix_width, self.timestamps, self.filter, self.rich_style)
            strip = Strip(text.render(self.app.console), self._head() + entry.width)
            self._cache[entry.seq] = strip
        return strip

    def _clear_caches(self) -> None:
        self._cache.clear()
        self._rows_cache.clear()

    def render_line(self, y: int) -> Strip:
        self._layout()
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        row = scroll_y + y
        if not self.wrap:
            if row >= len(self._shown):
                return Strip.blank(width, self.rich_style)
            return self._row(self._shown[row], 0, scroll_x, width)
        if row >= self._rows:
            return Strip.blank(width, self.rich_style)
        i = bisect_right(self._starts, row) - 1
        return self._row(self._shown[i], row - self._starts[i], 0, width)

    def _row(self, entry: Entry, part: int, scroll_x: int, width: int) -> Strip:
        """One screen row of ``entry`` (cached: a followed pane shifts every
        row each batch, and most of them were on screen a moment ago)."""
        key = (entry.seq, part, scroll_x, width)
        row = self._rows_cache.get(key)
        if row is not None:
            return row
        strip, style = self._strip(entry), self.rich_style
        if not part:
            row = strip.crop_extend(scroll_x, scroll_x + width, style)
        else:
            indent = self._indent(width)
            start = width + (part - 1) * (width - indent)
            body = strip.crop(start, start + width - indent)
            row = Strip.join([Strip.blank(indent, style), body]).extend_cell_length(width, style)
        self._rows_cache[key] = row
        return row

    # -- keys and mouse: moving away from the end pauses, `end` follows again --

    def _pause(self) -> None:
        if self.follow:
            self.follow = False

    def action_scroll_up(self) -> None:
        self._pause()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._pause()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._pause()
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        self.follow = True

    def on_mouse_scroll_up(self) -> None:
        self._pause()

    def export(self) -> list[str]:
        """The shown lines as plain text with full times, for saving."""
        return [plain(entry, self._prefix_width) for entry in self._shown]
