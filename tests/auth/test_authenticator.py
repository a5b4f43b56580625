"""Who a call is, and what it may do: every reason a call is refused, in-process."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import pytest

from jacod import errors
from jacod.auth import tokens
from jacod.auth.authenticator import Authenticator
from jacod.auth.denials import DenialRecorder
from jacod.auth.ratelimit import DenialLimiter
from jacod.cluster import peers
from jacod.pki import issue
from jacod.pki.node import NodeTLS
from jacod.state import RecordEvent
from jacod.state.enums import AuditType, Role
from jacod.state.model import Token

SECRET = "cd" * 32
PEER = "ipv4:10.0.0.9:51234"
NOW = time.time_ns()


class Sink:
    def __init__(self) -> None:
        self.denials: list[dict[str, str]] = []

    def record(self, **kw: str) -> None:
        self.denials.append(kw)


def make_token(role: Role, **kw: Any) -> tuple[str, Token]:
    token_id, token, secret_hash = tokens.new_token()
    return token, Token(id=token_id, identity=f"{role.value}-user", role=role,
                        secret_hash=secret_hash, **kw)  # fmt: skip


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> NodeTLS:
    directory = tmp_path_factory.mktemp("pki") / "pki"
    issue.create_cluster(directory, "cid", "a", ["127.0.0.1"], dt.timedelta(hours=1))
    return NodeTLS.load(directory, "a")


def auth(store: dict[str, Token], tls: NodeTLS | None, sink: Sink) -> Authenticator:
    return Authenticator(SECRET, lookup=store.get, tls=tls, denials=sink, clock=lambda: NOW)


def call(
    a: Authenticator, method: str, md: dict[str, str], peer: str = PEER, peer_node: str = ""
) -> str:
    return asyncio.run(a(method, md, peer, peer_node))


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_unix_socket_is_local_without_any_token(tls: NodeTLS) -> None:
    sink = Sink()
    assert call(auth({}, tls, sink), "/jaco.v1.Control/Backup", {}, "unix:/run/j.sock") == "local"
    assert not sink.denials


def test_valid_tokens_by_role(tls: NodeTLS) -> None:
    viewer, v = make_token(Role.VIEWER)
    operator, o = make_token(Role.OPERATOR, expires_at_ns=NOW + 10**9)
    admin, ad = make_token(Role.ADMIN)
    sink = Sink()
    a = auth({v.id: v, o.id: o, ad.id: ad}, tls, sink)
    assert call(a, "/jaco.v1.Control/GetStatus", bearer(viewer)) == "viewer-user"
    assert call(a, "/jaco.v1.Control/Apply", bearer(operator)) == "operator-user"
    assert call(a, "/jaco.v1.Control/RevokeToken", bearer(admin)) == "admin-user"
    with pytest.raises(errors.PermissionDenied, match="needs role operator"):
        call(a, "/jaco.v1.Control/Delete", bearer(viewer))
    with pytest.raises(errors.PermissionDenied, match="needs role admin"):
        call(a, "/jaco.v1.Control/Backup", bearer(operator))
    assert [d["reason"] for d in sink.denials] == ["insufficient_role"] * 2
    assert sink.denials[0]["token_id"] == v.id and sink.denials[0]["identity"] == "viewer-user"


@pytest.mark.parametrize(
    ("kind", "reason", "message"),
    [
        ("none", "missing_token", "needs a token"),
        ("malformed", "malformed_token", "malformed"),
        ("unknown", "unknown_token", "not known"),
        ("wrong-secret", "wrong_secret", "not known"),
        ("expired", "expired_token", "expired"),
        ("revoked", "revoked_token", "revoked"),
    ],
)
def test_refused_tokens_are_unauthenticated(
    tls: NodeTLS, kind: str, reason: str, message: str
) -> None:
    good, tok = make_token(Role.ADMIN)
    expired, exp = make_token(Role.ADMIN, expires_at_ns=NOW - 1)
    revoked, rev = make_token(Role.ADMIN, revoked=True, revoked_at_ns=NOW - 1)
    raw = {
        "none": None,
        "malformed": "jacotoken1.nope",
        "unknown": tokens.new_token()[1],
        "wrong-secret": f"jacotoken1.{tok.id}." + "x" * 43,
        "expired": expired,
        "revoked": revoked,
    }[kind]
    sink = Sink()
    a = auth({t.id: t for t in (tok, exp, rev)}, tls, sink)
    with pytest.raises(errors.Unauthenticated, match=message) as err:
        call(a, "/jaco.v1.Control/GetStatus", bearer(raw) if raw else {})
    [denial] = sink.denials
    assert denial["reason"] == reason and denial["method"] == "/jaco.v1.Control/GetStatus"
    assert denial["peer"] == PEER
    if raw:
        secret = raw.rsplit(".", 1)[-1]
        assert secret not in str(err.value) and all(secret not in v for v in denial.values())


def test_plaintext_listener_takes_no_tokens() -> None:
    good, tok = make_token(Role.ADMIN)
    sink = Sink()
    with pytest.raises(errors.Unauthenticated, match="unix socket"):
        call(auth({tok.id: tok}, None, sink), "/jaco.v1.Control/GetStatus", bearer(good))
    assert sink.denials[0]["reason"] == "plaintext_listener"


def test_unknown_control_method_is_refused_even_to_admins(tls: NodeTLS) -> None:
    good, tok = make_token(Role.ADMIN)
    with pytest.raises(errors.PermissionDenied):
        call(auth({tok.id: tok}, tls, Sink()), "/jaco.v1.Control/Shutdown", bearer(good))


NODE_METHODS = ["/jaco.v1.NodeService/Propose", "/jaco.v1.NodeService/Ping",
                "/jaco.v1.NodeService/NodeLogs"]  # fmt: skip


@pytest.mark.parametrize("method", NODE_METHODS)
def test_with_a_pki_node_calls_need_the_node_ports_verified_certificate(
    tls: NodeTLS, method: str
) -> None:
    sink = Sink()
    a = Authenticator(SECRET, lookup={}.get, tls=tls, denials=sink, node_address="10.0.0.1:7402")
    # The node port: the handshake verified a node certificate of the cluster CA.
    assert call(a, method, {}, peer_node="b") == "system"
    # The API port: a valid HMAC (what a --dev peer sends) proves nothing here.
    hmac_md = {peers.HEADER: peers.sign(SECRET, "b", method)}
    with pytest.raises(errors.Unauthenticated, match=r"only on its node port \(10.0.0.1:7402\)"):
        call(a, method, hmac_md)
    assert [d["reason"] for d in sink.denials] == ["node_call_on_api_port"]
    assert SECRET not in str(sink.denials)
    # Join stays open on the API port: its servicer checks the join token.
    assert call(a, "/jaco.v1.NodeService/Join", {}) == "system"
    assert call(a, method, {}, peer="unix:/run/jaco/jacod.sock") == "local"


def test_without_a_pki_node_calls_prove_the_cluster_secret() -> None:
    a = auth({}, None, Sink())
    method = "/jaco.v1.NodeService/Propose"
    value = peers.sign(SECRET, "a", method)
    assert call(a, method, {peers.HEADER: value}) == "system"
    with pytest.raises(errors.Unauthenticated, match="rejected"):
        call(a, method, {peers.HEADER: peers.sign("ef" * 32, "a", method)})
    with pytest.raises(errors.Unauthenticated, match="rejected"):
        call(a, "/jaco.v1.NodeService/Ping", {peers.HEADER: value})  # signed for another method
    with pytest.raises(errors.Unauthenticated, match="malformed"):
        call(a, method, {})
    assert call(a, "/jaco.v1.NodeService/Join", {}) == "system"


def test_a_certificate_does_not_stand_in_for_a_token(tls: NodeTLS) -> None:
    with pytest.raises(errors.Unauthenticated, match="needs a token"):
        call(auth({}, tls, Sink()), "/jaco.v1.Control/GetStatus", {}, peer_node="b")


class FakeCluster:
    node_name = "a"

    def __init__(self) -> None:
        self.proposed: list[RecordEvent] = []

    async def propose(self, cmd: RecordEvent, timeout: float = 10.0) -> None:
        self.proposed.append(cmd)


async def test_denials_become_rate_limited_events_without_tokens() -> None:
    cluster = FakeCluster()
    clock = [0.0]
    rec = DenialRecorder(cluster, DenialLimiter(window=10), clock=lambda: clock[0])  # type: ignore[arg-type]
    reasons: list[str] = []
    rec.observers.append(reasons.append)
    for _ in range(5):
        rec.record(method="/jaco.v1.Control/Apply", reason="revoked_token", peer=PEER,
                   token_id="0123456789ab", identity="alice")  # fmt: skip
    clock[0] = 11.0
    rec.record(method="/jaco.v1.Control/Apply", reason="revoked_token", peer=PEER,
               token_id="0123456789ab", identity="alice")  # fmt: skip
    task = asyncio.create_task(rec.run())
    for _ in range(100):
        if len(cluster.proposed) == 2:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert reasons == ["revoked_token"] * 6
    assert len(cluster.proposed) == 2
    event = cluster.proposed[0]
    assert event.type is AuditType.AUTH_DENIED and event.identity == "alice"  # the claim
    assert event.payload == {
        "method": "/jaco.v1.Control/Apply",
        "reason": "revoked_token",
        "peer": PEER,
        "token_id": "0123456789ab",
    }
    rec.record(method="/jaco.v1.Control/Apply", reason="missing_token", peer=PEER)
    task = asyncio.create_task(rec.run())
    for _ in range(100):
        if len(cluster.proposed) == 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert cluster.proposed[2].identity == "system"  # nobody claimed anything
