"""Who may do what: the one permission matrix of the dashboard and its API.

Every route names the action it needs (``deps.require``); every figure of money in a response
passes through ``models.redact``, which blanks it for a role without ``view_money``. Templates get
``can(action)`` to leave out buttons, but hiding is never what protects anything.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    SERVICE_MANAGER = "service_manager"
    TECHNICIAN = "technician"


class Action(StrEnum):
    VIEW_WORK = "view_work"  # hours, tickets, work states, invoice keys and states
    VIEW_MONEY = "view_money"  # rates, amounts, totals, margins, costs, invoice documents
    VIEW_FINDINGS = "view_findings"
    VIEW_PROFIT = "view_profit"  # the profitability pages (hours and utilisation only without money)
    MANAGE_FINDINGS = "manage_findings"  # acknowledge, resolve
    PREVIEW_BILLING = "preview_billing"  # see what a billing run would draft (hours only without money)
    APPROVE = "approve"
    POST = "post"
    VIEW_SETTINGS = "view_settings"  # connections, rates, calendars, the cost model (read only)
    MANAGE_USERS = "manage_users"
    MANAGE_SETTINGS = "manage_settings"


LABELS: dict[Role, str] = {
    Role.ADMIN: "Admin",
    Role.FINANCE: "Finance",
    Role.SERVICE_MANAGER: "Service manager",
    Role.TECHNICIAN: "Technician",
}

_WORK = frozenset({Action.VIEW_WORK, Action.VIEW_FINDINGS})

MATRIX: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.FINANCE: frozenset(Action) - {Action.MANAGE_USERS, Action.MANAGE_SETTINGS},
    Role.SERVICE_MANAGER: _WORK | {Action.MANAGE_FINDINGS, Action.PREVIEW_BILLING, Action.VIEW_PROFIT},
    Role.TECHNICIAN: _WORK,
}


def parse_role(text: str) -> Role:
    """A role from its name (``service-manager`` and ``service_manager`` alike); ValueError if unknown."""
    try:
        return Role(text.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {text!r} (roles: {known})") from None


def can(role: Role | str, action: Action | str) -> bool:
    """Whether ``role`` may take ``action``; an unknown role or action may do nothing."""
    try:
        return Action(action) in MATRIX[Role(role)]
    except ValueError:
        return False


def allowed(role: Role | str) -> list[str]:
    """The actions a role may take, in the matrix's order (for the API and the docs)."""
    return [a.value for a in Action if can(role, a)]


__all__ = ["LABELS", "MATRIX", "Action", "Role", "allowed", "can", "parse_role"]
