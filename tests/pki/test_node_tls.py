"""The PKI directory, joining, renewal and this node's TLS identity, with
real files, real grpc TLS servers and a stand-in for the cluster's propose."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import socket
import ssl
import stat
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509

from jaco.v1 import control_pb2, control_pb2_grpc
from jacod import errors
from jacod.cluster import jointoken
from jacod.pki import certs, files, issue, jointrust
from jacod.pki.node import NodeTLS
from jacod.pki.renewal import Renewer
from jacod.state import RecordEvent
from jacod.state.enums import AuditType

HOSTS = ["127.0.0.1", "localhost"]
HOUR = dt.timedelta(hours=1)


def make_pki(tmp_path: Path, name: str = "a", lifetime: dt.timedelta = HOUR) -> Path:
    directory = tmp_path / name / "pki"
    issue.create_cluster(directory, "cid", name, HOSTS, lifetime)
    return directory


def test_bootstrap_files_and_modes(tmp_path: Path) -> None:
    directory = make_pki(tmp_path)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}
    assert modes == {"ca.crt": 0o644, "ca.key": 0o600, "node.key": 0o600, "node.crt": 0o644}
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    tls = NodeTLS.load(directory, "a")
    assert certs.node_name_of(tls.cert) == "a"
    assert set(HOSTS) <= set(certs.sans_of(tls.cert))


def test_join_flow_between_two_directories(tmp_path: Path) -> None:
    member = make_pki(tmp_path, "a")
    joiner = tmp_path / "b" / "pki"
    csr = issue.joiner_csr(joiner, "b", HOSTS)
    assert stat.S_IMODE((joiner / "node.key").stat().st_mode) == 0o600
    assert issue.joiner_csr(joiner, "b", HOSTS)  # a retried join keeps the key
    cert, ca, ca_key = issue.sign_for_joiner(member, csr, "b", HOUR)
    issue.install_joined(joiner, cert, ca, ca_key)
    tls = NodeTLS.load(joiner, "b")
    assert certs.node_name_of(tls.cert) == "b"
    assert (joiner / "ca.key").read_bytes() == (member / "ca.key").read_bytes()
    with pytest.raises(certs.PKIError, match="expected node:c"):
        issue.sign_for_joiner(member, csr, "c", HOUR)


def test_install_refuses_a_certificate_for_another_key(tmp_path: Path) -> None:
    member = make_pki(tmp_path, "a")
    joiner = tmp_path / "b" / "pki"
    issue.joiner_csr(joiner, "b", HOSTS)
    other_csr = certs.csr_pem(certs.make_csr(certs.new_key(), "b", HOSTS))
    cert, ca, ca_key = issue.sign_for_joiner(member, other_csr, "b", HOUR)
    with pytest.raises(certs.PKIError, match="not for this node's key"):
        issue.install_joined(joiner, cert, ca, ca_key)
    assert not (joiner / "node.crt").exists()


def test_join_token_carries_the_ca(tmp_path: Path) -> None:
    ca = (make_pki(tmp_path) / "ca.crt").read_bytes()
    secret = "ab" * 32
    token = jointrust.create(secret, "cid", ["127.0.0.1:7400"], 2**62, ca)
    assert jointrust.ca_pem_of(token) == ca
    assert jointoken.verify(token, secret, "cid", 0).addresses == ["127.0.0.1:7400"]
    plain = jointoken.create(secret, "cid", ["127.0.0.1:7400"], 2**62)
    assert jointrust.ca_pem_of(plain) is None
    # The CA is under the MAC: swapping it (keeping the MAC) is refused.
    prefix, body, mac = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    other = (make_pki(tmp_path / "x") / "ca.crt").read_bytes()
    claims["ca"] = json.loads(base64.urlsafe_b64decode(
        jointrust.create(secret, "cid", [], 2**62, other).split(".")[1] + "==="
    ))["ca"]  # fmt: skip
    swapped = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(errors.Unauthenticated, match="not valid for this cluster"):
        jointoken.verify(f"{prefix}.{swapped}.{mac}", secret, "cid", 0)


class Status(control_pb2_grpc.ControlServicer):
    async def GetStatus(self, request: Any, ctx: Any) -> control_pb2.GetStatusResponse:
        return control_pb2.GetStatusResponse(identity="ok")


def served_serial(port: int) -> int:
    ctx = ssl.create_default_context(cafile=None)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            der = s.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


async def test_renewed_certificate_is_served_without_a_restart(tmp_path: Path) -> None:
    directory = make_pki(tmp_path)
    tls = NodeTLS.load(directory, "a")
    server = grpc.aio.server()
    control_pb2_grpc.add_ControlServicer_to_server(Status(), server)  # type: ignore[abstract]
    port = server.add_secure_port("127.0.0.1:0", tls.server_credentials())
    await server.start()
    try:
        creds = grpc.ssl_channel_credentials(tls.ca_pem)
        async with grpc.aio.secure_channel(f"127.0.0.1:{port}", creds) as ch:
            stub = control_pb2_grpc.ControlStub(ch)
            assert (await stub.GetStatus(control_pb2.GetStatusRequest())).identity == "ok"
            first = await asyncio.to_thread(served_serial, port)
            assert first == tls.cert.serial_number
            tls.replace_cert(issue.renew(directory, "a", HOSTS, HOUR))
            second = await asyncio.to_thread(served_serial, port)
            assert second == tls.cert.serial_number != first
            # The established channel keeps working across the renewal.
            assert (await stub.GetStatus(control_pb2.GetStatusRequest())).identity == "ok"
    finally:
        await server.stop(None)


class FakeCluster:
    def __init__(self) -> None:
        self.proposed: list[RecordEvent] = []

    async def propose(self, cmd: RecordEvent, timeout: float = 10.0) -> None:
        self.proposed.append(cmd)


def renewer(tmp_path: Path, hosts: list[str] = HOSTS) -> tuple[Renewer, FakeCluster, NodeTLS]:
    directory = make_pki(tmp_path, lifetime=dt.timedelta(seconds=6))
    tls = NodeTLS.load(directory, "a")
    cluster = FakeCluster()
    r = Renewer(cluster, tls, hosts, dt.timedelta(seconds=6), dt.timedelta(seconds=3))  # type: ignore[arg-type]
    return r, cluster, tls


async def test_renewal_event_observers_and_file(tmp_path: Path) -> None:
    r, cluster, tls = renewer(tmp_path)
    seen: list[bool] = []
    r.observers.append(seen.append)
    before = tls.cert.serial_number
    assert await r.renew_once()
    assert tls.cert.serial_number != before
    on_disk = certs.load_cert((tls.directory / files.NODE_CERT).read_bytes())
    assert on_disk.serial_number == tls.cert.serial_number
    [event] = cluster.proposed
    assert event.type is AuditType.CERTIFICATE_RENEWED and event.identity == "system"
    assert set(event.payload) == {"node", "not_after"} and event.payload["node"] == "a"
    assert seen == [True]
    assert r.due() > dt.datetime.now(dt.UTC)


@pytest.mark.parametrize("damage", ["corrupt", "unreadable", "other-ca"])
async def test_renewal_failure_is_an_event_without_secrets(tmp_path: Path, damage: str) -> None:
    r, cluster, tls = renewer(tmp_path)
    ca_key = tls.directory / files.CA_KEY
    if damage == "corrupt":
        ca_key.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    elif damage == "unreadable":
        ca_key.unlink()
    else:
        ca_key.write_bytes(certs.key_pem(certs.new_key()))
    seen: list[bool] = []
    r.observers.append(seen.append)
    before = tls.cert.serial_number
    assert not await r.renew_once()
    assert tls.cert.serial_number == before
    [event] = cluster.proposed
    assert event.type is AuditType.CERTIFICATE_RENEWAL_FAILED and event.identity == "system"
    assert "ca.key" in event.payload["error"] and "PRIVATE KEY" not in event.payload["error"]
    assert seen == [False]


def test_missing_san_makes_renewal_due_now(tmp_path: Path) -> None:
    r, _, tls = renewer(tmp_path, [*HOSTS, "10.9.9.9"])
    assert r.due() <= dt.datetime.now(dt.UTC)
