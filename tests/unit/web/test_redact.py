"""``redact``: the one place money leaves a response for roles without ``view_money``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel

from revloop.web import models
from revloop.web.models import (
    Amount,
    DraftDetail,
    DraftOut,
    FindingList,
    FindingOut,
    LineOut,
    XeroSide,
    mask_amounts,
    redact,
)
from revloop.web.roles import Role

T = datetime(2026, 11, 2, tzinfo=UTC)


def _finding() -> FindingOut:
    return FindingOut(
        id=1,
        code="billing.posted_differs",
        severity="warning",
        state="acknowledged",
        subjects=["revloop:acme:all:2026-10-01"],
        message="the work now rates to 1,413.26 against 1400.00 posted (£95/h)",
        action="re-bill to credit GBP 13.26",
        amount=Decimal("13.26"),
        currency="GBP",
        first_seen=T,
        last_seen=T,
        state_reason="agreed -40.00 discount",
        state_by="ann",
    )


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.SERVICE_MANAGER])
def test_money_is_gone_for_roles_without_it(role: Role) -> None:
    out = redact(FindingList(findings=[_finding()], codes=[], count=1), role)
    finding = out.findings[0]
    assert finding.amount is None
    text = out.model_dump_json()
    for figure in ("1,413.26", "1400.00", "95", "13.26", "40.00"):
        assert figure not in text
    assert finding.message == "the work now rates to ••• against ••• posted (•••/h)"
    assert finding.currency == "GBP" and finding.subjects == ["revloop:acme:all:2026-10-01"]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.FINANCE])
def test_money_roles_see_everything(role: Role) -> None:
    original = FindingList(findings=[_finding()], codes=[], count=1)
    assert redact(original, role) == original


def test_nested_drafts_keep_hours_and_lose_prices() -> None:
    line = LineOut(
        kind="labour",
        description="T1 fix printer",
        quantity=Decimal("1.5"),
        unit_amount=Decimal("95"),
        amount=Decimal("142.50"),
        tax=Decimal("28.50"),
        explanation="1.5 h at 95.00 (normal hours)",
    )
    draft = DraftOut(
        key="k",
        customer="acme",
        customer_name="Acme",
        currency="GBP",
        hours=Decimal("1.5"),
        subtotal=Decimal("142.50"),
        tax=Decimal("28.50"),
        total=Decimal("171.00"),
        stored_status=None,
        xero=XeroSide(state="differs", number="INV-1", total=Decimal("170")),
        line_count=1,
    )
    detail = DraftDetail(
        period="2026-10",
        label="October 2026",
        state="ready",
        stale=False,
        progress=None,
        fingerprint="f",
        draft=draft,
        lines=[line],
        line_page=1,
        line_pages=1,
        lines_per_page=200,
    )
    out = redact(detail, Role.SERVICE_MANAGER)
    assert (
        out.draft is not None
        and out.draft.hours == Decimal("1.5")
        and out.lines[0].quantity == Decimal("1.5")
    )
    assert (out.draft.subtotal, out.draft.tax, out.draft.total, out.draft.xero.total) == (
        None,
        None,
        None,
        None,
    )
    assert (out.lines[0].unit_amount, out.lines[0].amount, out.lines[0].explanation) == (None, None, None)
    assert out.draft.xero.number == "INV-1"


def test_mask_amounts_leaves_dates_keys_and_counts() -> None:
    text = "2 invoices of 2026-10-01 (revloop:acme:all:2026-10-01), 3 findings, 2.5 h"
    assert mask_amounts(text) == text


MONEY_WORDS = ("amount", "total", "subtotal", "tax", "rate", "cost", "price", "margin", "revenue", "profit")


def _models() -> list[type[BaseModel]]:
    return [
        obj
        for obj in vars(models).values()
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == models.__name__
    ]


def test_every_money_looking_field_is_declared_money() -> None:
    """A field added later with a money name but not the Money type would leak: this fails first."""
    leaks = []
    for model in _models():
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra
            marked = isinstance(extra, dict) and ("x-money" in extra or "x-money-text" in extra)
            nested = any(m.__name__ in str(info.annotation) for m in _models())  # checked on its own
            if nested:
                continue
            if any(word in name for word in MONEY_WORDS) and not marked:
                leaks.append(f"{model.__name__}.{name}")
    assert leaks == []


def test_amount_model_is_redacted() -> None:
    assert redact(Amount(currency="GBP", amount=Decimal("1")), Role.TECHNICIAN).amount is None
