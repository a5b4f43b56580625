"""The console under Textual's pilot, over the scripted demo cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot

from jaco.tui.app import JacoApp
from jaco.tui.demo import line
from jaco.tui.fake import FakeClient
from jaco.tui.testing import demo_app, settle

SIZE = (120, 36)
WEB, API = 1, 5  # rows of the demo status table (0 is the deployment shop)

Running = Callable[..., Any]


@asynccontextmanager
async def running(**kwargs: Any) -> AsyncIterator[tuple[JacoApp, Pilot[Any]]]:
    app = demo_app(**kwargs)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        yield app, pilot


@pytest.fixture
def console() -> Running:
    """``async with console() as (app, pilot)``: started and settled."""
    return running


def fake(app: JacoApp) -> FakeClient:
    client = app.source.client  # type: ignore[attr-defined]
    assert isinstance(client, FakeClient)
    return client


async def press(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def select(pilot: Pilot[Any], row: int) -> None:
    await press(pilot, *(["down"] * row), "enter")


def push_web(app: JacoApp, n: int, start: float = 0.0, text: str = "GET /cart 200") -> None:
    """``n`` new lines of shop/web, after every scripted one (the clock is fixed)."""
    lines = [line(-start - 1 - i * 0.001, f"shop/web/{i % 3}", f"{text} #{i}") for i in range(n)]
    fake(app).push_logs("shop", "web", lines)
