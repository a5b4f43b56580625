"""Workloads end to end (issue 4, "Tests that must exist and pass"): three
real `jacod` processes on loopback with the process runtime run
``examples/shop.toml`` (an HTTP server with a health check and a chatty
worker) through the operator's CLI.

The tests share one module-scoped cluster a/b/c and run in file order, each
building on the last: apply → kill -9 a replica → new revision and rollback →
restart one jacod (re-adoption) → delete. A `jaco logs shop/worker -f` is
started before the kill and kept running until the delete, which must end it
with a clear line. Replicas are checked where they really are: the shim's
``state.json`` under the node's data dir, /proc (pids, environment, shim
command lines) and the replicas' own HTTP ports. At teardown every shim and
replica process of the module's data dirs is killed; the temp dir is kept
(path printed) when a test failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import Cluster, Node, wait_for
from tests.e2e.workloads import (
    LogFollower,
    LogLine,
    agent_ports,
    cli_status,
    converged,
    deployment_of,
    environ,
    http_get,
    parse_rfc3339_ns,
    pid_alive,
    replica_dir,
    replicas_of,
    shim_keys,
    shim_state,
    status,
    three_node_world,
    wait_status,
)
from tests.helpers import short_tmpdir

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "examples" / "shop.toml"
DEP = "shop"
V1 = {"web": 2, "worker": 3}  # replicas per service in examples/shop.toml
V2 = {"web": 3, "worker": 3}  # the changed spec
CONVERGE_TIMEOUT = 30.0
RESTART_TIMEOUT = 15.0
LOG_TIMEOUT = 15.0
GONE_TIMEOUT = 15.0


@dataclass(frozen=True)
class Kill:
    replica_id: str
    node: str
    ts_ns: int  # wall clock, as log lines are stamped
    monotonic: float  # as LogFollower stamps when it read a line


@dataclass
class World:
    """The shared cluster and what earlier tests learned about it."""

    base: Path
    cluster: Cluster
    followers: list[LogFollower] = field(default_factory=list)
    worker_logs: LogFollower | None = None  # started before the kill -9, ends at the delete
    kill: Kill | None = None
    web_ports: dict[str, int] = field(default_factory=dict)  # replica id -> host port (rev 1)

    @property
    def nodes(self) -> list[Node]:
        return list(self.cluster.nodes.values())

    def node(self, name: str) -> Node:
        return self.cluster[name]

    @property
    def cli(self) -> Node:
        """Where the operator's commands go."""
        return self.cluster["a"]

    def follow(self, via: Node, target: str) -> LogFollower:
        n = len(self.followers)
        f = LogFollower(via, target, stderr_path=self.base / f"logs-{n}.stderr")
        self.followers.append(f)
        return f

    def describe(self) -> str:
        return "\n".join(n.describe(25) for n in self.nodes)


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    base = short_tmpdir("jt-wl-")
    w = World(base, Cluster(base))
    try:
        with three_node_world(request, base, w.cluster):
            yield w
    finally:
        for f in w.followers:
            f.stop()


# ---------------------------------------------------------------- helpers


