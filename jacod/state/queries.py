"""Read-only views of the state: audit queries and lookups for the API.

The audit log is sorted by id and, because `append_event` clamps ts, by
ts_ns too, so both serve as indexes: `since`/`until`/`after_id` are binary
searches to a window of the log. Within the window, the type, identity and
deployment indexes (`audit_index`) give the positions of the most selective
filter's events, and only those are looked at.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Collection

from .audit_index import Candidates, audit_index
from .enums import AuditType
from .model import AuditEvent, Replica, State, Token

DEFAULT_AUDIT_LIMIT = 1000


def _ts(event: AuditEvent) -> int:
    return event.ts_ns


def _id(event: AuditEvent) -> int:
    return event.id


def query_audit(
    state: State,
    *,
    since_ns: int | None = None,
    until_ns: int | None = None,
    types: Collection[AuditType | str] | None = None,
    identity: str | None = None,
    deployment: str | None = None,
    after_id: int = 0,
    limit: int = DEFAULT_AUDIT_LIMIT,
) -> list[AuditEvent]:
    """Audit events in id order matching every given filter, at most `limit`.

    `since_ns` is inclusive and `until_ns` exclusive; `after_id` resumes after
    the last event a reader has seen (`audit -f`). `types` may be AuditType or
    its string values; an unknown value raises ValueError. An empty `types`
    matches nothing.
    """
    wanted = None if types is None else frozenset(AuditType(t) for t in types)
    if limit <= 0 or wanted is not None and not wanted:
        return []
    events = state.audit
    start = bisect_right(events, after_id, key=_id)
    if since_ns is not None:
        start = max(start, bisect_left(events, since_ns, key=_ts))
    end = len(events)
    if until_ns is not None:
        end = bisect_left(events, until_ns, key=_ts)
    if start >= end:
        return []
    if wanted is None and identity is None and deployment is None:
        return events[start : min(end, start + limit)]

    index = audit_index(state)
    filters: list[Candidates] = []
    if wanted is not None:
        filters.append(
            Candidates([index.by_type[t] for t in wanted if t in index.by_type], start, end)
        )
    if identity is not None:
        filters.append(Candidates(_one(index.by_identity.get(identity)), start, end))
    if deployment is not None:
        filters.append(Candidates(_one(index.by_deployment.get(deployment)), start, end))
    driver = min(filters, key=lambda c: c.count)
    if driver.count == 0:
        return []
    if len(filters) == 1 and len(driver.ranges) == 1:
        return [events[pos] for pos in driver.first(limit)]
    out: list[AuditEvent] = []
    for pos in driver:
        event = events[pos]
        if wanted is not None and event.type not in wanted:
            continue
        if identity is not None and event.identity != identity:
            continue
        if deployment is not None and event.deployment != deployment:
            continue
        out.append(event)
        if len(out) >= limit:
            break
    return out


def _one(positions: array | None) -> list[array]:
    return [] if positions is None else [positions]


def last_audit_id(state: State) -> int:
    """Id of the newest event, 0 if none: where a follower of the log starts."""
    return state.last_audit_id


def replicas_of(state: State, deployment: str) -> list[Replica]:
    """Replicas of one deployment, by id."""
    return [
        state.replicas[k]
        for k in sorted(state.replicas)
        if state.replicas[k].deployment == deployment
    ]


def replicas_on(state: State, node: str) -> list[Replica]:
    """Replicas assigned to one node, by id (what its agent must run)."""
    return [state.replicas[k] for k in sorted(state.replicas) if state.replicas[k].node == node]


def active_token(state: State, token_id: str, now_ns: int) -> Token | None:
    """The token with this id if it exists, is not revoked and has not expired at `now_ns`."""
    token = state.tokens.get(token_id)
    if token is None or not token.active_at(now_ns):
        return None
    return token
