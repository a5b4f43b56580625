"""The console under load (issue 7, Measure): the app headless (App.run_test),
first idle, then fed 5,000 log lines/s for the selected service and a
1,000-replica status (one changed snapshot a second) for 20 s. Reports the
keypress-to-screen latency (p50/p99) and the peak memory of each phase, the
loaded ones as ratios to the idle app in this same run.
Goal: latency <= 2x idle, memory <= 150 MB above idle.

Keypress-to-screen: from injecting the key to the first screen update that
shows its effect (the compositor's update, rendered to terminal segments as
a terminal would be sent them). Keys: `t` (re-render the logs pane) and
down/up (move the cursor in the status table)."""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jaco.logview import Line  # noqa: E402 - after the path fix: runs from a checkout
from jaco.tui.app import JacoApp  # noqa: E402
from jaco.tui.demo import NOW, demo_script, load_status  # noqa: E402
from jaco.tui.fake import FakeSource  # noqa: E402
from jaco.tui.testing import settle  # noqa: E402
from jaco.v1 import entities_pb2 as pb  # noqa: E402

LINES_PER_S = 5000
TICK_S = 0.01
FLUSH_S = float(__import__("os").environ.get("FLUSH_S", "0.05"))
KEYS = ("t", "down", "t", "up")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class Probe:
    """Times from a key to the first screen update on which it shows."""

    def __init__(self, app: JacoApp) -> None:
        self.app = app
        self.changed: Callable[[], bool] | None = None
        self.shown_at = 0.0
        self.peak = rss_mb()
        display = app._display  # noqa: SLF001 - the one place a frame leaves the app

        def hooked(screen: Any, renderable: Any) -> None:
            if renderable is not None:
                renderable.render_segments(app.console)  # what a terminal would be sent
                if self.changed is not None and self.changed():
                    self.shown_at, self.changed = time.perf_counter(), None
            display(screen, renderable)

        app._display = hooked  # type: ignore[method-assign]  # noqa: SLF001

    async def press(self, key: str) -> float:
        app = self.app
        view, table = app.log_pane.view, app.status_pane.table
        before = (view.timestamps, table.cursor_row)
        self.changed = lambda: (view.timestamps, table.cursor_row) != before
        t0 = time.perf_counter()
        app.simulate_key(key)
        while self.changed is not None:
            await asyncio.sleep(0.001)
            if time.perf_counter() - t0 > 10:
                raise TimeoutError(f"key {key!r} never reached the screen")
        self.peak = max(self.peak, rss_mb())
        return (self.shown_at - t0) * 1000


async def measure(probe: Probe, seconds: float, every: float = 0.05) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        key = KEYS[n % len(KEYS)]
        samples.setdefault(key, []).append(await probe.press(key))
        n += 1
        await asyncio.sleep(every)
    return samples


async def feed(app: JacoApp, stop: asyncio.Event, replicas: int, services: int) -> int:
    """5,000 lines/s to the selected service; a changed snapshot each second."""
    client = app.source.client  # type: ignore[attr-defined]
    status = load_status(replicas, services)
    client.set_status(status)
    per = replicas // services
    sent, started, next_status = 0, time.perf_counter(), 1.0
    while not stop.is_set():
        await asyncio.sleep(TICK_S)
        elapsed = time.perf_counter() - started
        due = int(elapsed * LINES_PER_S) - sent
        lines = [
            Line(
                (int(NOW) + 1) * 1_000_000_000 + (sent + i) * 1000,
                f"load/svc00/{(sent + i) % per}",
                "",
                "stdout",
                f"GET /api/items/{sent + i} 200 {(sent + i) % 97}ms user=u{(sent + i) % 13}",
            )
            for i in range(due)
        ]
        client.push_logs("load", "svc00", lines)
        client.trim_logs("load", "svc00", 20_000)
        sent += due
        if elapsed >= next_status:
            next_status += 1.0
            r = status.replicas[len(status.replicas) - 1 - int(elapsed) % replicas]
            r.restarts += 1
            r.state = pb.REPLICA_STATE_UNHEALTHY if r.restarts % 2 else pb.REPLICA_STATE_RUNNING
            client.set_status(status)
    return sent


def percentiles(samples: list[float]) -> tuple[float, float]:
    p99 = statistics.quantiles(samples, n=100)[98] if len(samples) > 1 else samples[0]
    return statistics.median(samples), p99


def summary(name: str, by_key: dict[str, list[float]]) -> tuple[float, float]:
    p50, p99 = percentiles([x for xs in by_key.values() for x in xs])
    keys = " ".join(
        f"{k}: {a:.1f}/{b:.1f}" for k, (a, b) in ((k, percentiles(v)) for k, v in by_key.items())
    )
    count = sum(map(len, by_key.values()))
    print(f"{name:<8} keypress-to-screen p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  ({count} keys; "
          f"p50/p99 by key: {keys})")  # fmt: skip
    return p50, p99


async def run(seconds: float, idle_seconds: float, replicas: int, services: int) -> int:
    app = JacoApp(FakeSource(demo_script()), flush_s=FLUSH_S)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")  # the demo's shop/web: logs pane live
        await settle(pilot)
        probe = Probe(app)
        idle = await measure(probe, idle_seconds)
        idle_peak = max(probe.peak, rss_mb())

        app.select_service("load", "svc00")  # a chatty service among 1,000 replicas
        stop = asyncio.Event()
        feeder = asyncio.create_task(feed(app, stop, replicas, services))
        await asyncio.sleep(0.5)
        app.select_service("load", "svc00")  # now that the status knows it: cursor on it
        loaded = await measure(probe, seconds)
        stop.set()
        sent = await feeder
        load_peak = max(probe.peak, rss_mb())
        shown = app.log_pane.view.total
        behind = app.inflight.n

    i50, i99 = summary("idle", idle)
    l50, l99 = summary("loaded", loaded)
    print(f"ratio    p50 {l50 / i50:.2f}x  p99 {l99 / i99:.2f}x   (goal <= 2x)")
    grew = load_peak - idle_peak
    print(f"memory   idle peak {idle_peak:.0f} MB, loaded peak {load_peak:.0f} MB: "
          f"+{grew:.0f} MB, {load_peak / idle_peak:.2f}x   (goal <= +150 MB)")  # fmt: skip
    rate = sent / seconds
    print(f"load     {sent:,} lines in {seconds:.0f} s ({rate:,.0f}/s), {replicas:,} replicas; "
          f"buffer {shown:,} lines, {behind:,} still in flight at the end")  # fmt: skip
    ok = l50 <= 2 * i50 and l99 <= 2 * i99 and grew <= 150
    print("PASS" if ok else "OVER GOAL")
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=20.0, help="loaded phase (default 20)")
    ap.add_argument("--idle-seconds", type=float, default=5.0, help="idle phase (default 5)")
    ap.add_argument("--replicas", type=int, default=1000)
    ap.add_argument("--services", type=int, default=50)
    ns = ap.parse_args()
    sys.exit(asyncio.run(run(ns.seconds, ns.idle_seconds, ns.replicas, ns.services)))


if __name__ == "__main__":
    main()
