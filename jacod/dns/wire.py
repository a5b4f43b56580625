"""Bytes in, bytes out: parsing, EDNS(0) and UDP truncation around ``zone.answer``.

The transports in ``server.py`` hand every message to :func:`respond` and send
back whatever it returns; ``None`` means stay silent. The packet format is
dnslib's, never parsed by hand here.

- Opcodes other than QUERY get NOTIMP, whether or not the rest parses.
- Unparsable messages: if at least the 12-byte header can be read, the reply is
  FORMERR with that header's id; otherwise (and for anything with QR set, which
  is a response, not a query: answering it could loop two servers) nothing.
- EDNS(0) (RFC 6891): a query carrying an OPT record gets one back advertising
  ``UDP_PAYLOAD``; a version other than 0 is BADVERS; two OPT records FORMERR.
- UDP size: 512 bytes, or the client's advertised EDNS size capped at
  ``UDP_PAYLOAD`` (1232, the DNS Flag Day 2020 value that avoids IP
  fragmentation). A reply over it first loses its additional records (SRV glue:
  optional, RFC 2181 9), and if it is still too big is sent with TC set and
  empty sections, so the client retries over TCP (RFC 7766), which gets it all
  (up to the 65535 bytes a TCP message can hold: thousands of replicas).
- The snapshot is read once per query that gets that far. If reading it or
  answering fails, the reply is SERVFAIL and the error is logged.
"""

from __future__ import annotations

from collections.abc import Callable

from dnslib import EDNS0, OPCODE, QTYPE, RCODE, RR, DNSBuffer, DNSHeader, DNSRecord

from jacod.discovery.registry import Snapshot
from jacod.dns.zone import TTL, answer
from obs.logging import get_logger

log = get_logger("dns")

UDP_MIN = 512  # RFC 1035's limit for clients that do not speak EDNS(0)
UDP_PAYLOAD = 1232  # our EDNS(0) receive size, and the cap on what we send over UDP
TCP_MAX = 65535  # what a 2-byte length prefix can carry
_BADVERS = 16  # extended RCODE: upper 8 bits in the OPT TTL, lower 4 in the header


def respond(
    data: bytes, snapshot: Callable[[], Snapshot], *, udp: bool, ttl: int = TTL
) -> bytes | None:
    """The wire reply to the message ``data``, or None when it must not be answered."""
    try:
        header = DNSHeader.parse(DNSBuffer(data))
    except Exception:  # shorter than a header: there is no id to reply to
        log.debug("dropped a message without a header", extra={"size": len(data)})
        return None
    if header.qr:
        return None
    if header.opcode != OPCODE.QUERY:  # before parsing: UPDATE and friends need not parse
        return _bare(header, RCODE.NOTIMP).pack()
    try:
        query = DNSRecord.parse(data)
    except Exception:  # DNSError, but arbitrary bytes may find other paths
        log.debug("malformed query", extra={"size": len(data), "id": header.id})
        return _bare(header, RCODE.FORMERR).pack()
    opts = [rr for rr in query.ar if rr.rtype == QTYPE.OPT]
    if len(opts) > 1:
        return _bare(header, RCODE.FORMERR).pack()
    opt = opts[0] if opts else None
    if opt is not None and opt.edns_ver != 0:
        reply = _bare(header, RCODE.NOERROR)
        reply.add_ar(_opt(_BADVERS))
        return reply.pack()
    try:
        reply = answer(query, snapshot(), ttl=ttl)
    except Exception:
        log.warning("answering a query failed", exc_info=True)
        reply = _bare(header, RCODE.SERVFAIL)
        reply.questions = list(query.questions[:1])
    if opt is not None:
        reply.add_ar(_opt(reply.header.rcode))
    packed = reply.pack()
    if not udp:
        limit = TCP_MAX
    elif opt is not None:
        limit = min(max(opt.edns_len, UDP_MIN), UDP_PAYLOAD)
    else:
        limit = UDP_MIN
    return packed if len(packed) <= limit else _fit(reply, limit)


def _fit(reply: DNSRecord, limit: int) -> bytes:
    """``reply`` without its additional data, or failing that truncated to header and question."""
    opt = [rr for rr in reply.ar if rr.rtype == QTYPE.OPT]
    reply.ar = opt
    packed = reply.pack()
    if len(packed) <= limit:
        return packed
    reply.rr, reply.auth = [], []
    reply.header.tc = 1
    return reply.pack()


def _opt(rcode: int) -> RR:
    """Our OPT record, carrying the upper bits of an extended ``rcode`` (only BADVERS has any)."""
    return EDNS0(udp_len=UDP_PAYLOAD, ext_rcode=rcode >> 4)


def _bare(header: DNSHeader, rcode: int) -> DNSRecord:
    """A reply with no sections, for queries we could not (or would not) read."""
    out = DNSHeader(id=header.id, bitmap=0, qr=1, opcode=header.opcode, rd=header.rd)
    out.rcode = rcode & 0xF
    return DNSRecord(out)
