"""Header rules of a reverse proxy (RFC 9110 §7.6): hop-by-hop headers stay behind.

The upstream request keeps the client's ``Host`` (replicas may route by it)
and gains ``X-Forwarded-For`` / ``-Host`` / ``-Proto`` and ``Via``; the
response loses hop-by-hop headers too (the proxy frames it itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from multidict import CIMultiDict

HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
        "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Connection",
    )
)  # fmt: skip

VIA = "1.1 jaco-ingress"


def _listed_in_connection(headers: Mapping[str, str]) -> set[str]:
    getall = getattr(headers, "getall", None)
    values = getall("Connection", []) if getall else [headers.get("Connection", "")]
    return {v.strip().lower() for value in values for v in value.split(",") if v.strip()}


def end_to_end(headers: Mapping[str, str], drop: Iterable[str] = ()) -> CIMultiDict[str]:
    """``headers`` without hop-by-hop ones (nor those named by ``Connection``, nor ``drop``)."""
    skip = HOP_BY_HOP | _listed_in_connection(headers) | {d.lower() for d in drop}
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() not in skip:
            out.add(name, value)
    return out


def upstream_request(
    headers: Mapping[str, str], *, peer: str | None, scheme: str, host: str
) -> CIMultiDict[str]:
    out = end_to_end(headers)
    prior = headers.get("X-Forwarded-For")
    if peer:
        out["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    out.setdefault("X-Forwarded-Host", host)
    out.setdefault("X-Forwarded-Proto", scheme)
    out.add("Via", VIA)
    return out


def downstream_response(headers: Mapping[str, str]) -> CIMultiDict[str]:
    out = end_to_end(headers)
    out.add("Via", VIA)
    return out
