"""query_audit: the ts and id indexes, filters, limit; ts clamping."""

from __future__ import annotations

import pytest

from jacod.state import (
    AuditEvent,
    AuditType,
    DeleteDeployment,
    RecordEvent,
    State,
    last_audit_id,
    query_audit,
    replicas_of,
    replicas_on,
)

from .helpers import T0, apply_cmd, bootstrap_cmd, env, must, svc, world


def _log() -> State:
    """Events 1..8 at T0+0, +10, ..., one clock stepping back (event 6)."""
    state = State()
    must(state, bootstrap_cmd(ts_ns=T0))  # 1 node_join, local
    must(state, apply_cmd("web", ts_ns=T0 + 10, identity="alice"))  # 2 apply web
    must(state, apply_cmd("db", ts_ns=T0 + 20, identity="bob"))  # 3 apply db
    must(state, apply_cmd("web", [svc("x")], ts_ns=T0 + 30, identity="bob"))  # 4 apply web
    must(state, DeleteDeployment(**env(ts_ns=T0 + 40, identity="alice"), name="db"))  # 5
    # 6: a proposer whose clock is behind: clamped to T0 + 40.
    must(state, RecordEvent(**env(ts_ns=T0 + 5, identity="system"), type=AuditType.BACKUP_TAKEN))
    must(state, RecordEvent(**env(ts_ns=T0 + 60, identity="eve"), type=AuditType.AUTH_DENIED))
    must(state, apply_cmd("web", [svc("y")], ts_ns=T0 + 70, identity="alice"))  # 8
    return state


def _ids(events: list[AuditEvent]) -> list[int]:
    return [e.id for e in events]


def test_event_ts_never_goes_back() -> None:
    state = _log()
    assert [e.ts_ns - T0 for e in state.audit] == [0, 10, 20, 30, 40, 40, 60, 70]
    assert _ids(state.audit) == list(range(1, 9))
    assert last_audit_id(state) == 8


@pytest.mark.parametrize(
    ("kwargs", "ids"),
    [
        ({}, [1, 2, 3, 4, 5, 6, 7, 8]),
        ({"since_ns": T0 + 20}, [3, 4, 5, 6, 7, 8]),
        ({"since_ns": T0 + 21}, [4, 5, 6, 7, 8]),
        ({"since_ns": T0 + 40}, [5, 6, 7, 8]),
        ({"until_ns": T0 + 40}, [1, 2, 3, 4]),
        ({"since_ns": T0 + 10, "until_ns": T0 + 31}, [2, 3, 4]),
        ({"since_ns": T0 + 100}, []),
        ({"until_ns": T0}, []),
        ({"types": [AuditType.APPLY]}, [2, 3, 4, 8]),
        ({"types": ["apply", "delete"]}, [2, 3, 4, 5, 8]),
        ({"types": []}, []),
        ({"identity": "alice"}, [2, 5, 8]),
        ({"deployment": "web"}, [2, 4, 8]),
        ({"deployment": ""}, [1, 6, 7]),
        ({"after_id": 5}, [6, 7, 8]),
        ({"after_id": 8}, []),
        ({"after_id": 3, "since_ns": T0}, [4, 5, 6, 7, 8]),
        ({"after_id": 1, "since_ns": T0 + 30}, [4, 5, 6, 7, 8]),
        ({"limit": 3}, [1, 2, 3]),
        ({"limit": 2, "identity": "bob"}, [3, 4]),
        ({"limit": 0}, []),
        ({"types": ["apply"], "identity": "alice", "deployment": "web", "since_ns": T0 + 11}, [8]),
    ],
)
def test_query_audit(kwargs: dict[str, object], ids: list[int]) -> None:
    assert _ids(query_audit(_log(), **kwargs)) == ids  # type: ignore[arg-type]


def test_query_audit_rejects_unknown_types() -> None:
    with pytest.raises(ValueError):
        query_audit(_log(), types=["format_disk"])


def test_query_audit_on_an_empty_log() -> None:
    assert query_audit(State(), since_ns=0, after_id=3) == []


def test_replica_lookups() -> None:
    state = world()
    assert [r.id for r in replicas_of(state, "web")] == [
        "web/api/0",
        "web/worker/0",
        "web/worker/1",
    ]
    assert [r.id for r in replicas_on(state, "n2")] == ["web/worker/1"]
    assert replicas_of(state, "nope") == []
