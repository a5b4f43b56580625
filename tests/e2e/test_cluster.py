"""Three real `jacod` processes on loopback forming a Raft cluster (issue 3,
"Tests that must exist and pass", end-to-end part).

One module-scoped cluster a/b/c is shared; the tests run in file order and
each leaves it with three healthy members (the no-quorum tests restart what
they stopped), except the last destructive ones: `node remove` of a follower,
then of the leader. Other clusters (a second cluster for a foreign join
token, a restored node) and refused joiners live under the same temp dir, so
the final test can scan every line any jacod wrote for secrets and tokens.
The temp dir is kept (path printed) when a test failed.

Writes are `jaco backup` (a `backup_taken` audit event proposed through the
leader), reads are raw gRPC (GetStatus, QueryAudit) on each node's socket.
"""

from __future__ import annotations

import base64
import json
import pickle
import socket
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pysyncobj import SyncObj, SyncObjConf

from jacod.cluster import backup as backup_format
from tests.e2e.cluster import (
    AuditKey,
    Cluster,
    Node,
    event_key,
    payload,
    type_name,
    unique_port,
    wait_for,
)
from tests.helpers import Result, remove_tree, short_tmpdir

pytestmark = pytest.mark.timeout(120)

FAILOVER_TIMEOUT = 15.0
NO_QUORUM_DEADLINE = 15.0


@pytest.fixture(scope="module")
def base(request: pytest.FixtureRequest) -> Iterator[Path]:
    """Everything of this module (data dirs, sockets, logs); kept when a test
    failed, for the logs."""
    path = short_tmpdir("jt-raft-")
    failed_before = request.session.testsfailed
    yield path
    if request.session.testsfailed == failed_before:
        remove_tree(path)
    else:
        print(f"\nkept {path} for inspection (jacod logs: {path}/*/*.stderr)")


@pytest.fixture(scope="module")
def cluster(base: Path) -> Iterator[Cluster]:
    c = Cluster(base / "main")
    try:
        a = c.bootstrap("a")
        c.join("b", a)
        c.join("c", a)
        yield c
    finally:
        c.kill_all()


@pytest.fixture(scope="module")
def others(base: Path) -> Iterator[list[Cluster]]:
    """Clusters of individual tests (foreign cluster, restored node): killed
    at module end, their logs kept for the secret scan."""
    made: list[Cluster] = []
    yield made
    for c in made:
        c.kill_all()


def members(node: Node) -> list[tuple[str, str, str]]:
    return sorted((n.name, n.address, n.raft_address) for n in node.status().nodes)


@dataclass
class Snapshot:
    """What an outsider must not change: cluster id, members, leader, raft
    term and the audit log, as each node sees them."""

    cluster_ids: set[str]
    leaders: set[str]
    terms: set[int]
    members: list[list[tuple[str, str, str]]]
    audit: list[list[AuditKey]]


def snapshot(nodes: list[Node]) -> Snapshot:
    st = [n.status() for n in nodes]
    return Snapshot(
        cluster_ids={s.cluster.cluster_id for s in st},
        leaders={s.cluster.leader for s in st},
        terms={s.cluster.raft_term for s in st},
        members=[members(n) for n in nodes],
        audit=[n.audit_keys() for n in nodes],
    )


def write(node: Node, c: Cluster) -> int:
    return node.backup(c.base / f"w-{node.name}-{time.monotonic_ns()}.bak")


# ---------------------------------------------------------------- 1. bootstrap + joins


