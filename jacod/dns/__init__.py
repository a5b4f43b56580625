"""DNS: the node's authoritative server for ``<service>.<deployment>.jaco`` (see docs/dns.md).

``zone`` decides what a name answers (pure), ``wire`` turns bytes into a reply
(parsing, EDNS, truncation), ``server`` carries both over UDP and TCP.
"""

from jacod.dns.server import DnsServer, parse_listen
from jacod.dns.wire import respond
from jacod.dns.zone import TTL, ZONE, answer

__all__ = ["TTL", "ZONE", "DnsServer", "answer", "parse_listen", "respond"]