def by_service(reps: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in reps.values():
        out.setdefault(r["service"], []).append(r)
    return out


def wait_converged(w: World, revision: int, want: dict[str, int]) -> dict[str, dict[str, Any]]:
    reps: dict[str, dict[str, Any]] = wait_status(
        w.cli,
        lambda st: converged(st, DEP, revision, want),
        CONVERGE_TIMEOUT,
        f"{DEP} to converge on revision {revision} with {want}",
    )
    return reps


def assert_one_shim_each(w: World, reps: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Exactly one live shim per replica of ``reps``, under its own node's data
    dir, and no shim of the deployment besides; the shim pids by replica id."""
    shims = shim_keys(w.base)
    mine = {k: v for k, v in shims.items() if k.startswith(f"{DEP}~")}
    want = {rid.replace("/", "~"): rid for rid in reps}
    assert set(mine) == set(want), f"shims {sorted(mine)} but replicas {sorted(want)}"
    out = {}
    for key, rid in want.items():
        assert len(mine[key]) == 1, f"{rid} has {len(mine[key])} shims: {mine[key]}"
        node = w.node(reps[rid]["node"])
        st = shim_state(node, rid)
        assert st["shim_pid"] == mine[key][0], (rid, st, mine[key])
        out[rid] = mine[key][0]
    # and each under the node it is assigned to (the key alone is the same on every node)
    for d in (d for n in w.nodes for d in (n.data_dir / "runtime" / "replicas").glob(f"{DEP}~*")):
        owner = want.get(d.name)
        assert owner is not None, f"stray replica dir {d}"
        assert d == replica_dir(w.node(reps[owner]["node"]), owner), (
            f"{d} is not on {reps[owner]['node']}"
        )
    return out


def children(w: World, reps: dict[str, dict[str, Any]]) -> dict[str, int]:
    """The command's pid (not the shim's) of each replica, from its state.json."""
    out = {}
    for rid, r in reps.items():
        st = shim_state(w.node(r["node"]), rid)
        assert st["status"] == "running", (rid, st)
        out[rid] = int(st["child_pid"])
    return out


def lines_of(lines: list[LogLine], rid: str) -> list[LogLine]:
    return [x for x in lines if x.replica_id == rid]


def _newer_line_of(rid: str, since_ns: int, x: LogLine) -> bool:
    return x.replica_id == rid and x.ts_ns > since_ns


def assert_no_repeats(lines: list[LogLine]) -> None:
    keys = [(x.replica_id, x.ts_ns) for x in lines if x.replica_id]
    dups = {k for k in keys if keys.count(k) > 1}
    assert not dups, f"lines printed twice: {sorted(dups)[:5]}"
    for rid in {x.replica_id for x in lines if x.replica_id}:
        ts = [x.ts_ns for x in lines_of(lines, rid)]
        assert ts == sorted(ts), f"{rid}'s lines are out of time order"


# ---------------------------------------------------------------- 1. apply


def test_apply_runs_both_services_spread_and_serving(world: World) -> None:
    w = world
    t0 = time.monotonic()
    r = w.cli.jaco("apply", "-f", str(SHOP), "--wait", "--timeout", str(CONVERGE_TIMEOUT),
                   timeout=CONVERGE_TIMEOUT + 15)  # fmt: skip
    took = time.monotonic() - t0
    assert r.rc == 0, f"apply --wait failed: {r}\n{w.describe()}"
    assert f"deployment {DEP} revision 1 applied" in r.out, r.out
    assert "all replicas running" in r.out, r.out
    print(f"apply --wait: {took:.1f}s")

    st = cli_status(w.cli)
    dep = deployment_of(st, DEP)
    assert dep is not None and dep["revision"] == 1, st["deployments"]
    reps = replicas_of(st, DEP)
    assert sorted(reps) == [f"{DEP}/web/0", f"{DEP}/web/1",
                            f"{DEP}/worker/0", f"{DEP}/worker/1", f"{DEP}/worker/2"]  # fmt: skip
    for rep in reps.values():
        assert rep["state"] == "running", rep
        assert rep["revision"] == 1 and rep["restarts"] == 0, rep
        assert rep["node"] in {"a", "b", "c"}, rep
        assert rep["started_at"], rep

    # Spread: with 3 nodes and at most 3 replicas, no node holds two of a service.
    for svc, group in by_service(reps).items():
        placed = [x["node"] for x in group]
        assert len(set(placed)) == len(placed), f"{svc} not spread: {placed}"
    assert {x["node"] for x in by_service(reps)["worker"]} == {"a", "b", "c"}

    # Each replica runs where status says, once.
    assert_one_shim_each(w, reps)
    pids = children(w, reps)
    for rid, pid in pids.items():
        assert pid_alive(pid), f"{rid}: command pid {pid} is not running"
        env = environ(pid)
        assert env.get("JACO_REPLICA_ID") == rid, (rid, env)
        assert env.get("JACO_NODE") == reps[rid]["node"], (rid, env)
        assert env.get("JACO_REVISION") == "1", (rid, env)

    # The HTTP replicas answer on their host ports ($PORT, stable per replica).
    for rep in by_service(reps)["web"]:
        rid, node = rep["id"], w.node(rep["node"])
        port = agent_ports(node, rid)[8080]
        assert environ(pids[rid]).get("PORT") == str(port)
        assert environ(pids[rid]).get("JACO_PORT_8080") == str(port)
        code, body = http_get(port)
        assert code == 200 and b"<html" in body.lower(), (rid, code, body[:200])
        w.web_ports[rid] = port
    assert len(set(w.web_ports.values())) == len(w.web_ports), w.web_ports


# ---------------------------------------------------------------- 2. kill -9


def test_kill9_replica_is_restarted(world: World) -> None:
    w = world
    leader = w.cluster.leader()
    serving = next(n for n in w.nodes if n is not leader)
    reps = replicas_of(status(w.cli), DEP)
    # A worker on another node than the one serving the logs: its lines come
    # through the serving node's fan-out.
    victim = next(rid for rid, x in sorted(reps.items())
                  if x["service"] == "worker" and x["node"] != serving.name)  # fmt: skip
    host = w.node(reps[victim]["node"])
    others = {rid: x for rid, x in reps.items() if rid != victim}

    # `jaco logs -f` runs from before the kill; the next test reads what it printed.
    r = w.cli.jaco("logs", "--help")
    assert r.rc == 0, f"`jaco logs --help` failed: {r}"
    logs = w.worker_logs = w.follow(serving, f"{DEP}/worker")
    with contextlib.suppress(AssertionError):  # judged by the next test
        logs.wait_line(lambda x: x.replica_id == victim and "processed order" in x.line,
                       LOG_TIMEOUT, f"a line of {victim} before the kill")  # fmt: skip

    old = shim_state(host, victim)
    old_child = int(old["child_pid"])
    assert environ(old_child).get("JACO_REPLICA_ID") == victim  # the command, not the shim
    assert old_child != old["shim_pid"]
    kill = w.kill = Kill(victim, host.name, time.time_ns(), time.monotonic())
    os.kill(old_child, signal.SIGKILL)

    def restarted(st: dict[str, Any]) -> dict[str, Any] | None:
        x = replicas_of(st, DEP).get(victim)
        if x and x["restarts"] == 1 and x["state"] == "running" and x["started_at"]:
            if parse_rfc3339_ns(x["started_at"]) > kill.ts_ns:
                return x
        return None

    wait_status(w.cli, restarted, RESTART_TIMEOUT, f"{victim} to be restarted once and running")
    now = shim_state(host, victim)
    assert now["status"] == "running", now
    assert int(now["child_pid"]) != old_child and pid_alive(int(now["child_pid"])), (old, now)
    assert not pid_alive(old_child)
    assert environ(int(now["child_pid"])).get("JACO_REPLICA_ID") == victim

    # What an operator sees: `jaco status -o json`.
    st = cli_status(w.cli)
    after = replicas_of(st, DEP)
    assert after[victim]["state"] == "running" and after[victim]["restarts"] == 1, after[victim]
    assert after[victim]["node"] == host.name, after[victim]
    assert "SIGKILL" in after[victim]["last_error"], after[victim]
    for rid, x in others.items():
        assert after[rid]["restarts"] == 0 and after[rid]["state"] == "running", after[rid]
        assert after[rid]["started_at"] == x["started_at"], (rid, "was restarted too")
    assert_one_shim_each(w, after)


def test_logs_follow_shows_lines_before_and_after_the_restart(world: World) -> None:
    """The `jaco logs shop/worker -f` started before the kill -9 printed the
    killed replica's lines live before it, and goes on with its new run (whose
    counter starts over at 1), in time order, nothing twice."""
    w = world
    logs, kill = w.worker_logs, w.kill
    assert logs is not None and kill is not None, "the kill test did not get that far"
    before = [
        x
        for x in lines_of(logs.snapshot(), kill.replica_id)
        if x.received < kill.monotonic and "processed order" in x.line
    ]
    assert before, (
        f"`jaco logs -f` printed no line of {kill.replica_id} before it was killed\n"
        + logs.describe()
    )
    assert all(x.ts_ns < kill.ts_ns for x in before)
    first = logs.wait_line(
        lambda x: (
            x.replica_id == kill.replica_id
            and x.ts_ns > kill.ts_ns
            and x.line.endswith("processed order 1")
        ),
        LOG_TIMEOUT,
        f"{kill.replica_id}'s first line after the restart",
    )
    assert first.node == kill.node, first
    assert logs.proc.poll() is None, logs.describe()
    assert_no_repeats(logs.snapshot())
    workers = {r for r in replicas_of(status(w.cli), DEP) if "/worker/" in r}
    assert {x.replica_id for x in logs.snapshot() if x.replica_id} >= workers, logs.describe()


# ---------------------------------------------------------------- 3. new revision, rollback


def test_new_revision_then_rollback_to_the_first(world: World) -> None:
    w = world
    text = SHOP.read_text()
    v2 = text.replace('WORKER_NAME = "order-worker"', 'WORKER_NAME = "order-worker-v2"')
    v2 = v2.replace("replicas = 2\n", "replicas = 3\n")
    assert v2.count("order-worker-v2") == 1 and v2.count("replicas = 3\n") == 2, v2
    path = w.base / "shop-v2.toml"
    path.write_text(v2)

    r = w.cli.jaco("apply", "-f", str(path), "--wait", "--timeout", str(CONVERGE_TIMEOUT),
                   timeout=CONVERGE_TIMEOUT + 15)  # fmt: skip
    assert r.rc == 0, f"apply v2 failed: {r}\n{w.describe()}"
    assert f"deployment {DEP} revision 2 applied" in r.out, r.out
    reps = wait_converged(w, 2, V2)
    for rid, pid in children(w, reps).items():
        env = environ(pid)
        assert env["JACO_REVISION"] == "2", (rid, env)
        if "/worker/" in rid:
            assert env["WORKER_NAME"] == "order-worker-v2", (rid, env)
    assert_one_shim_each(w, reps)

    # The re-apply of the same file is not a new revision.
    again = w.cli.jaco("apply", "-f", str(path))
    assert again.rc == 0 and "unchanged (revision 2)" in again.out, again

    if w.worker_logs is not None and w.worker_logs.proc.poll() is None:
        # the follower from the kill test goes on across the new incarnations
        w.worker_logs.wait_line(lambda x: "order-worker-v2: processed order" in x.line,
                                LOG_TIMEOUT, "a line of revision 2's workers")  # fmt: skip

    r = w.cli.jaco("rollback", DEP, "--wait", "--timeout", str(CONVERGE_TIMEOUT),
                   timeout=CONVERGE_TIMEOUT + 15)  # fmt: skip
    assert r.rc == 0, f"rollback failed: {r}\n{w.describe()}"
    assert f"deployment {DEP} rolled back: now revision 3" in r.out, r.out

    listed = w.cli.jaco("-o", "json", "rollback", DEP, "--list")
    assert listed.rc == 0, listed
    revs = {x["revision"]: x for x in json.loads(listed.out)}
    assert sorted(revs) == [1, 2, 3], sorted(revs)
    assert revs[3]["services"] == revs[1]["services"], "revision 3 is not revision 1's services"
    assert revs[3]["services"] != revs[2]["services"]

    st = cli_status(w.cli)
    dep = deployment_of(st, DEP)
    assert dep is not None and dep["revision"] == 3, dep
    assert dep["services"] == revs[1]["services"]

    reps = wait_converged(w, 3, V1)
    assert f"{DEP}/web/2" not in reps
    wait_for(lambda: f"{DEP}~web~2" not in shim_keys(w.base), GONE_TIMEOUT,
             "web/2's shim to be gone after the rollback")  # fmt: skip
    shims = assert_one_shim_each(w, reps)
    assert len(shims) == sum(V1.values())
    for rid, pid in children(w, reps).items():
        env = environ(pid)
        assert env["JACO_REVISION"] == "3", (rid, env)
        if "/worker/" in rid:
            assert env["WORKER_NAME"] == "order-worker", (rid, env)
    # Host ports belong to the replica, across revisions.
    for rid, port in w.web_ports.items():
        node = w.node(reps[rid]["node"])
        assert agent_ports(node, rid)[8080] == port, (rid, "port changed")
        code, _ = wait_for(partial(http_get, port), 10, f"{rid} to answer on {port}")
        assert code == 200


# ---------------------------------------------------------------- 4. jacod restart


def test_jacod_restart_readopts_replicas_without_duplicates(world: World) -> None:
    w = world
    leader = w.cluster.leader()
    serving = w.worker_logs.node if w.worker_logs is not None else None
    # Not the leader (no election in the way), not the node serving the follower.
    target = next((n for n in w.nodes if n is not leader and n is not serving),
                  next(n for n in w.nodes if n is not leader))  # fmt: skip
    reps = wait_converged(w, 3, V1)
    here = {rid: x for rid, x in reps.items() if x["node"] == target.name}
    assert here, f"no replica on {target.name}: {reps}"
    shims_before = assert_one_shim_each(w, reps)
    pids_before = children(w, reps)

    offset = len(target.stderr())
    rc = target.stop()
    assert rc == 0, f"{target.name} exited {rc} on SIGTERM\n{target.describe()}"
    # The replicas outlive their jacod.
    for rid in here:
        assert pid_alive(pids_before[rid]), f"{rid} died with {target.name}'s jacod"
        assert pid_alive(shims_before[rid]), f"{rid}'s shim died with {target.name}'s jacod"

    target.start().wait_ready()

    def since_restart() -> str:
        return target.stderr()[offset:]

    wait_for(
        lambda: all(f"adopted running replica replica_id={rid} " in since_restart()
                    for rid in here),
        RESTART_TIMEOUT,
        f"{target.name} to log the adoption of {sorted(here)}",
        describe=target.describe,
    )  # fmt: skip

    # status (asked of the restarted node itself) shows them running, same runs
    def same_runs(st: dict[str, Any]) -> bool:
        now = converged(st, DEP, 3, V1)
        return now is not None and all(
            now[rid]["started_at"] == reps[rid]["started_at"]
            and now[rid]["restarts"] == reps[rid]["restarts"]
            and now[rid]["node"] == reps[rid]["node"]
            for rid in reps
        )

    wait_status(
        target, same_runs, RESTART_TIMEOUT, "the same runs, all running, via the restarted node"
    )

    # None duplicated, none replaced: for a few agent sync periods, exactly one
    # shim per replica, the same shim and command pids as before.
    deadline = time.monotonic() + 3.0
    while True:
        assert assert_one_shim_each(w, reps) == shims_before
        assert children(w, reps) == pids_before
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    st = cli_status(w.cli)
    for rid, x in replicas_of(st, DEP).items():
        assert x["state"] == "running" and x["started_at"] == reps[rid]["started_at"], x
    for rid in here:
        assert f"replica started replica_id={rid} " not in since_restart(), (
            f"{rid} was started again after the restart\n{target.describe()}"
        )


# ---------------------------------------------------------------- 5. logs ride out a jacod restart


def test_logs_follow_keeps_going_after_a_jacod_restart(world: World) -> None:
    """The follower from the kill test still runs and still gets every
    worker's new lines, those of the node whose jacod restarted included."""
    w = world
    logs = w.worker_logs
    assert logs is not None, "the kill test did not start `jaco logs -f`"
    assert logs.proc.poll() is None, logs.describe()
    since = time.time_ns()
    reps = replicas_of(status(w.cli), DEP)
    for rid in sorted(rid for rid in reps if "/worker/" in rid):
        logs.wait_line(partial(_newer_line_of, rid, since), LOG_TIMEOUT, f"a new line of {rid}")
    assert_no_repeats(logs.snapshot())