def test_bootstrap_and_two_joins(cluster: Cluster) -> None:
    nodes = list(cluster.nodes.values())
    assert [n.name for n in nodes] == ["a", "b", "c"]
    leader = cluster.leader()

    def all_agree() -> list[list[dict[str, object]]] | None:
        views = [n.node_ls() for n in nodes]
        for view in views:
            if sorted(v["name"] for v in view) != ["a", "b", "c"]:
                return None
            if not all(v["healthy"] for v in view):
                return None
            # A peer's term is what it said at the monitor's last ping: a node
            # pinged just before it heard from the leader shows 0 until the next.
            if not all(int(str(v["raft_term"])) > 0 for v in view):
                return None
            if [v["name"] for v in view if v["role"] == "leader"] != [leader.name]:
                return None
        return views

    views = wait_for(
        all_agree,
        15,
        "`node ls` on a, b, c to agree: 3 healthy, one leader",
        interval=0.3,
        describe=cluster.describe,
    )
    for view in views:
        by_name = {v["name"]: v for v in view}
        for n in nodes:
            assert by_name[n.name]["address"] == n.address, view
            assert by_name[n.name]["raft_address"] == n.raft_address, view
            assert int(str(by_name[n.name]["raft_term"])) > 0, view

    ids = {n.status().cluster.cluster_id for n in nodes}
    assert len(ids) == 1 and ids != {""}, ids
    assert all(n.cluster_file()["cluster_id"] in ids for n in nodes)

    log = cluster.wait_same_audit(nodes)
    events = nodes[0].audit()
    joins = [e for e in events if type_name(e) == "node_join"]
    assert sorted(payload(e)["name"] for e in joins) == ["a", "b", "c"], [
        (type_name(e), e.node, e.payload) for e in events
    ]
    assert [k.id for k in log] == list(range(1, len(log) + 1)), "audit ids are 1..n"
    assert all(e.identity == "system" for e in joins)


# ---------------------------------------------------------------- 2. write via a follower


def test_write_through_follower_visible_on_all_nodes(cluster: Cluster) -> None:
    leader = cluster.leader()
    follower = next(n for n in cluster.nodes.values() if n is not leader)
    before = leader.audit()[-1].id
    audit_id = write(follower, cluster)
    assert audit_id > before

    log = cluster.wait_same_audit(cluster.nodes.values(), min_last_id=audit_id)
    event = next(e for e in cluster[leader.name].audit() if e.id == audit_id)
    assert type_name(event) == "backup_taken"
    assert event.identity == "system"
    assert payload(event)["requested_by"] == "local", event.payload
    assert [k for k in log if k.id == audit_id] == [event_key(event)]


# ---------------------------------------------------------------- 3. kill -9 of the leader


def test_kill_leader_new_leader_keeps_writes_and_restarted_node_catches_up(
    cluster: Cluster,
) -> None:
    nodes = list(cluster.nodes.values())
    old = cluster.leader()
    survivors = [n for n in nodes if n is not old]
    term_before = old.status().cluster.raft_term
    # Acknowledged writes (through the leader and both followers); the leader
    # is killed the moment the last one is acknowledged, without waiting for
    # the followers to apply it.
    acked = [write(old, cluster), write(survivors[0], cluster), write(survivors[1], cluster)]
    old.kill()
    t0 = time.monotonic()
    before = [k for k in survivors[0].audit_keys() if k.id not in acked]

    new = cluster.leader(survivors, timeout=FAILOVER_TIMEOUT)
    failover_s = time.monotonic() - t0
    assert new is not old
    assert new.status().cluster.raft_term > term_before
    print(f"failover: {new.name} leads after {failover_s:.2f}s")

    log = cluster.wait_same_audit(survivors, min_last_id=acked[-1])
    ids = [k.id for k in log]
    assert set(acked) <= set(ids), f"acknowledged writes {acked} lost: survivors have {ids}"
    assert ids == list(range(1, len(ids) + 1))
    assert [k for k in log if k.id not in acked] == before
    for audit_id in acked:
        (event,) = [k for k in log if k.id == audit_id]
        assert event.type == "AUDIT_EVENT_TYPE_BACKUP_TAKEN", event

    # the new leader takes writes, through itself and through the other survivor
    other = next(n for n in survivors if n is not new)
    after = [write(other, cluster), write(new, cluster)]
    assert after[0] > acked[-1] and after[1] > after[0]
    acknowledged = cluster.wait_same_audit(survivors, min_last_id=after[-1])

    # the killed node comes back and catches up to the very same log
    old.start().wait_ready()
    final = cluster.wait_same_audit(nodes, timeout=15, min_last_id=after[-1])
    assert final == acknowledged
    cluster.leader()


# ---------------------------------------------------------------- 4. full restart


