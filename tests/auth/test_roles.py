"""The role table covers every Control RPC, and only those."""

from __future__ import annotations

import pytest

from jaco.v1 import control_pb2
from jacod.auth import roles
from jacod.state.enums import Role

CONTROL = control_pb2.DESCRIPTOR.services_by_name["Control"]


def test_every_control_rpc_has_a_role() -> None:
    rpcs = {m.name for m in CONTROL.methods}
    missing = sorted(rpcs - set(roles.REQUIRED))
    assert not missing, f"Control RPCs without an entry in jacod/auth/roles.py: {missing}"
    stale = sorted(set(roles.REQUIRED) - rpcs)
    assert not stale, f"roles.py names RPCs the Control service lacks: {stale}"


@pytest.mark.parametrize(
    ("role", "rpcs"),
    [
        (Role.VIEWER, {"GetStatus", "WatchStatus", "StreamLogs", "QueryAudit", "FollowAudit",
                       "ListRevisions", "ListNodes"}),
        (Role.OPERATOR, {"Apply", "Rollback", "Delete"}),
        (Role.ADMIN, {"CreateToken", "ListTokens", "RevokeToken", "CreateJoinToken",
                      "RemoveNode", "Backup"}),
    ],
)  # fmt: skip
def test_the_issue_s_role_sets(role: Role, rpcs: set[str]) -> None:
    assert {name for name, r in roles.REQUIRED.items() if r is role} == rpcs


def test_roles_include_the_ones_below() -> None:
    order = [Role.VIEWER, Role.OPERATOR, Role.ADMIN]
    for i, have in enumerate(order):
        for j, need in enumerate(order):
            assert roles.allows(have, need) is (i >= j)


def test_lookup_by_full_method_name() -> None:
    assert roles.required("/jaco.v1.Control/Apply") is Role.OPERATOR
    assert roles.required("/jaco.v1.Control/NoSuchRpc") is None
    assert roles.required("/jaco.v1.NodeService/Ping") is None