# ---------------------------------------------------------------- 6. delete


def test_delete_stops_everything_and_ends_logs(world: World) -> None:
    w = world
    reps = wait_converged(w, 3, V1)
    pids = children(w, reps)
    shims = assert_one_shim_each(w, reps)
    serving = w.worker_logs.node if w.worker_logs is not None else w.node("b")
    web_logs = w.follow(serving, f"{DEP}/web")
    with contextlib.suppress(AssertionError):  # judged at the end, after the delete's own checks
        web_logs.wait_line(lambda x: x.replica_id.startswith(f"{DEP}/web/"), LOG_TIMEOUT,
                           "a line of the web replicas")  # fmt: skip
    deleted_mono = time.monotonic()

    r = w.cli.jaco("delete", DEP, "--wait", "--timeout", "30", timeout=45)
    assert r.rc == 0, f"delete --wait failed: {r}\n{w.describe()}"
    assert f"deployment {DEP} deleted" in r.out, r.out
    assert f"deployment {DEP} is gone" in r.out, r.out
    # `--wait` returns once every node stopped and removed its replicas
    # (jaco delete --help): nothing of them is left at that moment.
    lingering = {k: v for k, v in shim_keys(w.base).items() if k.startswith(f"{DEP}~")}
    assert not lingering, lingering
    for rid, pid in [*pids.items(), *shims.items()]:
        assert not pid_alive(pid), f"{rid}: pid {pid} still runs after delete --wait returned"
    dirs = [d for n in w.nodes for d in (n.data_dir / "runtime" / "replicas").glob(f"{DEP}~*")]
    assert not dirs, dirs

    st = cli_status(w.cli)
    assert deployment_of(st, DEP) is None, st["deployments"]
    assert replicas_of(st, DEP) == {}, replicas_of(st, DEP)
    for n in w.nodes:  # every node's view agrees
        assert replicas_of(status(n), DEP) == {}, n.name

    for n in w.nodes:
        agent = json.loads((n.data_dir / "agent" / "agent.json").read_text())
        assert not [rid for rid in agent["replicas"] if rid.startswith(f"{DEP}/")], agent

    # Every `jaco logs -f` ends with a clear line, and exit code 0: the one
    # started just before the delete, and the one running since the kill test.
    assert any(x.received < deleted_mono for x in web_logs.snapshot()), (
        "`jaco logs shop/web -f` printed nothing before the delete\n" + web_logs.describe()
    )
    followers = [f for f in (web_logs, w.worker_logs) if f is not None]
    for f in followers:
        f.wait_line(lambda x: not x.replica_id and x.stream == "system"
                    and f"deployment {DEP} was deleted" in x.line,
                    LOG_TIMEOUT, "the line saying the deployment was deleted")  # fmt: skip
        rc = f.wait_exit(LOG_TIMEOUT)
        assert rc == 0, f"`jaco logs -f` exited {rc}\n{f.describe()}"
        last = f.snapshot()[-1]
        assert not last.replica_id and f"deployment {DEP} was deleted" in last.line, f.describe()
        assert_no_repeats(f.snapshot())
