"""auth_denied rate limiting: per (key, reason) per window, plus a global cap."""

from __future__ import annotations

from jacod.auth.ratelimit import DenialLimiter


def test_one_per_key_and_reason_per_window() -> None:
    lim = DenialLimiter(window=10, burst=100)
    assert lim.allow("alice", "revoked_token", 0.0)
    assert not lim.allow("alice", "revoked_token", 5.0)
    assert not lim.allow("alice", "revoked_token", 9.99)
    assert lim.allow("alice", "revoked_token", 10.0)
    assert lim.allow("alice", "insufficient_role", 10.5)  # another reason
    assert lim.allow("bob", "revoked_token", 10.5)  # another key
    assert lim.suppressed == 2


def test_global_burst_caps_fresh_keys() -> None:
    lim = DenialLimiter(window=10, burst=5)
    allowed = [lim.allow(f"random-{i}", "unknown_token", i * 0.01) for i in range(50)]
    assert sum(allowed) == 5
    assert lim.allow("random-99", "unknown_token", 11.0)  # the window moved on


def test_key_table_is_bounded() -> None:
    lim = DenialLimiter(window=10, burst=10**9, max_keys=100)
    for i in range(1000):
        lim.allow(f"k{i}", "unknown_token", float(i) * 0.001)
    assert len(lim._last) <= 100
