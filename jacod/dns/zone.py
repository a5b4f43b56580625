"""The ``jaco.`` zone: which names exist and what they answer, read off a discovery ``Snapshot``.

Pure: a parsed query and a snapshot in, a reply ``DNSRecord`` out (no I/O, no
clock). The wire concerns (parsing, EDNS, truncation) live in ``wire.py``.

Names, all under ``jaco.`` and case-insensitive (service and deployment names
are DNS labels already, admission makes sure of it)::

    <service>.<deployment>.jaco              A/AAAA: every distinct address of a healthy
                                             replica; SRV: one per healthy replica, at
                                             the reachable port of the first declared port
    _<port>._tcp.<service>.<deployment>.jaco SRV, for the declared port <port> (RFC 2782
                                             form, for services that declare several)
    <ordinal>.<service>.<deployment>.jaco    A/AAAA: that replica's address, while healthy
    jaco                                     SOA (the zone apex)

SRV records have priority 0 and weight 1 for everyone (all replicas are
equal), and their target is the replica's ``<ordinal>.`` name, whose address
rides along in the additional section so a client needs no second query.

Negative answers, with the SOA in the authority section so resolvers can cache
them (RFC 2308) for at most ``ttl`` seconds (the SOA's TTL and MINIMUM both):

- A declared service with no healthy replica is NOERROR with an empty answer
  (NODATA), not NXDOMAIN. The name exists: NXDOMAIN would claim that nothing
  exists at or *below* it (RFC 8020), and a resolver may then answer NXDOMAIN
  for ``0.web.shop.jaco`` from cache. It also keeps "known service, nobody
  healthy right now" (``getaddrinfo``: no address) apart from "no such service"
  (unknown host) for whoever is debugging. The same holds for a type the name
  has nothing of (``TXT web.shop.jaco``) and for the empty non-terminals a
  deployment (``shop.jaco``) and a ``_tcp`` label are.
- A name the zone does not have is NXDOMAIN, including the ordinal name of a
  replica that is not healthy: that name has no records and nothing below it.
- A name outside ``jaco.``, a class other than IN, and zone transfers are
  REFUSED (this server is no resolver: RA is never set). An opcode other than
  QUERY is NOTIMP; a query without exactly one question is FORMERR.

Endpoints whose host is not an IP literal (a node advertising a host name) are
left out of A/AAAA and SRV answers: resolving the name would block the event
loop, and a record pointing at a name the client may not resolve the way this
node does would be worse than none. Such a replica's ordinal name is NODATA.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from dnslib import AAAA, CLASS, OPCODE, QTYPE, RCODE, RR, SOA, SRV, A, DNSHeader, DNSRecord

from jacod.discovery.registry import Endpoint, Snapshot

ZONE = "jaco."
TTL = 5  # seconds; short because replicas come and go, and DNS is the live view
_ORIGIN = (b"jaco",)
_NO_ZONE_TRANSFERS = (QTYPE.AXFR, QTYPE.IXFR)


@dataclass
class _Node:
    """What the zone holds at one name: its RRsets by type, and their additional records."""

    rrsets: dict[int, list[RR]] = field(default_factory=dict)
    additional: list[RR] = field(default_factory=list)


def answer(query: DNSRecord, snap: Snapshot, *, ttl: int = TTL) -> DNSRecord:
    """The reply to ``query`` from the zone as ``snap`` describes it; every query gets one."""
    if query.header.opcode != OPCODE.QUERY:
        return _reply(query, RCODE.NOTIMP, authoritative=False, with_question=False)
    if len(query.questions) != 1:
        return _reply(query, RCODE.FORMERR, authoritative=False, with_question=False)
    q = query.questions[0]
    labels = tuple(label.lower() for label in q.qname.label)
    if q.qclass != CLASS.IN or labels[-1:] != _ORIGIN or q.qtype in _NO_ZONE_TRANSFERS:
        return _reply(query, RCODE.REFUSED, authoritative=False)
    node = _lookup(labels[:-1][::-1], snap, ttl)  # most significant label first
    if node is None:
        return _negative(query, RCODE.NXDOMAIN, ttl)
    if q.qtype == QTYPE.ANY:  # RFC 8482 allows less; these sets are small
        found = [rr for rrset in node.rrsets.values() for rr in rrset]
    else:
        found = node.rrsets.get(q.qtype, [])
    if not found:
        return _negative(query, RCODE.NOERROR, ttl)
    reply = _reply(query, RCODE.NOERROR)
    for rr in found:  # owner as asked: resolvers using 0x20 case randomisation compare it
        reply.add_answer(RR(q.qname, rr.rtype, CLASS.IN, rr.ttl, rr.rdata))
    if any(rr.rtype == QTYPE.SRV for rr in found):
        reply.add_ar(*node.additional)
    return reply


def _lookup(rel: tuple[bytes, ...], snap: Snapshot, ttl: int) -> _Node | None:
    """The node at the name whose labels below ``jaco`` are ``rel``, or None if it does not exist.

    ``rel`` is lower-cased and reversed: ``web.shop.jaco`` is ``(b"shop", b"web")``.
    """
    if not rel:
        return _Node({QTYPE.SOA: [RR(ZONE, QTYPE.SOA, CLASS.IN, ttl, _soa(ttl))]})
    try:
        dep, *below = [label.decode("ascii") for label in rel]
    except UnicodeDecodeError:
        return None  # no deployment or service can be called that
    if not below:  # a deployment: an empty non-terminal while it has services
        return _Node() if any(d == dep for d, _ in snap.declared) else None
    svc, *below = below
    key = (dep, svc)
    if key not in snap.declared:
        return None
    declared = snap.declared[key]
    healthy = snap.lookup(dep, svc)
    base = f"{svc}.{dep}.{ZONE}"
    match below:
        case []:
            node = _addresses(healthy, ttl)
            if declared:
                _add_srv(node, healthy, declared[0], base, ttl)
            return node
        case [label] if (ordinal := _ordinal(label)) is not None:
            replica = [e for e in healthy if e.ordinal == ordinal]
            return _addresses(replica, ttl) if replica else None
        case ["_tcp"] if declared:  # empty non-terminal above the _<port> names
            return _Node()
        case ["_tcp", label] if (port := _port(label)) is not None and port in declared:
            node = _Node()
            _add_srv(node, healthy, port, base, ttl)
            return node
    return None


def _addresses(endpoints: Iterable[Endpoint], ttl: int) -> _Node:
    """A and AAAA sets: each distinct address once, in ordinal order of first appearance."""
    node = _Node()
    seen: set[str] = set()
    for ep in endpoints:
        rr = _address_rr(None, ep.host, ttl)
        if rr is not None and ep.host not in seen:
            seen.add(ep.host)
            node.rrsets.setdefault(rr.rtype, []).append(rr)
    return node


def _add_srv(node: _Node, endpoints: list[Endpoint], port: int, base: str, ttl: int) -> None:
    """One SRV per endpoint reachable at declared ``port`` with an address we can give out."""
    srvs, glue = [], []
    for ep in endpoints:
        reachable = ep.ports.get(port)
        target = f"{ep.ordinal}.{base}"
        address = _address_rr(target, ep.host, ttl)
        if reachable is None or address is None:
            continue
        srvs.append(RR(base, QTYPE.SRV, CLASS.IN, ttl, SRV(0, 1, reachable, target)))
        glue.append(address)
    if srvs:
        node.rrsets[QTYPE.SRV] = srvs
        node.additional = glue


def _address_rr(owner: str | None, host: str, ttl: int) -> RR | None:
    """An A or AAAA record for ``host`` if it is an IP literal; None for names (see module doc)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv4Address):
        return RR(owner, QTYPE.A, CLASS.IN, ttl, A(str(ip)))
    if ip.scope_id:  # fe80::1%eth0 means nothing on another host
        return None
    return RR(owner, QTYPE.AAAA, CLASS.IN, ttl, AAAA(str(ip)))


