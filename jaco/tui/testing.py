"""Helpers for driving the console headless (tests, snapshots, the bench):
the demo cluster's app and a wait until everything sent is on screen."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerState

from jaco.tui.app import JacoApp
from jaco.tui.fake import FakeSource, Script


def demo_app(script: Script | None = None, **kwargs: Any) -> JacoApp:
    """The console over the scripted demo cluster (fixed clock and ids)."""
    kwargs.setdefault("flush_s", 0.01)
    return JacoApp(FakeSource(script), **kwargs)


async def settle(
    pilot: Pilot[Any], *, screenshot: bool = False, timeout: float = 10.0, stable: int = 3
) -> None:
    """Wait until the source has nothing on its way and every batch is on
    screen, several checks in a row (a worker may start a stream just after
    a check). For a screenshot, also freeze cursor blinking and let the
    layout-driven parts (scrollbars) repaint, so it is the same every run."""
    app = pilot.app
    assert isinstance(app, JacoApp)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    calm = 0
    while calm < stable:
        await pilot.pause(0.01)
        starting = any(w.state == WorkerState.PENDING for w in app.workers)
        calm = calm + 1 if app.settled() and not starting else 0
        if loop.time() > deadline:
            raise TimeoutError(f"console did not settle (inflight={app.inflight.n})")
    if not screenshot:
        return
    for field in app.screen.query(Input):
        field.cursor_blink = False
    # Scrollbars and other layout-driven parts repaint on the next frames.
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.05)


def keys(text: str) -> list[str]:
    """``text`` as pilot key presses (``_`` alone means "pause" to the pilot)."""
    return ["underscore" if c == "_" else "space" if c == " " else c for c in text]


def enter_text(app: JacoApp, text: str) -> None:
    """Put ``text`` in the focused input at once (as a paste would): typing it
    key by key through the pilot costs ~0.1 s a key."""
    field = app.focused
    assert isinstance(field, Input), field
    field.value = text
    field.cursor_position = len(text)
