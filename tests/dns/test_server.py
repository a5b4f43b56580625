"""DnsServer on real loopback sockets: UDP and TCP queries, a rescale, bad input, shutdown."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from dnslib import DNSHeader, DNSRecord

from jacod.discovery.registry import Snapshot
from jacod.dns import DnsServer, parse_listen

from .helpers import ep, many, rcode, rdata, snapshot

LOOPBACK = "127.0.0.1"


@dataclass
class Live:
    """What the server reads: tests swap ``snap`` the way raft swaps the registry's."""

    snap: Snapshot
    broken: bool = False

    def __call__(self) -> Snapshot:
        if self.broken:
            raise RuntimeError("registry unavailable")
        return self.snap


@dataclass
class Dns:
    server: DnsServer
    live: Live

    async def ask(self, name: str, qtype: str = "A", *, tcp: bool = False) -> DNSRecord:
        return await ask(self.server.port, name, qtype, tcp=tcp)


async def ask(port: int, name: str, qtype: str = "A", *, tcp: bool = False) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    raw = await asyncio.to_thread(query.send, LOOPBACK, port, tcp=tcp, timeout=5)
    reply = DNSRecord.parse(raw)
    assert reply.header.id == query.header.id
    return reply


@pytest.fixture
async def dns() -> AsyncIterator[Dns]:
    live = Live(snapshot([ep(0, "10.0.0.1"), ep(1, "10.0.0.2"), ep(2, "10.0.0.3")]))
    server = DnsServer(live, f"{LOOPBACK}:0")
    await server.start()
    try:
        yield Dns(server, live)
    finally:
        await server.stop()


async def tcp_exchange(port: int, payload: bytes, replies: int) -> list[bytes]:
    """Send raw ``payload`` on one TCP connection and read ``replies`` length-prefixed answers."""
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        writer.write(payload)
        out = []
        for _ in range(replies):
            size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 5), "big")
            out.append(await asyncio.wait_for(reader.readexactly(size), 5))
        return out
    finally:
        writer.close()


def framed(message: bytes) -> bytes:
    return len(message).to_bytes(2, "big") + message


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
async def test_a_and_srv_answers(dns: Dns, tcp: bool) -> None:
    a = await dns.ask("web.shop.jaco", "A", tcp=tcp)
    assert rdata(a.rr, "A") == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    srv = await dns.ask("web.shop.jaco", "SRV", tcp=tcp)
    assert rdata(srv.rr, "SRV") == [f"0 1 {30000 + i} {i}.web.shop.jaco." for i in range(3)]
    assert rdata(srv.ar, "A") == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


async def test_answers_follow_a_rescale(dns: Dns) -> None:
    dns.live.snap = snapshot([ep(i, f"10.0.0.{i + 1}") for i in range(5)])
    assert len(rdata((await dns.ask("web.shop.jaco", "SRV")).rr, "SRV")) == 5
    assert rdata((await dns.ask("4.web.shop.jaco", tcp=True)).rr, "A") == ["10.0.0.5"]

    dns.live.snap = snapshot([ep(0, "10.0.0.1")])
    assert rdata((await dns.ask("web.shop.jaco")).rr, "A") == ["10.0.0.1"]
    assert rcode(await dns.ask("4.web.shop.jaco")) == "NXDOMAIN"

    dns.live.snap = snapshot([])  # scaled to zero: the service still exists, with no address
    empty = await dns.ask("web.shop.jaco", tcp=True)
    assert rcode(empty) == "NOERROR" and empty.rr == [] and len(empty.auth) == 1


async def test_refused_outside_the_zone_and_nxdomain_inside(dns: Dns) -> None:
    refused = await dns.ask("example.com")
    assert rcode(refused) == "REFUSED" and refused.header.aa == 0
    missing = await dns.ask("nope.shop.jaco", tcp=True)
    assert rcode(missing) == "NXDOMAIN" and missing.header.aa == 1


async def test_many_replicas_truncate_over_udp_and_come_whole_over_tcp(dns: Dns) -> None:
    dns.live.snap = snapshot(many(60))
    udp = await dns.ask("web.shop.jaco")
    assert udp.header.tc == 1 and udp.rr == []
    tcp = await dns.ask("web.shop.jaco", tcp=True)
    assert tcp.header.tc == 0 and len(rdata(tcp.rr, "A")) == 60
    srv = await dns.ask("web.shop.jaco", "SRV", tcp=True)
    assert len(rdata(srv.rr, "SRV")) == 60 and len(srv.ar) == 60


