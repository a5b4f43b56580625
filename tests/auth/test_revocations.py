"""Revocation propagation timing: proposal ts -> this node's apply."""

from __future__ import annotations

from jacod.auth.revocations import RevocationWatch
from jacod.cluster.bus import Applied
from jacod.state import RecordEvent, Rejected, Result, RevokeToken
from jacod.state.enums import AuditType, RejectCode


def revoke(ts_ns: int) -> RevokeToken:
    return RevokeToken(ts_ns=ts_ns, identity="local", node="a", token_id="0123456789ab")


def test_applied_revoke_is_timed() -> None:
    now = [10_000_000_000]
    watch = RevocationWatch(cluster=None, clock=lambda: now[0])  # type: ignore[arg-type]
    seen: list[float] = []
    watch.observers.append(seen.append)
    now[0] += 250_000_000
    assert watch.observe(Applied(revoke(10_000_000_000 + 50_000_000), Result(changed=True))) == 0.2
    assert seen == [0.2]


def test_other_events_rejections_and_replays_are_ignored() -> None:
    watch = RevocationWatch(cluster=None, clock=lambda: 10_000_000_000)  # type: ignore[arg-type]
    seen: list[float] = []
    watch.observers.append(seen.append)
    other = RecordEvent(ts_ns=10_000_000_000, identity="system", node="a",
                        type=AuditType.BACKUP_TAKEN)  # fmt: skip
    assert watch.observe(Applied(other, Result(changed=True))) is None
    rejected = Rejected(code=RejectCode.NOT_FOUND, message="no such token")
    assert watch.observe(Applied(revoke(10_000_000_000), rejected)) is None
    # Proposed before this process started: a replay, not propagation.
    assert watch.observe(Applied(revoke(1), Result(changed=True))) is None
    assert seen == []
