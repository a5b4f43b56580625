"""zone.answer over hand-built snapshots: which names exist, what they hold, what is refused."""

from __future__ import annotations

import pytest
from dnslib import CLASS, OPCODE, QTYPE, DNSQuestion, DNSRecord

from jacod.dns.zone import TTL, answer

from .helpers import ep, rcode, rdata, snapshot

THREE = [ep(0, "10.0.0.1"), ep(1, "10.0.0.2"), ep(2, "10.0.0.2")]  # two share a node


def ask(name: str, qtype: str = "A", snap: object = None, **kw: int) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    return answer(query, snap if snap is not None else snapshot(THREE), **kw)  # type: ignore[arg-type]


def test_service_a_lists_each_healthy_address_once_in_ordinal_order() -> None:
    reply = ask("web.shop.jaco")
    assert rcode(reply) == "NOERROR"
    assert reply.header.aa == 1 and reply.header.ra == 0
    assert rdata(reply.rr, "A") == ["10.0.0.1", "10.0.0.2"]
    assert {rr.ttl for rr in reply.rr} == {TTL}
    assert reply.auth == [] and reply.ar == []


def test_names_are_case_insensitive_and_the_question_is_echoed_as_asked() -> None:
    reply = ask("WeB.sHoP.JACO")
    assert rdata(reply.rr, "A") == ["10.0.0.1", "10.0.0.2"]
    assert str(reply.q.qname) == "WeB.sHoP.JACO."
    assert str(reply.rr[0].rname) == "WeB.sHoP.JACO."


def test_aaaa_answers_ipv6_hosts_and_a_only_ipv4_ones() -> None:
    snap = snapshot([ep(0, "10.0.0.1"), ep(1, "fd00::1"), ep(2, "fe80::1%eth0")])
    assert rdata(ask("web.shop.jaco", "AAAA", snap).rr, "AAAA") == ["fd00::1"]
    assert rdata(ask("web.shop.jaco", "A", snap).rr, "A") == ["10.0.0.1"]


def test_srv_has_one_record_per_replica_with_its_port_and_glue() -> None:
    reply = ask("web.shop.jaco", "SRV")
    assert rcode(reply) == "NOERROR"
    assert rdata(reply.rr, "SRV") == [
        "0 1 30000 0.web.shop.jaco.",
        "0 1 30001 1.web.shop.jaco.",
        "0 1 30002 2.web.shop.jaco.",
    ]
    glue = [(str(rr.rname), str(rr.rdata)) for rr in reply.ar]
    assert glue == [
        ("0.web.shop.jaco.", "10.0.0.1"),
        ("1.web.shop.jaco.", "10.0.0.2"),
        ("2.web.shop.jaco.", "10.0.0.2"),
    ]


def test_srv_uses_the_first_declared_port_and_the_rfc2782_name_picks_another() -> None:
    eps = [ep(0, "10.0.0.1", {80: 31000, 9090: 32000}), ep(1, "10.0.0.2", {80: 31001})]
    snap = snapshot(eps, web_ports=[80, 9090])
    assert rdata(ask("web.shop.jaco", "SRV", snap).rr, "SRV") == [
        "0 1 31000 0.web.shop.jaco.",
        "0 1 31001 1.web.shop.jaco.",
    ]
    # Replica 1 has not reported port 9090: it is left out, not given a wrong port.
    metrics = ask("_9090._tcp.web.shop.jaco", "SRV", snap)
    assert rdata(metrics.rr, "SRV") == ["0 1 32000 0.web.shop.jaco."]
    assert str(metrics.rr[0].rname) == "_9090._tcp.web.shop.jaco."
    assert rdata(metrics.ar, "A") == ["10.0.0.1"]


@pytest.mark.parametrize(
    ("name", "qtype", "expected"),
    [
        pytest.param("_80._tcp.web.shop.jaco", "SRV", "NOERROR", id="declared-port"),
        pytest.param("_tcp.web.shop.jaco", "SRV", "NOERROR", id="tcp-empty-non-terminal"),
        pytest.param("_81._tcp.web.shop.jaco", "SRV", "NXDOMAIN", id="undeclared-port"),
        pytest.param("_80._udp.web.shop.jaco", "SRV", "NXDOMAIN", id="udp"),
        pytest.param("_080._tcp.web.shop.jaco", "SRV", "NXDOMAIN", id="port-leading-zero"),
        pytest.param("1.web.shop.jaco", "A", "NOERROR", id="healthy-ordinal"),
        pytest.param("7.web.shop.jaco", "A", "NXDOMAIN", id="unknown-ordinal"),
        pytest.param("01.web.shop.jaco", "A", "NXDOMAIN", id="ordinal-leading-zero"),
        pytest.param("x.1.web.shop.jaco", "A", "NXDOMAIN", id="below-an-ordinal"),
        pytest.param("api.shop.jaco", "A", "NXDOMAIN", id="unknown-service"),
        pytest.param("web.shop2.jaco", "A", "NXDOMAIN", id="unknown-deployment"),
        pytest.param("shop.jaco", "A", "NOERROR", id="deployment-empty-non-terminal"),
        pytest.param("db.shop.jaco", "A", "NOERROR", id="declared-service-none-healthy"),
        pytest.param("web.shop.jaco", "TXT", "NOERROR", id="other-type"),
        pytest.param("web.shop.jaco", "ANY", "NOERROR", id="any"),
        pytest.param("jaco", "SOA", "NOERROR", id="apex"),
        pytest.param("example.com", "A", "REFUSED", id="outside-zone"),
        pytest.param("web.shop.jaco.example.com", "A", "REFUSED", id="jaco-not-last"),
        pytest.param("notjaco", "A", "REFUSED", id="suffix-not-a-label"),
        pytest.param("jaco", "AXFR", "REFUSED", id="zone-transfer"),
    ],
)
def test_rcode_of_each_kind_of_name(name: str, qtype: str, expected: str) -> None:
    assert rcode(ask(name, qtype)) == expected


