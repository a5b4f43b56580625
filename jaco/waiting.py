"""`--wait`: follow status until a deployment converges, or say what failed."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jaco.client import Client


def verdict(st: dict[str, Any], deployment: str, revision: int) -> tuple[bool, list[str]]:
    """(converged, problems) for ``deployment`` at ``revision``. Revision 0 waits for
    a delete: converged once the deployment is gone from the state, which is once
    every node has stopped and removed its replicas."""
    dep = next((d for d in st["deployments"] if d["name"] == deployment), None)
    if dep is None or revision == 0:
        left = [
            f"{r['id']} on {r['node']}: {r['state']}"
            + (" (stopping)" if r["state"] != "stopped" else "")
            for r in st["replicas"]
            if r["deployment"] == deployment
        ]
        return dep is None, left
    want = sum(s["replicas"] for s in dep["services"])
    mine = [r for r in st["replicas"] if r["deployment"] == deployment]
    problems = [
        f"{r['id']} on {r['node']}: {r['state']}"
        + (f" ({r['last_error']})" if r["last_error"] else "")
        for r in mine
        if r["state"] in ("failed", "unhealthy", "exited")
    ]
    ready = [r for r in mine if r["state"] == "running" and r["revision"] == dep["revision"]]
    return len(ready) == want and len(mine) == want, problems


async def wait_converged(
    client: Client, deployment: str, revision: int, timeout: float
) -> tuple[bool, list[str]]:
    from jaco.render import to_dict

    problems: list[str] = []

    async def watch() -> bool:
        nonlocal problems
        async for event in client.watch_status():
            if event.WhichOneof("event") != "snapshot":
                continue
            done, problems = verdict(to_dict(event.snapshot), deployment, revision)
            if done:
                return True
        return False

    try:
        return await asyncio.wait_for(watch(), timeout), problems
    except TimeoutError:
        return False, problems