def test_stop_all_and_restart_keeps_everything(cluster: Cluster) -> None:
    nodes = list(cluster.nodes.values())
    cluster.leader()
    write(nodes[1], cluster)
    log_before = cluster.wait_same_audit(nodes)
    members_before = [members(n) for n in nodes]
    ids_before = {n.status().cluster.cluster_id for n in nodes}
    assert len(ids_before) == 1

    for n in nodes:
        rc = n.stop()
        assert rc == 0, f"{n.name} exited {rc} on SIGTERM\n{n.describe()}"
    for n in nodes:
        n.start()
    for n in nodes:
        n.wait_ready()
    cluster.leader()

    log_after = cluster.wait_same_audit(nodes, timeout=15, min_last_id=log_before[-1].id)
    assert log_after == log_before
    assert {n.status().cluster.cluster_id for n in nodes} == ids_before
    assert [members(n) for n in nodes] == members_before
    # and the restarted cluster takes writes
    audit_id = write(nodes[2], cluster)
    cluster.wait_same_audit(nodes, min_last_id=audit_id)


# ---------------------------------------------------------------- 5b. raft peers need the secret


def _raw_frame(obj: object) -> bytes:
    data = zlib.compress(pickle.dumps(obj))
    return struct.pack("i", len(data)) + data


