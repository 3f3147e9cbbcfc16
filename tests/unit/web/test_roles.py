"""The permission matrix: who sees money, who approves and posts, and nothing unknown is allowed."""

from __future__ import annotations

import pytest

from revloop.web.roles import MATRIX, Action, Role, allowed, can, parse_role

MONEY_ROLES = {Role.ADMIN, Role.FINANCE}


@pytest.mark.parametrize("role", list(Role))
def test_only_finance_and_admin_see_money_approve_and_post(role: Role) -> None:
    for action in (Action.VIEW_MONEY, Action.APPROVE, Action.POST):
        assert can(role, action) is (role in MONEY_ROLES), (role, action)


@pytest.mark.parametrize("role", list(Role))
def test_everyone_sees_work_and_findings(role: Role) -> None:
    assert can(role, Action.VIEW_WORK) and can(role, Action.VIEW_FINDINGS)


def test_the_rest_of_the_matrix() -> None:
    assert MATRIX[Role.ADMIN] == frozenset(Action)
    assert allowed(Role.TECHNICIAN) == ["view_work", "view_findings"]
    assert allowed(Role.SERVICE_MANAGER) == [
        "view_work",
        "view_findings",
        "view_profit",
        "manage_findings",
        "preview_billing",
    ]
    assert not can(Role.FINANCE, Action.MANAGE_USERS) and not can(Role.FINANCE, Action.MANAGE_SETTINGS)
    assert can(Role.ADMIN, Action.MANAGE_USERS) and can(Role.ADMIN, Action.MANAGE_SETTINGS)


def test_unknown_roles_and_actions_may_do_nothing() -> None:
    assert not can("owner", Action.VIEW_WORK)
    assert not can(Role.ADMIN, "launch_missiles")
    assert allowed("nobody") == []


def test_parse_role() -> None:
    assert parse_role("Service-Manager") is Role.SERVICE_MANAGER
    assert parse_role(" finance ") is Role.FINANCE
    with pytest.raises(ValueError, match="roles: admin, finance, service_manager, technician"):
        parse_role("owner")