async def test_garbage_over_udp_does_not_kill_the_server(dns: Dns) -> None:
    response = DNSRecord.question("web.shop.jaco").reply().pack()
    noise = bytes(range(256)) * 2  # reads as a header with id 1, then nonsense
    header_only = DNSRecord(DNSHeader(id=99, q=3)).pack()[:12] + b"\xc0\xff\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        for junk in (b"", b"\x00", noise, response, header_only):
            sock.sendto(junk, (LOOPBACK, dns.server.port))
        replies = [DNSRecord.parse((await asyncio.to_thread(sock.recvfrom, 4096))[0]) for _ in "12"]
    # The too-short ones and the response got nothing; the two with a header, FORMERR.
    assert [(r.header.id, rcode(r)) for r in replies] == [(1, "FORMERR"), (99, "FORMERR")]
    assert rdata((await dns.ask("web.shop.jaco")).rr, "A")  # still serving


async def test_garbage_over_tcp_gets_formerr_and_the_connection_lives_on(dns: Dns) -> None:
    garbage = DNSRecord(DNSHeader(id=7, q=1)).pack()[:12] + b"\xff" * 5
    query = DNSRecord.question("1.web.shop.jaco")
    payload = framed(b"\x01") + framed(garbage) + framed(query.pack())  # the first: no reply
    first, second = await tcp_exchange(dns.server.port, payload, 2)
    assert rcode(DNSRecord.parse(first)) == "FORMERR"
    reply = DNSRecord.parse(second)
    assert reply.header.id == query.header.id and rdata(reply.rr, "A") == ["10.0.0.2"]


async def test_pipelined_tcp_queries_are_answered_in_order(dns: Dns) -> None:
    queries = [DNSRecord.question(f"{i}.web.shop.jaco") for i in range(3)]
    whole = b"".join(framed(q.pack()) for q in queries)
    # Split mid-message: the server must reassemble across reads.
    reader, writer = await asyncio.open_connection(LOOPBACK, dns.server.port)
    try:
        writer.write(whole[:5])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(whole[5:])
        answers = []
        for _ in queries:
            size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 5), "big")
            answers.append(DNSRecord.parse(await reader.readexactly(size)))
    finally:
        writer.close()
    assert [a.header.id for a in answers] == [q.header.id for q in queries]
    assert [rdata(a.rr, "A") for a in answers] == [["10.0.0.1"], ["10.0.0.2"], ["10.0.0.3"]]


async def test_a_failing_registry_is_servfail_and_the_server_recovers(dns: Dns) -> None:
    dns.live.broken = True
    assert rcode(await dns.ask("web.shop.jaco")) == "SERVFAIL"
    assert rcode(await dns.ask("web.shop.jaco", tcp=True)) == "SERVFAIL"
    dns.live.broken = False
    assert rcode(await dns.ask("web.shop.jaco")) == "NOERROR"


async def test_idle_tcp_connections_are_closed() -> None:
    async with DnsServer(Live(snapshot()), f"{LOOPBACK}:0", tcp_idle_timeout=0.2) as server:
        reader, writer = await asyncio.open_connection(LOOPBACK, server.port)
        try:
            assert await asyncio.wait_for(reader.read(1), 5) == b""  # EOF: the server hung up
        finally:
            writer.close()


async def test_stop_closes_both_transports_and_open_connections() -> None:
    server = DnsServer(Live(snapshot()), f"{LOOPBACK}:0")
    await server.start()
    port = server.port
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    await server.stop()
    try:
        assert await asyncio.wait_for(reader.read(1), 5) == b""
    finally:
        writer.close()
    with pytest.raises(OSError):
        await asyncio.open_connection(LOOPBACK, port)
    with pytest.raises(RuntimeError):
        server.port  # noqa: B018 - the property raising is what is tested
    await server.stop()  # twice is fine


async def test_start_logs_the_address_and_a_taken_port_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="jaco.dns")
    async with DnsServer(Live(snapshot()), f"{LOOPBACK}:0") as server:
        [line] = [r for r in caplog.records if r.name == "jaco.dns" and r.levelno == logging.INFO]
        assert line.__dict__["address"] == f"{LOOPBACK}:{server.port}" == server.address
        with pytest.raises(OSError):
            await DnsServer(Live(snapshot()), server.address).start()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
async def test_ipv6_listen_address() -> None:
    live = Live(snapshot([ep(0, "fd00::7")]))
    async with DnsServer(live, "[::1]:0") as server:
        assert server.address == f"[::1]:{server.port}"
        query = DNSRecord.question("web.shop.jaco", "AAAA")
        for tcp in (False, True):
            raw = await asyncio.to_thread(
                query.send, "::1", server.port, tcp=tcp, timeout=5, ipv6=True
            )
            assert rdata(DNSRecord.parse(raw).rr, "AAAA") == ["fd00::7"]


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:8600", ("127.0.0.1", 8600)),
        ("[::1]:0", ("::1", 0)),
        ("0.0.0.0:53", ("0.0.0.0", 53)),
    ],
)
def test_parse_listen(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["localhost:8600", "127.0.0.1", "127.0.0.1:99999", ":53", "off"])
def test_parse_listen_rejects(listen: str) -> None:
    with pytest.raises(ValueError, match="DNS listen address"):
        parse_listen(listen)
