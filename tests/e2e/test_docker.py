"""The docker runtime end to end: a real `jacod --dev --runtime docker
--docker-host unix://…` against podman's Docker-compatible API service
(``tests/helpers/podman.py``) with a local busybox image, driven through the
operator's CLI.

The tests share one module-scoped engine and node and run in file order:
apply → running containers → `jaco logs -f` → jacod restart re-adopts (and
removes a JACO container no replica owns) → engine stopped: replicas
reported with the reason, jacod keeps serving → engine back: recovered →
delete stops and removes the containers and ends `jaco logs -f`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jacod.runtime.docker_spec import container_name
from tests.e2e.cluster import Node, wait_for
from tests.e2e.workloads import (
    LogFollower,
    cli_status,
    converged,
    replicas_of,
    status,
    wait_status,
)
from tests.helpers import remove_tree, short_tmpdir
from tests.helpers.podman import IMAGE, Podman, missing

pytestmark = pytest.mark.timeout(90)

DEP = "shop"
CONVERGE_TIMEOUT = 30.0
SPEC = f"""\
name = "{DEP}"

[services.web]
image = "{IMAGE}"
command = ["sh", "-c", 'trap "exit 0" TERM; echo "hello from $JACO_REPLICA_ID"; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.3; done']
replicas = 2
restart = "always"
"""  # noqa: E501 - a deployment file line


@dataclass
class World:
    base: Path
    podman: Podman
    node: Node
    followers: list[LogFollower] = field(default_factory=list)

    def flags(self) -> list[str]:
        return ["--dev", "--runtime", "docker", "--docker-host", self.podman.host]

    def containers(self) -> list[str]:
        return self.podman.containers(f"label=jaco.node={self.node.name}")

    def describe(self) -> str:
        return self.node.describe(30) + "\n--- podman service:\n" + self.podman.service_log()


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    if (why := missing()) is not None:
        pytest.fail(why, pytrace=False)
    base = short_tmpdir("jt-dk-")
    pm = Podman(base / "podman")
    w = World(base, pm, Node(base, "a"))
    try:
        pm.setup()
        w.node.start(*w.flags()).wait_ready()
        yield w
    finally:
        for f in w.followers:
            f.stop()
        if w.node.running:
            w.node.stop()
        pm.close()
        remove_tree(base)


def running(w: World, want: int = 2) -> dict[str, dict[str, Any]]:
    return wait_status(
        w.node, lambda st: converged(st, DEP, 1, {"web": want}), CONVERGE_TIMEOUT,
        f"{want} web replicas running", deployment=DEP,
    )  # fmt: skip


def test_apply_runs_labelled_containers(world: World) -> None:
    w = world
    spec = w.base / "shop.toml"
    spec.write_text(SPEC)
    r = w.node.jaco("apply", "-f", str(spec))
    assert r.rc == 0, f"{r}\n{w.describe()}"
    reps = running(w)
    assert all(r["started_at"] and r["restarts"] == 0 for r in reps.values()), reps
    names = w.containers()
    assert names == sorted(container_name("a", rid) for rid in reps), names
    for rid in reps:
        out = w.podman.cli("inspect", container_name("a", rid)).stdout
        labels = json.loads(out)[0]["Config"]["Labels"]
        assert labels.items() >= {
            "jaco.managed": "true", "jaco.node": "a", "jaco.deployment": DEP,
            "jaco.service": "web", "jaco.replica_id": rid, "jaco.revision": "1",
        }.items()  # fmt: skip


def test_logs_follow_shows_both_replicas(world: World) -> None:
    w = world
    f = LogFollower(w.node, f"{DEP}/web", stderr_path=w.base / "logs.stderr")
    w.followers.append(f)
    for i in (0, 1):
        rid = f"{DEP}/web/{i}"
        f.wait_line(lambda x, rid=rid: x.replica_id == rid and x.line == f"hello from {rid}",  # type: ignore[misc]
                    15, f"the first line of {rid}")  # fmt: skip
        f.wait_line(lambda x, rid=rid: x.replica_id == rid and x.line.startswith("tick "),  # type: ignore[misc]
                    15, f"a tick of {rid}")  # fmt: skip
    for rid in (f"{DEP}/web/0", f"{DEP}/web/1"):
        stamps = [x.ts_ns for x in f.snapshot() if x.replica_id == rid]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert {x.stream for x in f.snapshot() if x.replica_id == rid} == {"stdout"}


def test_jacod_restart_readopts_and_removes_orphans(world: World) -> None:
    w = world
    before = running(w)
    ids = {n: _container_id(w, n) for n in w.containers()}
    assert w.node.stop() == 0, w.describe()
    # Left by an earlier jacod of this node: a replica raft no longer has.
    stray = container_name("a", "gone/web/0")
    r = w.podman.cli("create", "--name", stray, "--label", "jaco.managed=true",
                     "--label", "jaco.node=a", "--label", "jaco.deployment=gone",
                     "--label", "jaco.service=web", "--label", "jaco.replica_id=gone/web/0",
                     "--label", "jaco.revision=1", IMAGE, "sleep", "60")  # fmt: skip
    assert r.returncode == 0, r.stderr
    w.node.start(*w.flags()).wait_ready()
    after = running(w)
    for rid, rep in after.items():
        assert rep["restarts"] == before[rid]["restarts"], (rid, rep)
        assert rep["started_at"] == before[rid]["started_at"], (rid, rep)
    wait_for(lambda: stray not in w.containers(), 15, "the orphan container removed",
             describe=w.describe)  # fmt: skip
    assert {n: _container_id(w, n) for n in w.containers()} == ids  # the same containers
    # `jaco logs -f` reconnects to the restarted jacod and goes on.
    fresh_ticks(w, "after the jacod restart")


def fresh_ticks(w: World, when: str) -> None:
    for f in w.followers:
        start = len(f.snapshot())
        for i in (0, 1):
            rid = f"{DEP}/web/{i}"
            f.wait_line(lambda x, rid=rid: x.replica_id == rid and x.line.startswith("tick "),  # type: ignore[misc]
                        20, f"a tick of {rid} {when}", start=start)  # fmt: skip


def _container_id(w: World, name: str) -> str:
    r = w.podman.cli("inspect", "--format", "{{.Id}}", name)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_engine_down_is_reported_then_recovered(world: World) -> None:
    w = world
    before = running(w)
    w.podman.stop_service()
    try:

        def reported(st: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
            reps = replicas_of(st, DEP)
            why = f"docker engine at {w.podman.host} is unreachable"
            ok = reps and all(r["state"] == "failed" and why in r["last_error"]
                              for r in reps.values())  # fmt: skip
            return reps if ok else None

        reps = wait_status(w.node, reported, 20, "replicas failed with the engine's reason",
                           deployment=DEP)  # fmt: skip
        assert all("is the engine running?" in r["last_error"] for r in reps.values())
        assert w.node.running, w.describe()  # never a crash
        shown = replicas_of(cli_status(w.node), DEP)  # what `jaco -o json status` prints
        assert all("is unreachable" in r["last_error"] for r in shown.values()), shown
    finally:
        w.podman.start_service()
    after = running(w)
    for rid, rep in after.items():  # the containers ran on: the same runs
        assert rep["started_at"] == before[rid]["started_at"], (rid, rep)
    assert w.node.running
    fresh_ticks(w, "once the engine is back")  # the follow waited for the engine


def test_delete_stops_and_removes_containers_and_ends_logs(world: World) -> None:
    w = world
    running(w)
    r = w.node.jaco("delete", DEP, "--wait", "--timeout", "30", timeout=45)
    assert r.rc == 0, f"{r}\n{w.describe()}"
    wait_for(lambda: not w.containers(), 20, "no container left", describe=w.describe)
    assert replicas_of(status(w.node), DEP) == {}
    for f in w.followers:
        f.wait_line(lambda x: not x.replica_id and x.stream == "system"
                    and f"deployment {DEP} was deleted" in x.line, 15,
                    "the line saying the deployment was deleted")  # fmt: skip
