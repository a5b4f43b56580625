"""wire.respond: bytes in, bytes (or silence) out: bad packets, EDNS(0), truncation, failures."""

from __future__ import annotations

import logging

import pytest
from dnslib import EDNS0, OPCODE, QTYPE, DNSHeader, DNSRecord

from jacod.discovery.registry import Snapshot
from jacod.dns.wire import UDP_MIN, UDP_PAYLOAD, respond

from .helpers import ep, many, rcode, rdata, snapshot


def reply_to(
    query: DNSRecord | bytes | bytearray, snap: Snapshot | None = None, *, udp: bool = True
) -> DNSRecord:
    data = bytes(query) if isinstance(query, bytes | bytearray) else query.pack()
    out = respond(data, lambda: snap if snap is not None else snapshot(many(3)), udp=udp)
    assert out is not None
    return DNSRecord.parse(out)


def with_edns(query: DNSRecord, size: int, version: int = 0) -> DNSRecord:
    query.add_ar(EDNS0(udp_len=size, version=version))
    return query


def test_a_query_round_trips() -> None:
    reply = reply_to(DNSRecord.question("web.shop.jaco"))
    assert rdata(reply.rr, "A") == ["10.1.0.1", "10.1.0.2", "10.1.0.3"]


@pytest.mark.parametrize("data", [b"", b"\x12", b"\x00" * 11], ids=["empty", "1-byte", "11-bytes"])
def test_messages_shorter_than_a_header_are_dropped(data: bytes) -> None:
    assert respond(data, snapshot, udp=True) is None


def test_a_header_with_a_broken_body_is_formerr_with_its_id() -> None:
    header = DNSHeader(id=0xBEEF, q=1)  # promises a question it does not carry
    packed = DNSRecord(header).pack()[:12] + b"\x07garbage"
    reply = reply_to(packed)
    assert rcode(reply) == "FORMERR"
    assert reply.header.id == 0xBEEF and reply.header.qr == 1


def test_responses_are_never_answered() -> None:
    response = DNSRecord.question("web.shop.jaco").reply()
    assert respond(response.pack(), snapshot, udp=True) is None


def test_other_opcodes_are_notimp_even_when_their_body_does_not_parse() -> None:
    header = DNSHeader(id=7, q=1, opcode=OPCODE.UPDATE)
    reply = reply_to(DNSRecord(header).pack()[:12] + b"\xff\xff")
    assert rcode(reply) == "NOTIMP" and reply.header.id == 7


def test_snapshot_failure_is_servfail_with_the_question(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> Snapshot:
        raise RuntimeError("raft is gone")

    caplog.set_level(logging.WARNING)
    out = respond(DNSRecord.question("web.shop.jaco").pack(), broken, udp=True)
    assert out is not None
    reply = DNSRecord.parse(out)
    assert rcode(reply) == "SERVFAIL" and str(reply.q.qname) == "web.shop.jaco."
    assert any("raft is gone" in (r.exc_text or "") for r in caplog.records)


def test_an_edns_query_gets_our_opt_back() -> None:
    reply = reply_to(with_edns(DNSRecord.question("web.shop.jaco"), 4096))
    [opt] = [rr for rr in reply.ar if rr.rtype == QTYPE.OPT]
    assert opt.edns_len == UDP_PAYLOAD and opt.edns_ver == 0
    assert len(rdata(reply.rr, "A")) == 3


def test_a_plain_query_gets_no_opt() -> None:
    reply = reply_to(DNSRecord.question("web.shop.jaco"))
    assert [rr for rr in reply.ar if rr.rtype == QTYPE.OPT] == []


def test_an_unknown_edns_version_is_badvers() -> None:
    reply = reply_to(with_edns(DNSRecord.question("web.shop.jaco"), 4096, version=1))
    [opt] = reply.ar
    assert (opt.edns_rcode << 4) | reply.header.rcode == 16  # BADVERS
    assert reply.rr == []


def test_two_opt_records_are_formerr() -> None:
    query = with_edns(with_edns(DNSRecord.question("web.shop.jaco"), 1232), 1232)
    assert rcode(reply_to(query)) == "FORMERR"


def test_udp_over_512_bytes_is_truncated_and_tcp_gets_everything() -> None:
    snap = snapshot(many(60))
    query = DNSRecord.question("web.shop.jaco")
    udp = respond(query.pack(), lambda: snap, udp=True)
    assert udp is not None and len(udp) <= UDP_MIN
    cut = DNSRecord.parse(udp)
    assert cut.header.tc == 1 and cut.rr == []
    assert str(cut.q.qname) == "web.shop.jaco."  # the client knows what to retry over TCP
    full = reply_to(query, snap, udp=False)
    assert full.header.tc == 0 and len(rdata(full.rr, "A")) == 60


def test_the_edns_size_raises_the_udp_limit_up_to_ours() -> None:
    snap = snapshot(many(60))  # ~1 KiB of A records: over 512, under 1232
    roomy = reply_to(with_edns(DNSRecord.question("web.shop.jaco"), 4096), snap)
    assert roomy.header.tc == 0 and len(roomy.rr) == 60
    tight = reply_to(with_edns(DNSRecord.question("web.shop.jaco"), 600), snap)
    assert tight.header.tc == 1 and tight.rr == []
    [opt] = tight.ar  # the OPT survives truncation
    assert opt.rtype == QTYPE.OPT
    # Less than 512 advertised still means 512 (RFC 6891 6.2.5).
    small = snapshot(many(20))
    assert len(reply_to(with_edns(DNSRecord.question("web.shop.jaco"), 100), small).rr) == 20


def test_srv_glue_is_dropped_before_the_answer_is_truncated() -> None:
    snap = snapshot(many(12))  # ~450 bytes of SRV, ~670 with their A glue
    query = DNSRecord.question("web.shop.jaco", "SRV")
    full = respond(query.pack(), lambda: snap, udp=False)
    assert full is not None and len(full) > UDP_MIN  # the premise: it does not fit whole
    reply = reply_to(query, snap)
    assert reply.header.tc == 0
    assert len(rdata(reply.rr, "SRV")) == 12 and reply.ar == []


def test_tcp_replies_are_capped_at_what_a_length_prefix_can_carry() -> None:
    huge = snapshot([ep(i, f"10.{i // 62500}.{i // 250 % 250}.{i % 250 + 1}") for i in range(5000)])
    out = respond(DNSRecord.question("web.shop.jaco").pack(), lambda: huge, udp=False)
    assert out is not None and len(out) <= 65535
    assert DNSRecord.parse(out).header.tc == 1