def _ordinal(label: str) -> int | None:
    """``"3"`` -> 3; None for anything else, including ``"03"`` (one name per replica)."""
    if label.isdigit() and (label == "0" or not label.startswith("0")):
        return int(label)
    return None


def _port(label: str) -> int | None:
    """``"_8080"`` -> 8080, else None."""
    number = _ordinal(label[1:]) if label.startswith("_") else None
    return number if number is not None and 0 < number < 65536 else None


def _soa(ttl: int) -> SOA:
    """The zone's SOA with MINIMUM = ``ttl``, the negative-caching time (RFC 2308)."""
    return SOA("ns.jaco.", "hostmaster.jaco.", (1, 3600, 600, 86400, ttl))


def _negative(query: DNSRecord, rcode: int, ttl: int) -> DNSRecord:
    reply = _reply(query, rcode)
    reply.add_auth(RR(ZONE, QTYPE.SOA, CLASS.IN, ttl, _soa(ttl)))
    return reply


def _reply(
    query: DNSRecord, rcode: int, *, authoritative: bool = True, with_question: bool = True
) -> DNSRecord:
    """A response header for ``query``: its id, opcode, RD and CD; AA when we own the answer."""
    h = query.header
    header = DNSHeader(
        id=h.id, bitmap=0, qr=1, opcode=h.opcode, aa=int(authoritative), rd=h.rd, cd=h.cd,
        rcode=rcode,
    )  # fmt: skip
    questions = list(query.questions[:1]) if with_question else []
    return DNSRecord(header, questions=questions)
