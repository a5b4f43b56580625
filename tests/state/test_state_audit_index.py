"""The audit log's type / identity / deployment indexes (audit_index.py).

Derived from the log, never stored: a query on an indexed state returns exactly
what a naive filter over the log returns, however appends, queries, snapshot
round trips and restores interleave; the index never reaches the snapshot
bytes; and a dense window is walked through the index, not scanned.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jacod.state import AuditEvent, AuditType, RecordEvent, State, dump_state, load_state
from jacod.state.audit import append_event
from jacod.state.audit_index import audit_index
from jacod.state.queries import query_audit
from jacod.state.restore import rebased

IDENTITIES = ["alice", "bob", "local", "system"]
DEPLOYMENTS = ["", "web", "db"]
# A few types, drawn often, so that type filters hit; the rest now and then.
COMMON = [AuditType.APPLY, AuditType.TOKEN_REVOKE, AuditType.AUTH_DENIED]


def append(state: State, ts_ns: int, kind: AuditType, identity: str, deployment: str) -> None:
    """Through the FSM's own append path (which clamps ts)."""
    cmd = RecordEvent(ts_ns=ts_ns, identity=identity, node="n1", type=kind, deployment=deployment)
    append_event(state, cmd, kind, {}, deployment=deployment)


def naive(events: list[AuditEvent], **q: Any) -> list[AuditEvent]:
    types = q.get("types")
    wanted = None if types is None else {AuditType(t) for t in types}
    out = [
        e
        for e in events
        if (q.get("since_ns") is None or e.ts_ns >= q["since_ns"])
        and (q.get("until_ns") is None or e.ts_ns < q["until_ns"])
        and (wanted is None or e.type in wanted)
        and (q.get("identity") is None or e.identity == q["identity"])
        and (q.get("deployment") is None or e.deployment == q["deployment"])
        and e.id > q.get("after_id", 0)
    ]
    return out[: max(q.get("limit", 1000), 0)]


kinds = st.sampled_from(COMMON) | st.sampled_from(AuditType)
events = st.tuples(
    st.integers(0, 40),  # ts: often equal, sometimes stepping back (clamped)
    kinds,
    st.sampled_from(IDENTITIES),
    st.sampled_from(DEPLOYMENTS),
)
opt_ts = st.none() | st.integers(-1, 42)
queries = st.fixed_dictionaries(
    {},
    optional={
        "since_ns": opt_ts,
        "until_ns": opt_ts,
        "types": st.none() | st.lists(kinds, max_size=3) | st.lists(kinds.map(str), max_size=2),
        "identity": st.none() | st.sampled_from([*IDENTITIES, "mallory"]),
        "deployment": st.none() | st.sampled_from([*DEPLOYMENTS, "gone"]),
        "after_id": st.integers(0, 90),
        "limit": st.integers(0, 25),
    },
)
RESTORES = ("snapshot", "rebase", "copy")
ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(events, min_size=1, max_size=25)),
        st.tuples(st.just("query"), queries),
        st.tuples(st.sampled_from(RESTORES), st.none()),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_indexed_queries_equal_a_naive_filter(steps: list[tuple[str, Any]]) -> None:
    state = State(cluster_id="c")
    for op, arg in steps:
        if op == "append":
            for ts, kind, identity, deployment in arg:
                append(state, ts, kind, identity, deployment)
        elif op == "query":
            assert query_audit(state, **arg) == naive(state.audit, **arg)
        elif op == "snapshot":  # raft snapshot / catch-up: a decoded state, no index
            state = load_state(dump_state(state))
        elif op == "rebase":  # jacod --restore: same list, new State
            state = rebased(state, "c2")
        else:  # a new list with equal events
            state.audit = list(state.audit)
        # After every step the index, if any, agrees with the log it describes.
        assert query_audit(state, types=list(AuditType), limit=10**6) == state.audit