@pytest.mark.parametrize(
    ("name", "qtype"),
    [
        pytest.param("db.shop.jaco", "A", id="declared-service-none-healthy"),
        pytest.param("db.shop.jaco", "SRV", id="declared-service-none-healthy-srv"),
        pytest.param("web.shop.jaco", "TXT", id="other-type"),
        pytest.param("web.shop.jaco", "AAAA", id="no-ipv6-replica"),
        pytest.param("shop.jaco", "A", id="deployment"),
        pytest.param("api.shop.jaco", "A", id="nxdomain"),
    ],
)
def test_negative_answers_carry_the_soa_for_negative_caching(name: str, qtype: str) -> None:
    reply = ask(name, qtype, ttl=3)
    assert reply.rr == []
    assert reply.header.aa == 1
    [soa] = reply.auth
    assert soa.rtype == QTYPE.SOA and str(soa.rname) == "jaco."
    assert soa.ttl == 3 and soa.rdata.times[-1] == 3  # RFC 2308: min(TTL, MINIMUM)


def test_refused_is_not_authoritative_and_carries_nothing() -> None:
    reply = ask("example.com")
    assert rcode(reply) == "REFUSED"
    assert reply.header.aa == 0
    assert reply.rr == [] and reply.auth == [] and reply.ar == []


def test_rescale_changes_the_answer() -> None:
    assert rdata(ask("web.shop.jaco", "SRV", snapshot(THREE[:1])).rr, "SRV") == [
        "0 1 30000 0.web.shop.jaco."
    ]
    grown = snapshot([*THREE, ep(3, "10.0.0.4")])
    assert rdata(ask("web.shop.jaco", "A", grown).rr, "A") == ["10.0.0.1", "10.0.0.2", "10.0.0.4"]
    assert rcode(ask("3.web.shop.jaco", "A", grown)) == "NOERROR"
    assert rcode(ask("3.web.shop.jaco", "A", snapshot(THREE))) == "NXDOMAIN"


def test_ordinal_name_answers_that_replica_only() -> None:
    reply = ask("2.web.shop.jaco")
    assert rdata(reply.rr, "A") == ["10.0.0.2"]
    assert len(reply.rr) == 1


def test_hosts_that_are_names_are_left_out_of_a_and_srv() -> None:
    snap = snapshot([ep(0, "node-a.example"), ep(1, "10.0.0.2")])
    assert rdata(ask("web.shop.jaco", "A", snap).rr, "A") == ["10.0.0.2"]
    assert rdata(ask("web.shop.jaco", "SRV", snap).rr, "SRV") == ["0 1 30001 1.web.shop.jaco."]
    named = ask("0.web.shop.jaco", "A", snap)
    assert rcode(named) == "NOERROR" and named.rr == []  # the replica exists; no address to give


def test_any_returns_addresses_and_srv() -> None:
    reply = ask("web.shop.jaco", "ANY")
    assert rdata(reply.rr, "A") == ["10.0.0.1", "10.0.0.2"]
    assert len(rdata(reply.rr, "SRV")) == 3


def test_apex_soa_and_ttl_parameter() -> None:
    reply = ask("jaco", "SOA", ttl=30)
    [soa] = reply.rr
    assert str(soa.rdata.mname) == "ns.jaco." and soa.ttl == 30
    assert {rr.ttl for rr in ask("web.shop.jaco", "SRV", ttl=30).rr} == {30}


def test_reply_header_mirrors_the_query() -> None:
    query = DNSRecord.question("web.shop.jaco")
    query.header.id, query.header.rd, query.header.cd = 4242, 0, 1
    reply = answer(query, snapshot(THREE))
    assert reply.header.id == 4242 and reply.header.qr == 1
    assert reply.header.rd == 0 and reply.header.cd == 1


def test_other_opcodes_are_notimp() -> None:
    query = DNSRecord.question("web.shop.jaco")
    query.header.opcode = OPCODE.NOTIFY
    reply = answer(query, snapshot(THREE))
    assert rcode(reply) == "NOTIMP" and reply.header.opcode == OPCODE.NOTIFY


@pytest.mark.parametrize("count", [0, 2])
def test_queries_without_exactly_one_question_are_formerr(count: int) -> None:
    query = DNSRecord()
    query.add_question(*[DNSQuestion("web.shop.jaco")] * count)
    reply = answer(query, snapshot(THREE))
    assert rcode(reply) == "FORMERR" and reply.rr == []


def test_classes_other_than_in_are_refused() -> None:
    query = DNSRecord(q=DNSQuestion("web.shop.jaco", QTYPE.A, CLASS.CH))
    assert rcode(answer(query, snapshot(THREE))) == "REFUSED"


def test_non_ascii_labels_are_nxdomain_not_a_crash() -> None:
    query = DNSRecord(q=DNSQuestion("x.shop.jaco"))
    query.q.qname.label = (b"w\xffb", b"shop", b"jaco")
    assert rcode(answer(query, snapshot(THREE))) == "NXDOMAIN"
