"""Audit queries (issue 5, item 5): `since` is a binary search on the log and a
type filter walks the type index, not a scan; high-signal events stand out on
a terminal."""

from __future__ import annotations

from typing import Any

from jaco import auditview
from jacod.state import AuditEvent, AuditType, State, query_audit


class CountingLog(list[AuditEvent]):
    """The audit list, counting how many events a query looks at."""

    touched = 0

    def __getitem__(self, i: Any) -> Any:
        CountingLog.touched += 1
        return super().__getitem__(i)


def log_of(n: int) -> State:
    events = CountingLog(
        AuditEvent(id=i + 1, ts_ns=1_000 * i, type=list(AuditType)[i % len(AuditType)],
                   identity="system")
        for i in range(n)
    )  # fmt: skip
    return State(cluster_id="c", audit=events, last_audit_id=n)


def test_since_is_a_binary_search() -> None:
    state = log_of(100_000)
    since = 1_000 * (100_000 - 500)  # the newest 500 events
    query_audit(state, types=[AuditType.TOKEN_REVOKE], limit=1)  # the type index is built once
    CountingLog.touched = 0
    got = query_audit(state, since_ns=since, types=[AuditType.TOKEN_REVOKE], limit=1000)
    assert len(got) == 38 and all(
        e.ts_ns >= since and e.type is AuditType.TOKEN_REVOKE for e in got
    )
    # ~2 * log2(100k) probes for the bisects + the 38 hits (the type index),
    # not the 500-event window, let alone 100k.
    assert CountingLog.touched < 38 + 40, CountingLog.touched


def test_follow_resume_point_is_a_binary_search_too() -> None:
    state = log_of(100_000)
    CountingLog.touched = 0
    got = query_audit(state, after_id=99_990)
    assert [e.id for e in got] == list(range(99_991, 100_001))
    assert CountingLog.touched < 60, CountingLog.touched


def test_high_signal_events_stand_out_on_a_terminal() -> None:
    def line(kind: str, colour: bool) -> str:
        event = {"ts": "2026-11-27T10:00:00Z", "id": 7, "type": kind, "identity": "system",
                 "payload": '{"node": "a"}', "deployment": ""}  # fmt: skip
        return auditview.render(event, colour=colour)

    for kind in ("token_revoke", "certificate_renewal_failed", "isolation_drift_detected",
                 "auth_denied"):  # fmt: skip
        assert line(kind, True).startswith("\x1b[1;31m") and line(kind, True).endswith("\x1b[0m")
        assert "\x1b" not in line(kind, False)  # not on a pipe
    for kind in ("apply", "certificate_renewed", "token_create"):
        assert "\x1b" not in line(kind, True)
