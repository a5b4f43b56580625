"""Which role each Control RPC needs. Roles are ordered: viewer < operator <
admin, each with the rights of the one before. ``local`` (the unix socket)
is admin.

Every Control RPC must have an entry (``tests/auth/test_roles.py`` fails when
one is added without); a method missing here is refused, never allowed.
"""

from __future__ import annotations

from jacod.state.enums import Role

SERVICE = "/jaco.v1.Control/"

RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}

REQUIRED: dict[str, Role] = {
    # status, logs, audit: reading
    "GetStatus": Role.VIEWER,
    "WatchStatus": Role.VIEWER,
    "ListRevisions": Role.VIEWER,
    "StreamLogs": Role.VIEWER,
    "QueryAudit": Role.VIEWER,
    "FollowAudit": Role.VIEWER,
    "ListNodes": Role.VIEWER,
    # workloads
    "Apply": Role.OPERATOR,
    "Rollback": Role.OPERATOR,
    "Delete": Role.OPERATOR,
    # tokens, nodes, backups
    "CreateToken": Role.ADMIN,
    "ListTokens": Role.ADMIN,
    "RevokeToken": Role.ADMIN,
    "CreateJoinToken": Role.ADMIN,
    "RemoveNode": Role.ADMIN,
    "Backup": Role.ADMIN,
}


def required(method: str) -> Role | None:
    """The role ``/jaco.v1.Control/<Name>`` needs; None if it is not a known Control RPC."""
    if not method.startswith(SERVICE):
        return None
    return REQUIRED.get(method[len(SERVICE) :])


def allows(role: Role, needed: Role) -> bool:
    return RANK[role] >= RANK[needed]
