"""Hand-built discovery snapshots and small readers of DNS replies for the DNS tests."""

from __future__ import annotations

from dnslib import QTYPE, RCODE, RR, DNSRecord

from jacod.discovery.registry import Endpoint, Snapshot


def ep(ordinal: int, host: str, ports: dict[int, int] | None = None, svc: str = "web") -> Endpoint:
    """A healthy replica of ``shop/<svc>`` reachable at ``host`` (default: port 80 at 30000+n)."""
    reachable = ports if ports is not None else {80: 30000 + ordinal}
    return Endpoint(f"shop/{svc}/{ordinal}", ordinal, f"n{ordinal}", host, reachable)


def snapshot(
    web: list[Endpoint] | None = None,
    *,
    web_ports: list[int] | None = None,
) -> Snapshot:
    """``shop/web`` (declaring ``web_ports``, default ``[80]``) with ``web`` healthy, and
    ``shop/db`` (port 5432) with nobody healthy."""
    declared = {
        ("shop", "web"): web_ports if web_ports is not None else [80],
        ("shop", "db"): [5432],
    }
    return Snapshot(endpoints={("shop", "web"): list(web or [])}, routes=[], declared=declared)


def many(n: int) -> list[Endpoint]:
    """``n`` healthy replicas, each on its own IPv4 address (10.1.x.y)."""
    return [ep(i, f"10.1.{i // 250}.{i % 250 + 1}", {80: 20000 + i}) for i in range(n)]


def rdata(rrs: list[RR], rtype: str) -> list[str]:
    """The text form of the rdata of the ``rtype`` records in ``rrs``, in order."""
    return [str(rr.rdata) for rr in rrs if rr.rtype == getattr(QTYPE, rtype)]


def rcode(reply: DNSRecord) -> str:
    """``"NOERROR"``, ``"NXDOMAIN"``, ... of a reply."""
    return str(RCODE.get(reply.header.rcode))
