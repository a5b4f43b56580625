"""Status snapshot -> table rows, as plain data: (text, style) cells keyed by a
stable row key, so the status table can diff them instead of rebuilding.
Pure: no textual, no clock (``now`` is passed in)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from jaco.logview import short_id
from jaco.statusview import STATE_COLOURS, age, ready_cell, shown_state
from jaco.tui.source import Status

Cell = tuple[str, str]  # (text, rich style; "" for none)
RowKind = Literal["deployment", "service", "replica"]

# statusview's ANSI codes, as style names the console understands.
_ANSI_STYLE = {"32": "green", "36": "cyan", "33": "yellow", "31": "bold red", "90": "bright_black"}
STATE_STYLES = {state: _ANSI_STYLE[code] for state, code in STATE_COLOURS.items()}
STATUS_COLUMNS = ("name", "state", "node", "restarts", "age", "last error")
NODE_COLUMNS = ("node", "role", "health", "pressure %")
ERROR_WIDTH = 80


@dataclass(frozen=True)
class Row:
    key: str  # "d:shop", "s:shop/web", "r:shop/web/0": stable across snapshots
    kind: RowKind
    deployment: str
    cells: tuple[Cell, ...]
    service: str = ""
    replica_id: str = ""
    state: str = ""
    detail: tuple[Cell, ...] = ()  # the line under the table while this row is highlighted


@dataclass(frozen=True)
class HeaderInfo:
    cluster_id: str = ""
    leader: str = ""
    identity: str = ""
    node: str = ""
    quorum: bool = True


def header_info(st: Status) -> HeaderInfo:
    c = st["cluster"]
    return HeaderInfo(
        cluster_id=c["cluster_id"], leader=c["leader"], identity=st["identity"],
        node=st["node"]["name"], quorum=c["has_quorum"],
    )  # fmt: skip


def _ready(replicas: list[dict[str, Any]], want: int) -> Cell:
    ready = sum(1 for r in replicas if r["state"] == "running")
    style = "green" if ready >= want else ("bold red" if ready == 0 and want else "yellow")
    return (f"{ready}/{want} ready", style)


def _restarts(replicas: Iterable[dict[str, Any]]) -> Cell:
    n = sum(r["restarts"] for r in replicas)
    return (str(n), "yellow" if n else "")


def status_rows(st: Status, now: float) -> list[Row]:
    """Deployments, each followed by its services, each by its replicas."""
    by_service: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in st["replicas"]:
        by_service.setdefault((r["deployment"], r["service"]), []).append(r)
    rows: list[Row] = []
    for d in st["deployments"]:
        dep = d["name"]
        want = {s["name"]: s["replicas"] for s in d["services"]}
        extra = sorted(svc for (dp, svc) in by_service if dp == dep and svc not in want)
        mine = [r for (dp, _), rs in by_service.items() if dp == dep for r in rs]
        by = d["updated_by"] or "?"
        ready = ((ready_cell(d, mine), "bright_black") if d.get("deleting")
                 else _ready(mine, sum(want.values())))  # fmt: skip
        rows.append(Row(
            f"d:{dep}", "deployment", dep,
            ((dep, "bold"), ready, (f"rev {d['revision']}", "dim"),
             _restarts(mine), (age(d["updated_at"], now), ""), ("", "")),
            detail=((dep, "bold"), (f" revision {d['revision']} by {by}, "
                                    f"{age(d['updated_at'], now)} ago · enter: audit + logs", "")),
        ))  # fmt: skip
        for svc in [*want, *extra]:
            reps = sorted(by_service.get((dep, svc), []), key=_ordinal)
            rows.append(Row(
                f"s:{dep}/{svc}", "service", dep,
                ((f"  {svc}", "bold"), _ready(reps, want.get(svc, 0)), ("", ""),
                 _restarts(reps), ("", ""), ("", "")),
                service=svc,
                detail=((f"{dep}/{svc}", "bold"),
                        (" · enter: every replica's logs · l: one replica's", "")),
            ))  # fmt: skip
            rows.extend(_replica_row(r, now) for r in reps)
    return rows


def _ordinal(r: dict[str, Any]) -> tuple[int, str]:
    tail = r["id"].rsplit("/", 1)[-1]
    return (int(tail) if tail.isdigit() else 1 << 30, r["id"])


def _replica_row(r: dict[str, Any], now: float) -> Row:
    state = shown_state(r)
    error = " ".join((r["last_error"] or "").split())
    short = error if len(error) <= ERROR_WIDTH else error[: ERROR_WIDTH - 1] + "…"
    return Row(
        f"r:{r['id']}", "replica", r["deployment"],
        ((f"    {short_id(r['id'])}", ""), (state, STATE_STYLES.get(state, "")),
         (r["node"] or "-", ""), _restarts([r]), (age(r["started_at"], now), ""),
         (short, "red" if error else "")),
        service=r["service"], replica_id=r["id"], state=state,
        detail=((r["id"], "bold"), (f" {state}", STATE_STYLES.get(state, "")),
                (f" on {r['node'] or '-'} · {r['restarts']} restarts", ""),
                ((" · " + error) if error else "", "red")),
    )  # fmt: skip


def _pressure(p: dict[str, Any]) -> Cell:
    if not p.get("available"):
        return ("-", "dim")
    worst = max(p["cpu_some_avg10"], p["memory_some_avg10"], p["io_some_avg10"])
    text = (
        f"cpu {p['cpu_some_avg10']:.0f} mem {p['memory_some_avg10']:.0f} "
        f"io {p['io_some_avg10']:.0f}"
    )
    return (text, "bold red" if worst >= 50 else "yellow" if worst >= 20 else "")


def node_rows(st: Status) -> list[tuple[str, tuple[Cell, ...]]]:
    leader = st["cluster"]["leader"]
    out: list[tuple[str, tuple[Cell, ...]]] = []
    for n in sorted(st["nodes"], key=lambda n: (n["name"] != leader, n["name"])):
        role = n["role"] or "unknown"
        out.append((n["name"], (
            (n["name"], "bold" if n["name"] == leader else ""),
            (role, "cyan" if role == "leader" else ""),
            ("ok", "green") if n["healthy"] else ("UNHEALTHY", "bold red"),
            _pressure(n["pressure"]),
        )))  # fmt: skip
    return out


def services(st: Status) -> list[tuple[str, str]]:
    """(deployment, service) pairs in display order: for the palette."""
    return [(r.deployment, r.service) for r in status_rows(st, 0) if r.kind == "service"]


@dataclass(frozen=True)
class StatusView:
    """A snapshot with everything the screen shows of it, computed in one go
    (off the event loop: 1,000 replicas take milliseconds)."""

    status: Status
    rows: list[Row]
    nodes: list[tuple[str, tuple[Cell, ...]]]
    header: HeaderInfo


def status_view(st: Status, now: float) -> StatusView:
    return StatusView(st, status_rows(st, now), node_rows(st), header_info(st))
