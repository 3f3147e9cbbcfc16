from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from revloop.domain.ratebook import ChargeType, Ratebook, RateRow

GLOBAL = (
    RateRow(date(2026, 1, 1), hourly_rate=D("95"), minimum_minutes=D(15), increment_minutes=D(15),
            rounding="up", ooh_multiplier=D("1.5"), holiday_multiplier=D("2")),
    RateRow(date(2026, 10, 10), hourly_rate=D("100")),
)  # fmt: skip
CT = {"remote": ChargeType("remote", "Remote", "LAB-REMOTE", rates=GLOBAL)}


def book(
    customer: dict[str, tuple[RateRow, ...]] | None = None,
    contract: dict[str, tuple[RateRow, ...]] | None = None,
) -> Ratebook:
    return Ratebook(CT, {"acme": customer or {}}, {"c1": contract or {}})


def test_global_row_in_force_by_date() -> None:
    r = book().resolve("remote", "acme", None, date(2026, 10, 5))
    assert r is not None and r.hourly_rate == D("95") and r.scope == "global"
    later = book().resolve("remote", "acme", None, date(2026, 10, 10))
    assert later is not None and later.hourly_rate == D("100")


def test_global_rows_do_not_inherit_from_earlier_rows() -> None:
    r = book().resolve("remote", "acme", None, date(2026, 10, 12))
    assert r is not None
    assert r.ooh_multiplier == 1 and r.weekend_multiplier == 1 and r.holiday_multiplier == 1
    assert r.minimum_minutes == 0 and r.increment_minutes == 0


def test_percent_override_inherits_and_feeds_defaults() -> None:
    rb = book({"remote": (RateRow(date(2026, 1, 1), percent=D("90")),)})
    r = rb.resolve("remote", "acme", None, date(2026, 10, 5))
    assert r is not None and r.scope == "customer"
    assert r.hourly_rate == D("85.5")
    assert (
        r.ooh_multiplier == D("1.5") and r.weekend_multiplier == D("1.5") and r.holiday_multiplier == D("2")
    )
    assert r.increment_minutes == 15 and r.rounding == "up"


def test_scope_whose_rows_start_later_falls_through() -> None:
    rb = book({"remote": (RateRow(date(2026, 10, 15), hourly_rate=D("80")),)})
    early = rb.resolve("remote", "acme", None, date(2026, 10, 5))
    late = rb.resolve("remote", "acme", None, date(2026, 10, 20))
    assert early is not None and early.scope == "global"
    assert late is not None and late.scope == "customer" and late.hourly_rate == D("80")


def test_contract_beats_customer_and_percent_is_of_global() -> None:
    rb = book(
        {"remote": (RateRow(date(2026, 1, 1), hourly_rate=D("200")),)},
        {"remote": (RateRow(date(2026, 1, 1), percent=D("50")),)},
    )
    r = rb.resolve("remote", "acme", "c1", date(2026, 10, 5))
    assert r is not None and r.scope == "contract" and r.hourly_rate == D("47.5")


def test_no_row_in_force_is_none() -> None:
    assert book().resolve("remote", "acme", None, date(2025, 12, 31)) is None
    rb = book({"remote": (RateRow(date(2025, 1, 1), percent=D("90")),)})
    assert rb.resolve("remote", "acme", None, date(2025, 6, 1)) is None  # percent without a global row
    assert book().resolve("nope", "acme", None, date(2026, 10, 5)) is None


def test_override_with_own_rate_and_no_global_uses_defaults() -> None:
    rb = book({"remote": (RateRow(date(2025, 1, 1), hourly_rate=D("70")),)})
    r = rb.resolve("remote", "acme", None, date(2025, 6, 1))
    assert r is not None and r.hourly_rate == D("70") and r.ooh_multiplier == 1