def test_the_index_is_not_in_the_snapshot() -> None:
    state = State(cluster_id="c")
    for i in range(50):
        append(state, i, COMMON[i % 3], IDENTITIES[i % 4], DEPLOYMENTS[i % 3])
    before = dump_state(state)
    assert query_audit(state, types=["token_revoke"])  # builds the index
    assert "_audit_index" in vars(state)
    assert dump_state(state) == before
    assert "_audit_index" not in vars(load_state(before))


def test_appends_after_a_query_are_indexed() -> None:
    state = State(cluster_id="c")
    append(state, 1, AuditType.APPLY, "alice", "web")
    assert [e.id for e in query_audit(state, types=["token_revoke"])] == []
    append(state, 2, AuditType.TOKEN_REVOKE, "bob", "")
    append(state, 3, AuditType.APPLY, "bob", "web")
    assert [e.id for e in query_audit(state, types=["token_revoke"])] == [2]
    assert [e.id for e in query_audit(state, identity="bob", deployment="web")] == [3]
    assert audit_index(state).size == 3


def test_a_log_rewritten_in_place_is_reindexed() -> None:
    """Not something the FSM does (the log is append-only), but a stale index
    must never answer: the last indexed event is checked by identity."""
    state = State(cluster_id="c")
    for i in range(10):
        append(state, i, AuditType.APPLY, "alice", "web")
    assert len(query_audit(state, identity="alice")) == 10
    other = State(cluster_id="c")
    for i in range(10):
        append(other, i, AuditType.DELETE, "bob", "db")
    state.audit[:] = other.audit
    assert query_audit(state, identity="alice") == []
    assert len(query_audit(state, identity="bob", types=["delete"])) == 10
    del state.audit[4:]
    assert [e.id for e in query_audit(state, identity="bob", types=["delete"])] == [1, 2, 3, 4]


def test_several_types_come_back_in_id_order() -> None:
    state = State(cluster_id="c")
    for i in range(30):
        append(state, i, list(AuditType)[i % len(AuditType)], "alice", "")
    got = query_audit(state, types=["auth_denied", "apply", "delete"], since_ns=5)
    # ids 1-5 (ts 0-4) fall before since; apply, delete and auth_denied recur every 13.
    assert [e.id for e in got] == [13, 14, 16, 26, 27, 29]


def test_the_index_costs_twelve_bytes_an_event() -> None:
    state = State(cluster_id="c")
    for i in range(1000):
        append(state, i, COMMON[i % 3], IDENTITIES[i % 4], DEPLOYMENTS[i % 3])
    index = audit_index(state)
    assert index.nbytes() == 12 * 1000  # three 4-byte positions per event


class CountingLog(list[AuditEvent]):
    """The audit list, counting the events a query looks at."""

    touched = 0

    def __getitem__(self, i: Any) -> Any:
        CountingLog.touched += 1
        return super().__getitem__(i)


def test_a_dense_window_is_walked_through_the_index() -> None:
    """All 100k events inside `since`: the type, identity and deployment
    filters each look at their own hits (plus bisection), not the window."""
    n = len(AuditType)
    state = State(cluster_id="c", audit=CountingLog(), last_audit_id=0)
    for i in range(100_000):
        append(state, 10**9, list(AuditType)[i % n], f"user{i % 50}", f"dep{i % 200}")
    audit_index(state)  # built once, on the first query
    for query in (
        {"types": ["token_revoke"]},
        {"identity": "user7"},
        {"types": ["apply", "delete"]},
        {"deployment": "dep9", "identity": "user9"},  # every dep9 event is user9's
    ):
        CountingLog.touched = 0
        got = query_audit(state, since_ns=0, limit=20, **query)  # type: ignore[arg-type]
        touched = CountingLog.touched
        assert len(got) == 20 and got == naive(state.audit, since_ns=0, limit=20, **query)
        # The bisects for since and after_id (~2 x 17 probes), one staleness
        # check, then the 20 hits; a scan of the window would touch 260+.
        assert touched <= 40 + 20, (query, touched)
