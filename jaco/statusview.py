"""Text rendering of a status snapshot (`jaco status`, `status -w`). Shared
with the console's data layer; imports no UI toolkit."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from jaco.render import table

STATE_COLOURS = {
    "running": "32",
    "starting": "36",
    "pending": "36",
    "pulling": "36",
    "unhealthy": "33",
    "failed": "31",
    "exited": "90",
    "stopped": "90",
    "stopping": "90",
}


def shown_state(r: dict[str, Any]) -> str:
    """A replica's state as operators read it: `stopping` while its deployment's
    deletion waits for it (the node then reports `stopped`, once it is removed)."""
    state = str(r["state"])
    return "stopping" if r.get("removing") and state != "stopped" else state


def ready_cell(d: dict[str, Any], mine: list[dict[str, Any]]) -> str:
    """`2/3`, or `deleting` (with how many replicas still stop) for a deployment being deleted."""
    if d.get("deleting"):
        left = sum(1 for r in mine if shown_state(r) != "stopped")
        return f"deleting ({left} left)" if left else "deleting"
    ready = sum(1 for r in mine if r["state"] == "running")
    return f"{ready}/{sum(s['replicas'] for s in d['services'])}"


def age(ts: str | None, now: float | None = None) -> str:
    if not ts:
        return "-"
    secs = (now or time.time()) - datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    secs = max(secs, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{int(secs // size)}{unit}"
    return f"{int(secs)}s"


def paint(text: str, state: str, colour: bool) -> str:
    code = STATE_COLOURS.get(state)
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def pressure(p: dict[str, Any]) -> str:
    if not p.get("available"):
        return "-"
    return (
        f"cpu {p['cpu_some_avg10']:.0f}% mem {p['memory_some_avg10']:.0f}% "
        f"io {p['io_some_avg10']:.0f}%"
    )


def render(st: dict[str, Any], colour: bool = False) -> str:
    c = st["cluster"]
    out = [
        f"cluster {c['cluster_id']}  leader {c['leader'] or '(none)'}  nodes {c['node_count']}"
        f"  quorum {'yes' if c['has_quorum'] else 'NO'}  answered by {st['node']['name']}"
        f"  identity {st['identity']}"
    ]
    replicas = st["replicas"]
    if st["deployments"]:
        rows = []
        for d in st["deployments"]:
            mine = [r for r in replicas if r["deployment"] == d["name"]]
            deleting = bool(d.get("deleting"))
            rows.append(
                [
                    d["name"],
                    str(d["revision"]),
                    str(len(d["services"])),
                    ready_cell(d, mine),
                    (d["deleted_by"] if deleting else d["updated_by"]) or "-",
                    age(d["deleted_at"] if deleting else d["updated_at"]),
                ]
            )
        out += ["", table(rows, ["deployment", "rev", "services", "ready", "by", "age"])]
    else:
        out += ["", "no deployments (jaco apply -f FILE)"]
    if replicas:
        rows = [
            [
                r["id"],
                shown_state(r),
                r["node"],
                str(r["revision"]),
                str(r["restarts"]),
                age(r["started_at"]),
                (r["last_error"] or "")[:60],
            ]
            for r in replicas
        ]
        text = table(rows, ["replica", "state", "node", "rev", "restarts", "age", "last error"])
        if colour:  # colour the state column after alignment
            lines = text.splitlines()
            for i, r in enumerate(replicas, start=1):
                state = shown_state(r)
                lines[i] = lines[i].replace(f" {state} ", f" {paint(state, state, True)} ", 1)
            text = "\n".join(lines)
        out += ["", text]
    rows = [
        [
            n["name"],
            n["role"] or "unknown",
            n["address"] or "-",
            "healthy" if n["healthy"] else "UNHEALTHY",
            pressure(n["pressure"]),
        ]
        for n in st["nodes"]
    ]
    out += ["", table(rows, ["node", "role", "address", "health", "pressure"])]
    return "\n".join(out)
