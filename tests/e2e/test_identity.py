"""Identity, TLS and the audit trail on a real three-node cluster (issue 5,
"Tests that must exist and pass").

One module-scoped cluster a/b/c, bootstrapped with `--bootstrap` (so with a
cluster CA) and certificates living 10 s, renewed 6 s before expiry: every
test below runs while each node renews its certificate every ~4 s. Node a
logs text, c JSON, and b to a real systemd-journald (the session's private
journal namespace). The tests run in file order:

1. `jaco token create|ls|revoke` over the unix socket (identity `local`);
2. the auth matrix: {none, malformed, unknown, expired, revoked, valid} x
   {viewer, operator, admin} x every Control RPC, over TLS, spread over the
   three nodes (in-process grpc.aio clients);
3. a revoke on the leader is refused by all three nodes;
4. renewal: `certificate_renewed` from every node and continued service; a
   corrupt CA key gives `certificate_renewal_failed`, and the node recovers
   once the key is back;
5. `jaco audit -f` (over TLS, with a context) across a kill -9 of the node it
   follows, the leader: no gap, no duplicate;
6. the secrets scan over every log line (every field of every journal entry
   of b's processes too), error message and audit payload.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from jaco.v1 import control_pb2, control_pb2_grpc
from jaco.v1 import entities_pb2 as pb
from jacod.auth import roles, tokens
from jacod.state.enums import Role
from tests.e2e.cluster import Cluster, Node, payload, type_name, wait_for
from tests.helpers import JACO, JournalNamespace, clean_env, remove_tree, run_jaco, short_tmpdir

pytestmark = pytest.mark.timeout(120)

CERT = ("--cert-lifetime", "10s", "--cert-renew-before", "6s")
EXTRA = {"a": CERT, "b": CERT, "c": (*CERT, "--log-format", "json")}
ROLES = ("viewer", "operator", "admin")
KINDS = ("none", "malformed", "unknown", "expired", "revoked", "valid")
CONTROL = control_pb2.DESCRIPTOR.services_by_name["Control"]
REFUSALS = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


class Secrets:
    """Everything the scan must not find, and everything it scans besides the logs."""

    def __init__(self) -> None:
        self.tokens: list[str] = []  # API and join tokens handed out
        self.errors: list[str] = []  # error messages seen by clients
        self.outputs: list[str] = []  # CLI output that must not carry secrets


class JournaldNode(Node):
    """A node whose jacod runs in the private journald's mount namespace and
    logs there (``--log-format journald``); ``pids`` are all its jacods."""

    def __init__(self, base: Path, name: str, ns: JournalNamespace):
        super().__init__(base, name)
        self.ns = ns
        self.pids: list[int] = []

    def argv(self, *extra: str) -> list[str]:
        return [*self.ns.prefix, *super().argv(*extra), "--log-format", "journald"]

    def start(self, *extra: str) -> Node:
        super().start(*extra)
        assert self.proc is not None
        self.pids.append(self.proc.pid)  # nsenter execs: this is jacod's pid
        return self

    def journal(self) -> list[dict[str, str]]:
        """Every field of every entry its jacods have written so far."""
        self.ns.sync()
        return [e for pid in self.pids for e in self.ns.full_entries(f"_PID={pid}")]

    def describe(self, tail: int = 40) -> str:
        lines = [f"{e.get('SUBSYSTEM')}: {e.get('MESSAGE')}" for e in self.journal()[-tail:]]
        return f"--- {self!r} journal (last {tail} entries):\n" + "\n".join(lines)


@pytest.fixture(scope="module")
def base(request: pytest.FixtureRequest) -> Iterator[Path]:
    path = short_tmpdir("jt-id-")
    failed_before = request.session.testsfailed
    yield path
    if request.session.testsfailed == failed_before:
        remove_tree(path)
    else:
        print(f"\nkept {path} for inspection (jacod logs: {path}/main/*.stderr)")


@pytest.fixture(scope="module")
def secrets() -> Secrets:
    return Secrets()


@pytest.fixture(scope="module")
def cluster(base: Path, secrets: Secrets, journal_ns: JournalNamespace) -> Iterator[Cluster]:
    c = Cluster(base / "main")
    c.nodes["b"] = JournaldNode(c.base, "b", journal_ns)
    try:
        a = c.bootstrap("a", *EXTRA["a"])
        # journald records every entry's command line (_CMDLINE), which the
        # scan reads too: b takes its join token from a file, as an operator
        # logging to the journal should.
        config = c.base / "b.toml"
        config.write_text(f'join_token = "{c.token(a)}"\n')
        c["b"].start("--join", a.address, "--config", str(config), *EXTRA["b"]).wait_ready()
        c.node("c").start("--join", a.address, "--join-token", c.token(a), *EXTRA["c"])
        c["c"].wait_ready()
        secrets.tokens += c.tokens
        yield c
    finally:
        c.kill_all()


def ca_file(c: Cluster) -> Path:
    return c["a"].data_dir / "pki" / "ca.crt"


def local_stub(node: Node) -> tuple[grpc.Channel, control_pb2_grpc.ControlStub]:
    ch = grpc.insecure_channel(node.server)
    return ch, control_pb2_grpc.ControlStub(ch)


def create_token(node: Node, identity: str, role: str, ttl: int = 0) -> tuple[str, str]:
    """(id, token) made over the unix socket, as identity `local`."""
    ch, stub = local_stub(node)
    with ch:
        resp = stub.CreateToken(
            control_pb2.CreateTokenRequest(
                identity=identity, role=f"ROLE_{role.upper()}", ttl_seconds=ttl
            ),
            timeout=10,
        )
    return resp.info.id, resp.token


def tokens_everywhere(c: Cluster, want: dict[str, bool]) -> None:
    """Until every node has applied each token id with the given revoked flag."""

    def applied() -> bool:
        for n in c.running():
            ch, stub = local_stub(n)
            with ch:
                have = {t.id: t.revoked for t in stub.ListTokens(control_pb2.ListTokensRequest(),
                                                                 timeout=5).tokens}  # fmt: skip
            if any(have.get(i) is not r for i, r in want.items()):
                return False
        return True

    wait_for(applied, 15, f"tokens {sorted(want)} applied on every node")


# ---------------------------------------------------------------- 1. the token verbs


def test_token_verbs_over_the_unix_socket(cluster: Cluster, secrets: Secrets) -> None:
    a = cluster["a"]
    r = a.jaco("token", "create", "--identity", "carol", "--role", "operator", "--ttl", "1h")
    assert r.rc == 0, r
    token = r.out.strip()
    secrets.tokens.append(token)
    assert r.out == token + "\n" and tokens.parse(token) is not None  # only the token
    note = r.err.strip().splitlines()
    assert len(note) == 1 and "shown once" in note[0] and token not in r.err
    token_id = tokens.id_of(token)

    r = a.jaco("-o", "json", "token", "create", "--identity", "dave")
    assert r.rc == 0, r
    created = json.loads(r.out)
    secrets.tokens.append(created["token"])
    assert created["info"]["role"] == "viewer" and created["info"]["expires_at"] is None
    assert created["info"]["created_by"] == "local"

    r = a.jaco("token", "ls")
    assert r.rc == 0 and token_id in r.out and "carol" in r.out and "operator" in r.out, r
    secrets.outputs.append(r.out + r.err)
    r = a.jaco("token", "revoke", token_id)
    assert r.rc == 0 and token_id in r.out, r
    r = a.jaco("-o", "json", "token", "ls")
    listed = {t["id"]: t for t in json.loads(r.out)}
    assert listed[token_id]["revoked"] and listed[token_id]["revoked_at"]
    assert "secret_hash" not in r.out and "token" not in listed[token_id]
    secrets.outputs.append(r.out + r.err)
    r = a.jaco("token", "revoke", token_id)
    assert r.rc == 1 and "already revoked" in r.err, r

    events = [e for e in a.audit() if type_name(e) in ("token_create", "token_revoke")]
    assert [(type_name(e), e.identity) for e in events] == [
        ("token_create", "local"), ("token_create", "local"), ("token_revoke", "local")
    ]  # fmt: skip
    assert payload(events[-1])["token_id"] == token_id
    # The socket's caller, as the kernel knows it (SO_PEERCRED via jacod/api/unixfront.py).
    assert {payload(e)["peer_uid"] for e in events} == {os.getuid()}


# ---------------------------------------------------------------- 2. the auth matrix


def request_for(name: str) -> Any:
    """A request for every Control RPC that is harmless for an allowed caller."""
    requests = {
        "GetStatus": control_pb2.GetStatusRequest(),
        "WatchStatus": control_pb2.WatchStatusRequest(),
        "Apply": control_pb2.ApplyRequest(spec=b"not [valid", dry_run=True),
        "Rollback": control_pb2.RollbackRequest(deployment="no-such-deployment"),
        "Delete": control_pb2.DeleteRequest(deployment="no-such-deployment"),
        "ListRevisions": control_pb2.ListRevisionsRequest(deployment="no-such-deployment"),
        "StreamLogs": control_pb2.LogsRequest(deployment="no-such-deployment", service="web"),
        "QueryAudit": control_pb2.AuditQuery(limit=1),
        "FollowAudit": control_pb2.AuditQuery(),
        "CreateToken": control_pb2.CreateTokenRequest(identity="", role=pb.ROLE_VIEWER),
        "ListTokens": control_pb2.ListTokensRequest(),
        "RevokeToken": control_pb2.RevokeTokenRequest(id="000000000000"),
        "ListNodes": control_pb2.ListNodesRequest(),
        "CreateJoinToken": control_pb2.CreateJoinTokenRequest(ttl_seconds=60),
        "RemoveNode": control_pb2.RemoveNodeRequest(name="no-such-node"),
        "Backup": control_pb2.BackupRequest(),
    }
    return requests[name]


def test_every_control_rpc_is_in_the_matrix() -> None:
    for method in CONTROL.methods:
        request_for(method.name)  # KeyError: a new RPC needs a request here (and a role)


async def call(
    stub: control_pb2_grpc.ControlStub, name: str, token: str | None, secrets: Secrets
) -> tuple[grpc.StatusCode, Any]:
    md = (("authorization", f"Bearer {token}"),) if token is not None else ()
    method = CONTROL.methods_by_name[name]
    try:
        if method.server_streaming:
            stream = getattr(stub, name)(request_for(name), metadata=md, timeout=10)
            try:
                first = await stream.read()
            finally:
                stream.cancel()
            return grpc.StatusCode.OK, first
        return grpc.StatusCode.OK, await getattr(stub, name)(
            request_for(name), metadata=md, timeout=10
        )
    except grpc.aio.AioRpcError as err:
        secrets.errors.append(err.details() or "")
        return err.code(), None


@pytest.fixture(scope="module")
def matrix_tokens(cluster: Cluster, secrets: Secrets) -> dict[tuple[str, str], str | None]:
    """(kind, role) -> the token a caller of that kind presents."""
    a = cluster["a"]
    made: dict[tuple[str, str], str | None] = {}
    revoked: dict[str, bool] = {}
    for role in ROLES:
        for kind, ttl in (("valid", 0), ("expired", 1), ("revoked", 0)):
            token_id, token = create_token(a, f"{kind}-{role}", role, ttl)
            secrets.tokens.append(token)
            made[(kind, role)] = token
            revoked[token_id] = kind == "revoked"
    for (kind, _), made_token in made.items():
        if kind == "revoked" and made_token is not None:
            ch, stub = local_stub(a)
            with ch:
                request = control_pb2.RevokeTokenRequest(id=tokens.id_of(made_token))
                stub.RevokeToken(request, timeout=10)
    tokens_everywhere(cluster, revoked)
    for role in ROLES:
        unknown = tokens.new_token()[1]
        secrets.tokens.append(unknown)
        made[("none", role)] = None
        made[("malformed", role)] = f"jacotoken1.{role}.not-a-secret"
        made[("unknown", role)] = unknown
    time.sleep(1.1)  # the ttl=1s tokens are expired everywhere now
    return made


async def test_auth_matrix_over_tls(
    cluster: Cluster, matrix_tokens: dict[tuple[str, str], str | None], secrets: Secrets
) -> None:
    creds = grpc.ssl_channel_credentials(ca_file(cluster).read_bytes())
    nodes = [cluster[n] for n in ("a", "b", "c")]
    channels = [grpc.aio.secure_channel(n.address, creds) for n in nodes]
    stubs = [control_pb2_grpc.ControlStub(ch) for ch in channels]
    wrong: list[str] = []
    calls = 0
    try:
        for kind in KINDS:
            for role in ROLES:
                for method in CONTROL.methods:
                    stub = stubs[calls % 3]
                    calls += 1
                    code, reply = await call(stub, method.name, matrix_tokens[(kind, role)],
                                             secrets)  # fmt: skip
                    if method.name == "CreateJoinToken" and reply is not None:
                        secrets.tokens.append(reply.join_token)
                    needed = roles.REQUIRED[method.name]
                    if kind != "valid":
                        expected = "UNAUTHENTICATED"
                        ok = code == grpc.StatusCode.UNAUTHENTICATED
                    elif roles.allows(Role(role), needed):
                        expected, ok = "not refused", code not in REFUSALS
                    else:
                        expected = "PERMISSION_DENIED"
                        ok = code == grpc.StatusCode.PERMISSION_DENIED
                    if not ok:
                        where = nodes[(calls - 1) % 3].name
                        wrong.append(f"{kind}/{role} {method.name} on {where}: {code.name}, "
                                     f"expected {expected}")  # fmt: skip
    finally:
        for ch in channels:
            await ch.close()
    assert calls == len(KINDS) * len(ROLES) * len(CONTROL.methods) >= 6 * 3 * 16
    assert not wrong, "\n".join(wrong)

    # The valid callers ran as their tokens' identities; refusals were audited.
    events = cluster["a"].audit()
    assert any(
        type_name(e) == "backup_taken" and payload(e)["requested_by"] == "valid-admin"
        for e in events
    )
    denied = [payload(e) for e in events if type_name(e) == "auth_denied"]
    reasons = {d["reason"] for d in denied}
    assert {"missing_token", "malformed_token", "unknown_token", "expired_token",
            "revoked_token", "insufficient_role"} <= reasons, reasons  # fmt: skip
    # The event names the claimed identity when the token's id is known, else system.
    claims = {(payload(e)["reason"], e.identity) for e in events if type_name(e) == "auth_denied"}
    assert ("revoked_token", "revoked-viewer") in claims or (
        "revoked_token", "revoked-operator") in claims or (
        "revoked_token", "revoked-admin") in claims, claims  # fmt: skip
    assert all(
        ident == "system"
        for reason, ident in claims
        if reason in ("missing_token", "malformed_token", "unknown_token")
    ), claims
    # Rate-limited: far fewer events than denials (>= 200 of them above).
    assert len(denied) < 100, len(denied)


async def test_each_mutation_is_one_event_as_the_token_identity(
    cluster: Cluster, matrix_tokens: dict[tuple[str, str], str | None], secrets: Secrets
) -> None:
    creds = grpc.ssl_channel_credentials(ca_file(cluster).read_bytes())
    start = cluster["a"].audit()[-1].id
    spec = b'name = "audited"\n[services.web]\ncommand = "sleep %d"\nreplicas = 0\n'
    async with grpc.aio.secure_channel(cluster["b"].address, creds) as ch:  # a follower or not
        stub = control_pb2_grpc.ControlStub(ch)

        op = (("authorization", f"Bearer {matrix_tokens[('valid', 'operator')]}"),)
        ad = (("authorization", f"Bearer {matrix_tokens[('valid', 'admin')]}"),)
        ids = [
            (await stub.Apply(control_pb2.ApplyRequest(spec=spec % 1), metadata=op)).audit_id,
            (await stub.Apply(control_pb2.ApplyRequest(spec=spec % 2), metadata=op)).audit_id,
            (
                await stub.Rollback(control_pb2.RollbackRequest(deployment="audited"), metadata=op)
            ).audit_id,  # fmt: skip
            (
                await stub.Delete(control_pb2.DeleteRequest(deployment="audited"), metadata=op)
            ).audit_id,  # fmt: skip
        ]
        made = await stub.CreateToken(
            control_pb2.CreateTokenRequest(identity="by-admin", role=pb.ROLE_VIEWER), metadata=ad
        )
        secrets.tokens.append(made.token)
    want = {"apply", "rollback", "delete", "token_create"}

    def settled() -> list[Any]:
        events = [e for e in cluster["a"].audit() if e.id > start and type_name(e) in want]
        return events if len(events) == 5 else []

    events = wait_for(settled, 10, "five audited mutations on a")
    assert [(type_name(e), e.identity) for e in events] == [
        ("apply", "valid-operator"), ("apply", "valid-operator"),
        ("rollback", "valid-operator"), ("delete", "valid-operator"),
        ("token_create", "valid-admin"),
    ]  # fmt: skip
    assert [e.id for e in events[:4]] == ids
    assert payload(events[4])["token_identity"] == "by-admin"
    assert not any("peer_uid" in payload(e) for e in events)  # token callers: TCP, no uid


# ---------------------------------------------------------------- 3. revocation on every node


async def test_revoke_on_the_leader_is_refused_by_every_node(
    cluster: Cluster, secrets: Secrets
) -> None:
    leader = cluster.leader()
    token_id, token = create_token(leader, "erin", "viewer")
    secrets.tokens.append(token)
    tokens_everywhere(cluster, {token_id: False})
    creds = grpc.ssl_channel_credentials(ca_file(cluster).read_bytes())
    nodes = [cluster[n] for n in ("a", "b", "c")]
    channels = [grpc.aio.secure_channel(n.address, creds) for n in nodes]
    stubs = [control_pb2_grpc.ControlStub(ch) for ch in channels]
    try:
        for stub in stubs:
            assert (await call(stub, "GetStatus", token, secrets))[0] == grpc.StatusCode.OK

        # The revoke goes to the leader over TLS, by an admin token, with the CLI.
        admin_id, admin = create_token(leader, "ops-admin", "admin")
        secrets.tokens.append(admin)
        tokens_everywhere(cluster, {admin_id: False})
        token_file = cluster.base / "ops-admin.token"
        token_file.write_text(admin + "\n")
        t0 = time.monotonic()
        r = run_jaco("--server", leader.address, "--ca-file", str(ca_file(cluster)),
                     "--token-file", str(token_file), "token", "revoke", token_id)  # fmt: skip
        assert r.rc == 0, r
        refused_after: dict[str, float] = {}
        deadline = t0 + 5.0
        while len(refused_after) < 3 and time.monotonic() < deadline:
            for node, stub in zip(nodes, stubs, strict=True):
                if node.name not in refused_after:
                    code, _ = await call(stub, "GetStatus", token, secrets)
                    if code == grpc.StatusCode.UNAUTHENTICATED:
                        refused_after[node.name] = time.monotonic() - t0
            await asyncio.sleep(0.01)
        assert sorted(refused_after) == ["a", "b", "c"], refused_after
        assert any("revoked" in e for e in secrets.errors)
    finally:
        for ch in channels:
            await ch.close()
    revoke = [e for e in leader.audit() if type_name(e) == "token_revoke"][-1]
    assert revoke.identity == "ops-admin" and payload(revoke)["token_id"] == token_id


# ---------------------------------------------------------------- 4. certificate renewal


def served_serial(address: str) -> int:
    import socket
    import ssl

    from cryptography import x509

    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            der = s.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def renewals(node: Node, kind: str, of: str, after_id: int = 0) -> list[Any]:
    return [
        e
        for e in node.audit()
        if e.id > after_id and type_name(e) == kind and payload(e).get("node") == of
    ]


def test_certificates_renew_and_service_continues(cluster: Cluster, secrets: Secrets) -> None:
    a = cluster["a"]
    start = a.audit()[-1].id
    before = {n: served_serial(cluster[n].address) for n in ("a", "b", "c")}
    for name in ("a", "b", "c"):

        def twice(of: str = name) -> bool:
            return len(renewals(a, "certificate_renewed", of, start)) >= 2

        wait_for(twice, 20, f"two certificate_renewed events from {name}")
    events = [e for e in a.audit() if e.id > start and type_name(e) == "certificate_renewed"]
    assert all(e.identity == "system" and set(payload(e)) == {"node", "not_after"}
               for e in events)  # fmt: skip
    for name in ("a", "b", "c"):
        assert served_serial(cluster[name].address) != before[name], f"{name} serves an old cert"
    # Still serving over TLS (tokens) and node<->node (health comes from TLS pings).
    token_id, token = create_token(a, "after-renewal", "viewer")
    secrets.tokens.append(token)
    tokens_everywhere(cluster, {token_id: False})
    token_file = cluster.base / "after-renewal.token"
    token_file.write_text(token)
    for name in ("a", "b", "c"):
        r = run_jaco("--server", cluster[name].address, "--ca-file", str(ca_file(cluster)),
                     "--token-file", str(token_file), "-o", "json", "node", "ls")  # fmt: skip
        assert r.rc == 0, r
        assert all(n["healthy"] for n in json.loads(r.out)), r.out


def test_corrupt_ca_key_is_a_renewal_failure_and_recovers(cluster: Cluster) -> None:
    c, a = cluster["c"], cluster["a"]
    key = c.data_dir / "pki" / "ca.key"
    good = key.read_bytes()
    start = a.audit()[-1].id
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    try:
        [failed, *_] = wait_for(
            lambda: renewals(a, "certificate_renewal_failed", "c", start), 20,
            "certificate_renewal_failed from c",
        )  # fmt: skip
    finally:
        key.write_bytes(good)
    assert failed.identity == "system"
    assert "ca.key" in payload(failed)["error"] and "PRIVATE KEY" not in failed.payload
    assert payload(failed)["not_after"]
    wait_for(lambda: renewals(a, "certificate_renewed", "c", failed.id), 20,
             "c to renew again once its CA key is back")  # fmt: skip


# ---------------------------------------------------------------- 5. audit -f across kill -9


def test_audit_follow_across_a_leader_kill(cluster: Cluster, base: Path, secrets: Secrets) -> None:
    leader = cluster.leader()
    others = [n for n in cluster.nodes.values() if n is not leader]
    admin_id, admin = create_token(leader, "follower", "admin")
    secrets.tokens.append(admin)
    tokens_everywhere(cluster, {admin_id: False})
    token_file = base / "follower.token"
    token_file.write_text(admin)
    env = clean_env({"XDG_CONFIG_HOME": str(base / "config")})
    ca = str(ca_file(cluster))
    r = run_jaco("context", "add", "prod", "--server", leader.address, "--ca-file", ca,
                 "--token-file", str(token_file), "--use", env=env)  # fmt: skip
    assert r.rc == 0, r

    out_path, err_path = base / "follow.out", base / "follow.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        follow = subprocess.Popen([*JACO, "-o", "json", "audit", "-f"], env=env,
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=err)  # fmt: skip

    def printed() -> list[int]:
        return [json.loads(line)["id"] for line in out_path.read_text().splitlines() if line]

    def write(via: Node, what: str) -> int:
        token_id, token = create_token(via, what, "viewer")
        secrets.tokens.append(token)
        return wait_for(
            lambda: next((e.id for e in via.audit() if payload(e).get("token_id") == token_id), 0),
            10,
            f"the token_create of {what} on {via.name}",
        )

    try:
        w1 = write(others[0], "before-kill")
        wait_for(lambda: w1 in printed(), 15, f"audit -f to print {w1}")
        leader.kill()
        cluster.leader(others, timeout=20)
        write(others[1], "during-outage")
        leader.start(*EXTRA[leader.name]).wait_ready()
        w3 = write(others[0], "after-restart")
        wait_for(lambda: w3 in printed(), 60, f"audit -f to resume and print {w3}",
                 describe=lambda: err_path.read_text())  # fmt: skip
    finally:
        follow.terminate()
        follow.wait(10)
    ids = printed()
    assert ids == list(range(1, ids[-1] + 1)), f"gap or duplicate in {ids}"
    assert ids == [e.id for e in leader.audit()][: len(ids)]
    assert "reconnecting" in err_path.read_text()  # it really lost the stream
    secrets.outputs.append(err_path.read_text())


# ---------------------------------------------------------------- 6. secrets scan


def test_no_token_key_or_secret_anywhere(cluster: Cluster, secrets: Secrets) -> None:
    needles: dict[str, str] = {}
    for i, token in enumerate(secrets.tokens):
        needles[token] = f"token #{i}"
        needles[token.rsplit(".", 1)[-1]] = f"the secret/MAC part of token #{i}"
    needles[cluster["a"].cluster_file()["secret"]] = "the cluster secret"
    for node in cluster.nodes.values():
        for key in ("ca.key", "node.key"):
            body = (node.data_dir / "pki" / key).read_text().splitlines()[1:-1]
            for j, line in enumerate(body):
                needles[line] = f"line {j} of {node.name}'s {key}"
    assert len(secrets.tokens) >= 20 and len(needles) > 40

    logs = cluster.all_logs()
    assert any(line.startswith("{") for line in logs["c.stderr"].splitlines()), "c logs JSON"
    assert any("[pki]" in line for line in logs["a.stderr"].splitlines()), "a logs text"
    b = cluster["b"]
    assert isinstance(b, JournaldNode)
    journal = b.journal()
    # Not vacuous: b's jacods logged their start, certificate renewals and the
    # revocations of tokens used above, with attributes as fields of their own
    # (TOKEN_ID: ids are not secret) next to journald's (_CMDLINE, ...).
    messages = [e["MESSAGE"] for e in journal]
    assert len(journal) >= 10 and all(e["SYSLOG_IDENTIFIER"] == "jacod" for e in journal)
    assert any(m.startswith("jacod ready") for m in messages), messages
    assert "certificate renewed" in messages, messages
    api_ids = {tokens.id_of(t) for t in secrets.tokens if tokens.parse(t) is not None}
    assert api_ids & {e.get("TOKEN_ID") for e in journal}, messages
    assert any(b.address in e.get("_CMDLINE", "") for e in journal)
    haystacks = {
        **logs,
        "b's journal": "\n".join(f"{k}={v}" for e in journal for k, v in e.items()),
        "client error messages": "\n".join(secrets.errors),
        "CLI output": "\n".join(secrets.outputs),
        "audit payloads": "\n".join(e.payload for e in cluster["a"].audit()),
    }
    assert len(secrets.errors) > 200
    for name, text in haystacks.items():
        assert "PRIVATE KEY" not in text, f"a PEM private key marker appears in {name}"
        for needle, label in needles.items():
            assert needle not in text, f"{label} appears in {name}"