class _Touch:
    """Unpickling this creates a file: proof of code execution on the receiver."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.touch, (self.path,))


def test_raft_never_accepts_an_unauthenticated_peer(cluster: Cluster, base: Path) -> None:
    nodes = list(cluster.nodes.values())
    cluster.leader()
    before = snapshot(nodes)
    raft_addrs = sorted((n.raft_address for n in nodes), reverse=True)

    rogues: list[SyncObj] = []

    def rogue(self_addr: str, others: list[str], password: str | None, bind: str) -> SyncObj:
        conf = SyncObjConf(
            password=password,
            useFork=False,
            dynamicMembershipChange=True,
            bindAddress=bind,
            raftMinTimeout=0.05,  # campaign hard: an accepted vote would drag the term up
            raftMaxTimeout=0.1,
            connectionRetryTime=0.2,
            appendEntriesPeriod=0.01,
        )
        obj = SyncObj(self_addr, others, conf=conf)
        rogues.append(obj)
        return obj

    marker = base / "pwned"
    try:
        # (1) a fresh identity that sorts above every member (PySyncObj dials
        # only nodes whose address sorts below its own), wrong password;
        fresh = f"127.0.0.2:{unique_port()}"
        rogue(fresh, raft_addrs, "not-the-cluster-secret", fresh)
        # (2) impersonating the member with the highest address, wrong password;
        rogue(raft_addrs[0], raft_addrs[1:], "also-wrong", f"127.0.0.2:{unique_port()}")
        # (3) no password at all: plain zlib(pickle) frames.
        plain = f"127.0.0.3:{unique_port()}"
        rogue(plain, raft_addrs, None, plain)

        # (4) raw frames a peer without the secret could send: a utility
        # command (`status`, what syncobj_admin sends) and a pickle that
        # would create a file if anyone unpickled it.
        for addr in raft_addrs:
            host, port = addr.rsplit(":", 1)
            for frame in (_raw_frame(["status"]), _raw_frame(_Touch(marker))):
                with socket.create_connection((host, int(port)), timeout=3) as s:
                    s.sendall(frame)
                    s.settimeout(2)
                    try:
                        reply = s.recv(4096)
                    except TimeoutError:
                        reply = b""
                    assert reply == b"", f"{addr} answered an unauthenticated frame: {reply!r}"

        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            for r in rogues:
                assert r._getLeader() is None, f"a rogue peer learned a leader: {r._getLeader()}"
            time.sleep(0.1)
        rogue_terms = [int(r.getStatus()["raft_term"]) for r in rogues]
    finally:
        for r in rogues:
            r.destroy_synchronous()

    assert not marker.exists(), "a raft node unpickled an unauthenticated frame"
    after = snapshot(nodes)
    assert after == before, "an unauthenticated peer changed the cluster"
    # The rogues campaigned many terms; had any vote request been accepted,
    # the members' term would have followed.
    assert max(rogue_terms) > max(before.terms), (rogue_terms, before.terms)
    cluster.leader()


# ---------------------------------------------------------------- 6. backup -> restore


def test_backup_restored_into_fresh_node(
    cluster: Cluster, base: Path, others: list[Cluster]
) -> None:
    nodes = list(cluster.nodes.values())
    source = nodes[1]
    cluster.leader()
    write(nodes[0], cluster)
    cluster.wait_same_audit(nodes)
    source_events = source.audit()
    file = base / "restore.jacobak"
    backup_id = source.backup(file)

    meta, _ = backup_format.decode(file.read_bytes())
    assert meta.last_audit_id == source_events[-1].id == backup_id - 1
    expected = [event_key(e) for e in source_events]
    source_cluster_id = source.status().cluster.cluster_id

    rc = Cluster(base / "restored")
    others.append(rc)
    r = rc.node("r")
    r.start("--bootstrap", "--restore", str(file)).wait_ready()
    restored = r.audit()
    keys = [event_key(e) for e in restored]
    assert keys[: len(expected)] == expected, "the restored audit log differs from the source"
    tail = restored[len(expected) :]
    assert [(type_name(e), e.identity, payload(e)["name"]) for e in tail] == [
        ("node_join", "system", "r")
    ], [(type_name(e), e.node, e.payload) for e in tail]
    assert tail[0].id == expected[-1].id + 1

    st = r.status()
    assert st.cluster.cluster_id and st.cluster.cluster_id != source_cluster_id
    assert [n.name for n in st.nodes] == ["r"]
    assert st.cluster.leader == "r"
    assert list(st.deployments) == list(source.status().deployments)

    # The restore is in r's raft log: a restart replays it to the same state.
    assert r.stop() == 0, r.describe()
    r.start().wait_ready()
    assert r.audit_keys() == keys
    assert r.status().cluster.cluster_id == st.cluster.cluster_id
    r.stop()


# ---------------------------------------------------------------- 5a. wrong join token


def _tamper_mac(token: str) -> str:
    prefix, body, mac = token.split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    return f"{prefix}.{body}.{flipped}"


def _tamper_payload(token: str) -> str:
    prefix, body, mac = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["expires_at_ns"] += 10**15  # a longer-lived token, keeping the old MAC
    new_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{prefix}.{new_body}.{mac}"


@pytest.fixture(scope="module")
def foreign(base: Path, others: list[Cluster]) -> Cluster:
    """A second, single-node cluster: its join tokens are valid, for it."""
    c = Cluster(base / "foreign")
    others.append(c)
    c.bootstrap("x")
    return c


@pytest.mark.parametrize("kind", ["tampered-mac", "tampered-payload", "other-cluster", "expired"])
@pytest.mark.parametrize("via", ["leader", "follower"])
def test_join_with_wrong_secret_is_refused(
    cluster: Cluster, foreign: Cluster, kind: str, via: str
) -> None:
    """Through the leader (it verifies the token) and through a follower (it
    forwards the join to the leader): either way a clear refusal."""
    running = list(cluster.nodes.values())
    leader = cluster.leader()
    a = leader if via == "leader" else next(n for n in running if n is not leader)
    before = snapshot(running)

    if kind == "other-cluster":
        token = cluster.token(foreign["x"])  # recorded: it must not be logged either
        expected = "join token is not valid for this cluster"
    elif kind == "expired":
        r = a.jaco("node", "join-token", "--ttl", "1s")
        assert r.rc == 0, r
        token = r.out.strip()
        cluster.tokens.append(token)
        time.sleep(1.2)
        expected = "join token has expired"
    else:
        good = cluster.token(a)
        token = _tamper_mac(good) if kind == "tampered-mac" else _tamper_payload(good)
        cluster.tokens.append(token)
        expected = "join token is not valid for this cluster"

    intruder = cluster.outsider(f"z-{kind}-{via}")
    intruder.start("--join", a.address, "--join-token", token)
    rc = intruder.wait_exit(30)
    err = intruder.stderr()
    assert rc != 0, f"the join with a {kind} token was not refused\n{err}"
    assert "refused" in err and expected in err, err
    assert not (intruder.data_dir / "cluster.json").exists(), "a refused joiner kept a cluster file"

    after = snapshot(running)
    assert after == before, "a refused join changed the cluster"
    assert all(intruder.name not in json.dumps(n.node_ls()) for n in running)


# ---------------------------------------------------------------- 8. no quorum


def _restart(cluster: Cluster, nodes: list[Node]) -> None:
    for n in nodes:
        if not n.running:
            n.start()
    for n in nodes:
        n.wait_ready()
    cluster.leader()


def _no_quorum_write(node: Node, cluster: Cluster, tag: str) -> tuple[float, Result]:
    target = cluster.base / f"noquorum-{tag}.bak"
    t0 = time.monotonic()
    r = node.jaco("backup", str(target), timeout=60)
    elapsed = time.monotonic() - t0
    assert not target.exists(), f"a backup was written without quorum: {r}"
    return elapsed, r


def _assert_no_leader_error(elapsed: float, r: Result, node: Node) -> None:
    assert elapsed < NO_QUORUM_DEADLINE, f"the write took {elapsed:.1f}s to fail: {r}"
    assert r.rc in (1, 3), r
    assert "no leader" in r.err and "[unavailable]" in r.err, f"{r}\n{node.describe(30)}"


def test_no_quorum_write_on_the_old_leader_fails_fast(cluster: Cluster) -> None:
    """The two followers stopped: the leader cannot commit; the write ends in
    UNAVAILABLE "no leader" before the deadline; reads still answer."""
    nodes = list(cluster.nodes.values())
    leader = cluster.leader()
    followers = [n for n in nodes if n is not leader]
    try:
        for f in followers:
            assert f.stop() == 0, f.describe()
        elapsed, r = _no_quorum_write(leader, cluster, "leader")
        print(f"no-quorum write on the old leader failed after {elapsed:.1f}s: {r}")
        _assert_no_leader_error(elapsed, r, leader)
        assert [v["name"] for v in leader.node_ls()] == ["a", "b", "c"]
    finally:
        _restart(cluster, nodes)
    audit_id = write(followers[0], cluster)
    cluster.wait_same_audit(nodes, min_last_id=audit_id)


def test_no_quorum_write_on_a_follower_fails_fast(cluster: Cluster) -> None:
    """Leader and one follower killed; the survivor is a follower. Right after
    the kill, and again after several election timeouts, a write on it must
    end in UNAVAILABLE "no leader" before the deadline, never an internal
    error. (PySyncObj keeps reporting the last known leader on a follower
    that is connected to nobody: it never even becomes a candidate.)"""
    nodes = list(cluster.nodes.values())
    leader = cluster.leader()
    survivor, other = [n for n in nodes if n is not leader]
    try:
        leader.kill()
        other.kill()
        just_died = _no_quorum_write(survivor, cluster, "just-died")
        time.sleep(3)  # > 2 x raft_max_timeout: any election would have started
        believed = survivor.status().cluster.leader
        later = _no_quorum_write(survivor, cluster, "later")
        print(
            f"follower: right after the kill {just_died}; 3 s later (believes leader="
            f"{believed!r}) {later}"
        )
    finally:
        _restart(cluster, nodes)
    _assert_no_leader_error(*later, survivor)
    _assert_no_leader_error(*just_died, survivor)


# ---------------------------------------------------------------- 7. node remove


def test_node_remove_a_follower(cluster: Cluster) -> None:
    """`jaco node remove NAME` of a follower, issued on the other follower:
    gone from `node ls` everywhere, a node_leave event, and the removed node
    (still running, still campaigning) cannot disturb the rest."""
    leader = cluster.leader()
    via, victim = [n for n in cluster.nodes.values() if n is not leader]
    rest = [leader, via]
    before = snapshot(rest)

    r = via.jaco("node", "remove", victim.name)
    assert r.rc == 0, (r, via.describe())
    assert f"node {victim.name} removed" in r.out, r

    def gone() -> bool:
        return all(
            sorted(v["name"] for v in n.node_ls()) == sorted(m.name for m in rest) for n in rest
        )

    wait_for(
        gone,
        10,
        f"{victim.name} to disappear from `node ls` on the others",
        interval=0.3,
        describe=cluster.describe,
    )
    leaves = [e for e in leader.audit() if type_name(e) == "node_leave"]
    assert [(payload(e)["name"], e.identity, e.node) for e in leaves] == [
        (victim.name, "local", via.name)
    ], [(e.id, e.node, e.payload) for e in leaves]

    # The removed node keeps running for a while: the others keep their leader and term.
    time.sleep(2)
    after = snapshot(rest)
    assert after.leaders == before.leaders and after.terms == before.terms, (
        before,
        after,
    )

    assert victim.stop() == 0, victim.describe()
    del cluster.nodes[victim.name]
    cluster.strays.append(victim)
    cluster.extra_logs.append(victim.stderr_path)
    cluster.leader(rest)
    audit_id = write(via, cluster)
    cluster.wait_same_audit(rest, min_last_id=audit_id)

    r = via.jaco("node", "remove", "no-such-node")
    assert r.rc == 1, r
    assert "no-such-node" in r.err and "[not_found]" in r.err, r


def test_node_remove_the_leader(cluster: Cluster) -> None:
    """Two members left; remove the leader. Either the removal is refused
    with a clear message, or it is real: once the removed node is stopped the
    last member alone is a working cluster."""
    rest = list(cluster.nodes.values())
    assert len(rest) == 2
    leader = cluster.leader()
    (other,) = [n for n in rest if n is not leader]

    r = other.jaco("node", "remove", leader.name)
    if r.rc != 0:
        assert r.rc == 1 and "[internal]" not in r.err and "leader" in r.err, r
        assert sorted(v["name"] for v in other.node_ls()) == sorted(n.name for n in rest)
        return
    assert f"node {leader.name} removed" in r.out, r
    wait_for(
        lambda: [v["name"] for v in other.node_ls()] == [other.name],
        10,
        f"{leader.name} to disappear from `node ls` on {other.name}",
    )

    assert leader.stop() == 0, leader.describe()
    cluster.leader([other], timeout=FAILOVER_TIMEOUT)
    audit_id = write(other, cluster)
    assert other.audit()[-1].id == audit_id


# ---------------------------------------------------------------- CLI


def test_node_ls_output_flag_after_the_verb(cluster: Cluster) -> None:
    """`jaco node ls -o json` as documented (jaco/cli.py: global flags work
    before or after the verb; `jaco node --help` shows this very example)."""
    node = next(iter(cluster.running()))
    r = node.jaco("node", "ls", "-o", "json")
    assert r.rc == 0, r
    assert {v["name"] for v in json.loads(r.out)} == {n.name for n in cluster.running()}


# ---------------------------------------------------------------- logs


def test_no_secret_or_join_token_in_any_log(
    cluster: Cluster, base: Path, others: list[Cluster]
) -> None:
    needles: dict[str, str] = {}  # what must not appear -> how to name it (never itself)
    for c in (cluster, *others):
        in_cluster = {n.cluster_file()["secret"] for n in c.nodes.values()}
        assert len(in_cluster) == 1, f"members of {c.base.name} disagree on the secret"
        secret = in_cluster.pop()
        assert len(secret) >= 32 and secret not in needles, "a short or shared cluster secret"
        needles[secret] = f"the cluster secret of {c.base.name}"
        for i, token in enumerate(c.tokens):
            needles[token] = f"join token #{i} of {c.base.name}"
            needles[token.rsplit(".", 1)[-1]] = f"the MAC of join token #{i} of {c.base.name}"
    assert len(needles) > 1 + len(others)

    logs: dict[str, str] = {}
    for c in (cluster, *others):
        logs |= {f"{c.base.name}/{k}": v for k, v in c.all_logs().items()}
    assert len(logs) >= 5 and all(logs.values()), sorted(logs)
    for name, text in logs.items():
        for needle, label in needles.items():
            assert needle not in text, f"{label} appears in {name}"
