"""`jaco delete`: a deployment being deleted is shown as such, refuses apply and
rollback, a second delete is idempotent, and `--wait` returns only once every
replica is stopped and removed."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jaco.statusview import render
from jaco.waiting import verdict
from tests.e2e.workloads import kill_replicas, pid_alive, shim_keys
from tests.helpers import Jacod, clean_env, run_jaco

pytestmark = pytest.mark.timeout(120)

# A replica that ignores SIGTERM: its node needs the whole stop grace (10 s) and
# a SIGKILL to stop it, so the deletion is still under way between the commands.
IGNORE_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
STUBBORN = f"""name = "shop"

[services.web]
command = ["{sys.executable}", "-c", "{IGNORE_TERM}"]
replicas = 2
"""


# ---------------------------------------------------------------- pure: wait, render


def replica(rid: str, state: str, removing: bool = False) -> dict[str, Any]:
    return {"id": rid, "deployment": rid.split("/")[0], "service": "web", "node": "n1",
            "state": state, "removing": removing, "revision": 1, "restarts": 0,
            "started_at": None, "last_error": ""}  # fmt: skip


def status(deployments: list[dict[str, Any]], replicas: list[dict[str, Any]]) -> dict[str, Any]:
    cluster = {"cluster_id": "c", "leader": "n1", "node_count": 1, "has_quorum": True}
    return {"cluster": cluster, "node": {"name": "n1"}, "identity": "local",
            "deployments": deployments, "replicas": replicas, "nodes": []}  # fmt: skip


def deployment(deleting: bool) -> dict[str, Any]:
    return {"name": "shop", "revision": 3, "services": [{"name": "web", "replicas": 2}],
            "updated_by": "alice", "updated_at": None, "deleting": deleting,
            "deleted_by": "bob" if deleting else "", "deleted_at": None}  # fmt: skip


def test_delete_wait_is_not_over_while_the_deployment_is_listed() -> None:
    # Every replica still running, as before the nodes got to it: not done.
    st = status([deployment(True)], [replica("shop/web/0", "running"),
                                     replica("shop/web/1", "stopped", removing=True)])  # fmt: skip
    done, left = verdict(st, "shop", 0)
    assert not done
    assert left == ["shop/web/0 on n1: running (stopping)", "shop/web/1 on n1: stopped"]
    # Even with nothing left to stop: over only once it is gone from the state.
    assert verdict(status([deployment(True)], []), "shop", 0) == (False, [])
    assert verdict(status([], []), "shop", 0) == (True, [])


def test_status_shows_a_deployment_being_deleted_and_its_stopping_replicas() -> None:
    st = status([deployment(True)], [replica("shop/web/0", "running", removing=True),
                                     replica("shop/web/1", "stopped", removing=True)])  # fmt: skip
    text = render(st)
    row = next(line for line in text.splitlines() if line.startswith("shop "))
    assert "deleting (1 left)" in row and "bob" in row
    assert "shop/web/0  stopping" in text and "shop/web/1  stopped" in text
    live = render(status([deployment(False)], [replica("shop/web/0", "running")]))
    assert "deleting" not in live and "1/2" in live


# ---------------------------------------------------------------- a real jacod


@pytest.fixture
def daemon(jacod_factory: Callable[..., Jacod], tmpdir_short: Path) -> Iterator[Jacod]:
    try:
        yield jacod_factory()
    finally:
        kill_replicas(tmpdir_short)


def jaco(d: Jacod, *args: str, timeout: float = 60) -> Any:
    return run_jaco("--server", d.server, *args, env=clean_env(), timeout=timeout)


def status_json(d: Jacod) -> dict[str, Any]:
    r = jaco(d, "-o", "json", "status")
    assert r.rc == 0, r
    return json.loads(r.out)  # type: ignore[no-any-return]


def test_delete_refuses_apply_and_rollback_meanwhile_and_wait_is_exact(
    daemon: Jacod, tmpdir_short: Path
) -> None:
    spec = tmpdir_short / "shop.toml"
    spec.write_text(STUBBORN)
    assert jaco(daemon, "apply", "-f", str(spec), "--wait", "--timeout", "60").rc == 0
    spec.write_text(STUBBORN.replace("replicas = 2", "replicas = 1"))
    assert jaco(daemon, "apply", "-f", str(spec), "--wait", "--timeout", "60").rc == 0
    shims = {k: pids for k, pids in shim_keys(tmpdir_short).items() if k.startswith("shop~")}
    assert sorted(shims) == ["shop~web~0"], shims

    r = jaco(daemon, "delete", "shop")
    assert r.rc == 0, r
    assert r.out.startswith("deployment shop deleted (audit event "), r.out

    st = status_json(daemon)
    (dep,) = st["deployments"]
    assert (dep["name"], dep["deleting"], dep["deleted_by"]) == ("shop", True, "local")
    assert "deleting" in jaco(daemon, "status").out

    r = jaco(daemon, "apply", "-f", str(spec))
    assert r.rc == 1, r
    assert ("deployment shop is being deleted (1 replica still stopping); apply again once "
            "`jaco status` no longer lists it") in r.err  # fmt: skip
    r = jaco(daemon, "rollback", "shop")
    assert r.rc == 1 and "deployment shop is being deleted" in r.err, r
    r = jaco(daemon, "apply", "-f", str(spec), "--dry-run")
    assert r.rc == 1 and "deployment shop is being deleted" in r.err, r

    r = jaco(daemon, "delete", "shop", "--wait", "--timeout", "60")
    assert r.rc == 0, r
    assert "deployment shop is already being deleted (1 replica stopping)" in r.out, r.out
    assert "deployment shop is gone" in r.out, r.out
    # Exact: by the time --wait returns, the replica's processes are gone.
    assert not [k for k in shim_keys(tmpdir_short) if k.startswith("shop~")]
    assert not any(pid_alive(pid) for pids in shims.values() for pid in pids)
    st = status_json(daemon)
    assert st["deployments"] == [] and st["replicas"] == []

    r = jaco(daemon, "-o", "json", "audit", "--type", "delete")
    assert r.rc == 0, r
    events = [json.loads(line) for line in r.out.splitlines() if line.strip()]
    assert [(e["type"], e["deployment"], e["identity"]) for e in events] == [
        ("delete", "shop", "local")]  # fmt: skip

    # Gone: a fresh apply starts over at revision 1.
    r = jaco(daemon, "apply", "-f", str(spec))
    assert r.rc == 0 and "revision 1 applied" in r.out, r
