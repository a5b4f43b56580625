"""Node pressure and rebalancing end to end: two real `jacod` processes whose
PSI is read from test files (``--pressure-source DIR``) with short intervals.
Both report their pressure (``jaco status`` shows it); node a's pressure is
then raised and kept high, and the leader moves a's replica to b — logged
under ``scheduler/rebalance`` with its reason and numbers. Raising b's too
moves nothing back onto a pressured node."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import Cluster, Node, wait_for
from tests.e2e.workloads import cli_status, converged, kill_replicas, replicas_of, wait_status
from tests.helpers import remove_tree, short_tmpdir
from tests.helpers.logs import text_records

pytestmark = pytest.mark.timeout(90)

DEP = "load"
SPEC = f"""\
name = "{DEP}"

[services.app]
command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
replicas = 2
"""
WINDOW_S = 1.5


def psi(d: Path, cpu: float) -> None:
    d.mkdir(parents=True, exist_ok=True)
    idle = "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"  # noqa: E501
    (d / "cpu").write_text(f"some avg10={cpu:.2f} avg60=1.00 avg300=0.50 total=123\n")
    (d / "memory").write_text(idle)
    (d / "io").write_text(idle)


def flags(base: Path, name: str) -> list[str]:
    return [
        "--pressure-source", str(base / f"psi-{name}"), "--pressure-interval", "0.2",
        "--rebalance-threshold", "50", "--rebalance-window", str(WINDOW_S),
        "--rebalance-interval", "0.3", "--rebalance-cooldown", "30",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Path, Cluster]]:
    base = short_tmpdir("jt-psi-")
    c = Cluster(base)
    psi(base / "psi-a", 2)
    psi(base / "psi-b", 3)
    try:
        a = c.bootstrap("a", *flags(base, "a"))
        token = c.token(a)
        c.node("b").start("--join", a.address, "--join-token", token, *flags(base, "b"))
        c["b"].wait_ready()
        c.leader()
        yield base, c
    finally:
        c.kill_all()
        kill_replicas(base)
        remove_tree(base)


def nodes_of(st: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in st["nodes"]}


def where(st: dict[str, Any]) -> list[str]:
    return sorted(r["node"] for r in replicas_of(st, DEP).values())


def test_nodes_report_pressure_and_status_shows_it(pair: tuple[Path, Cluster]) -> None:
    _, c = pair
    a = c["a"]

    def reported(st: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
        ns = nodes_of(st)
        ok = all(ns[n]["pressure"]["available"] for n in ("a", "b"))
        return ns if ok and ns["b"]["pressure"]["cpu_some_avg10"] == 3.0 else None

    ns = wait_for(lambda: reported(cli_status(a)), 15, "both nodes' pressure in status",
                  describe=c.describe)  # fmt: skip
    assert ns["a"]["pressure"]["cpu_some_avg10"] == 2.0
    text = a.jaco("status")
    assert text.rc == 0 and "cpu 2%" in text.out and "cpu 3%" in text.out, text


def test_a_pressured_node_sheds_a_replica(pair: tuple[Path, Cluster]) -> None:
    base, c = pair
    a = c["a"]
    spec = base / "load.toml"
    spec.write_text(SPEC)
    r = a.jaco("apply", "-f", str(spec), "--wait", "--timeout", "30", timeout=45)
    assert r.rc == 0, f"{r}\n{c.describe()}"
    st = wait_status(a, lambda s: converged(s, DEP, 1, {"app": 2}), 30, "2 replicas running",
                     deployment=DEP)  # fmt: skip
    assert where({"replicas": list(st.values())}) == ["a", "b"]  # spread

    raised = time.monotonic()
    psi(base / "psi-a", 90)
    st = wait_status(
        a, lambda s: s if where(s) == ["b", "b"] and converged(s, DEP, 1, {"app": 2}) else None,
        30, "both replicas running on b", deployment=DEP,
    )  # fmt: skip
    took = time.monotonic() - raised
    assert took >= WINDOW_S, f"moved after {took:.1f}s, before the window ({WINDOW_S}s)"
    moved = [r for r in replicas_of(st, DEP).values() if r["restarts"] == 0]
    assert len(moved) == 2

    leader = c.leader()
    recs = [x for x in text_records(leader.stderr()) if x["subsystem"] == "scheduler/rebalance"]
    moves = [x for x in recs if x["msg"].startswith("moving replica off a pressured node")]
    assert len(moves) == 1, recs
    line = moves[0]["msg"]
    for fragment in ("from=a", "to=b", "a has been above 50%", "window_min=90", "target_score=3"):
        assert fragment in line, line


def test_never_onto_a_pressured_node(pair: tuple[Path, Cluster]) -> None:
    base, c = pair
    a = c["a"]
    psi(base / "psi-b", 95)  # b is now pressured too; a still is
    time.sleep(WINDOW_S + 1.5)
    st = cli_status(a)
    assert where(st) == ["b", "b"], st["replicas"]
    leader: Node = c.leader()
    recs = [x for x in text_records(leader.stderr()) if x["subsystem"] == "scheduler/rebalance"]
    held = [x["msg"] for x in recs if x["msg"].startswith("pressured node")]
    assert any("node=b" in m and "no node fits" in m for m in held), held
