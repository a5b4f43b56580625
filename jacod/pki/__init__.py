"""The cluster PKI: CA, node certificates, TLS credentials, renewal.

``certs`` is pure X.509; ``files`` the ``<data_dir>/pki`` directory; ``issue``
bootstrap, join and renewal signing; ``node`` the in-memory identity
(``NodeTLS``) and ``renewal`` the loop that keeps it valid.

The running daemon installs its ``NodeTLS`` here (``install``) for the places
that need this node's PKI without a ``Peers`` at hand (admitting a joiner,
making a join token).
"""

from __future__ import annotations

from jacod.pki.node import NodeTLS

_current: NodeTLS | None = None


def install(tls: NodeTLS | None) -> None:
    global _current
    _current = tls


def current() -> NodeTLS | None:
    return _current


__all__ = ["NodeTLS", "current", "install"]
