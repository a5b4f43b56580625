"""Keeping this node's certificate valid (subsystem ``pki``).

The certificate is replaced ``renew_before`` ahead of its expiry (sooner if
it lacks a SAN for the node's current addresses, or has expired while the
node was down): a new certificate for the same key, signed with the CA key
every member holds, served from the next TLS handshake on (no restart).
Each attempt is one audit event, ``certificate_renewed`` or
``certificate_renewal_failed`` (identity ``system``; payload: node,
not_after, error — file names, never key material), and one call of each
of ``observers`` with True/False (renewal counts for the metrics issue).
A failed attempt is retried after ``retry_s``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from jacod import errors
from jacod.cluster.cluster import Cluster
from jacod.pki import certs, files, issue
from jacod.pki.node import NodeTLS
from jacod.state import RecordEvent
from jacod.state.enums import AuditType
from obs.logging import get_logger

log = get_logger("pki")

MAX_SLEEP_S = 60.0  # re-check at least this often (clock steps, suspend)


class Renewer:
    def __init__(
        self,
        cluster: Cluster,
        tls: NodeTLS,
        hosts: list[str],
        lifetime: dt.timedelta,
        renew_before: dt.timedelta,
        clock: Callable[[], dt.datetime] = issue.now_utc,
    ):
        self._cluster = cluster
        self._tls = tls
        self._hosts = hosts
        self.lifetime = lifetime
        self.renew_before = renew_before
        self._clock = clock
        self.retry_s = min(max(renew_before.total_seconds() / 3, 1.0), 600.0)
        self.observers: list[Callable[[bool], None]] = []

    def due(self) -> dt.datetime:
        wanted = {str(getattr(n, "value", n)) for n in certs.san_entries(self._hosts)}
        if not wanted <= set(certs.sans_of(self._tls.cert)):
            return self._clock()
        return certs.renew_at(self._tls.cert, self.renew_before)

    async def renew_once(self) -> bool:
        try:
            pem = await asyncio.to_thread(
                issue.renew, self._tls.directory, self._tls.node_name, self._hosts, self.lifetime
            )
            self._tls.replace_cert(pem)
            await asyncio.to_thread(files.write, self._tls.directory, files.NODE_CERT, pem)
        except (certs.PKIError, errors.JacoError, OSError) as exc:
            error = str(exc) or type(exc).__name__
            log.error(
                "certificate renewal failed",
                extra={"error": error, "not_after": _iso(self._tls.not_after)},
            )
            self._notify(False)
            await self._record(AuditType.CERTIFICATE_RENEWAL_FAILED, error=error)
            return False
        log.info("certificate renewed", extra={"not_after": _iso(self._tls.not_after)})
        self._notify(True)
        await self._record(AuditType.CERTIFICATE_RENEWED)
        return True

    def _notify(self, ok: bool) -> None:
        for observe in self.observers:
            observe(ok)

    async def _record(self, kind: AuditType, **extra: Any) -> None:
        payload = {"node": self._tls.node_name, "not_after": _iso(self._tls.not_after), **extra}
        cmd = RecordEvent(
            ts_ns=time.time_ns(),
            identity="system",
            node=self._tls.node_name,
            type=kind,
            payload=payload,
        )
        try:
            await self._cluster.propose(cmd, timeout=10.0)
        except Exception as exc:  # noqa: BLE001 - the renewal stands even if the event is lost
            log.warning(
                "could not record a certificate event",
                extra={"type": kind.value, "error": str(exc)},
            )

    async def run(self) -> None:
        while True:
            wait = (self.due() - self._clock()).total_seconds()
            if wait > 0:
                await asyncio.sleep(min(wait, MAX_SLEEP_S))
                continue
            if not await self.renew_once():
                await asyncio.sleep(self.retry_s)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
