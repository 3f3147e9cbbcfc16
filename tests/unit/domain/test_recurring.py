from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from revloop.domain.periods import Period
from revloop.domain.rating.recurring import charge_periods, increased_unit, prorate, prorated_unit


def test_advance_and_arrears_charge_periods() -> None:
    oct_ = Period.month(2026, 10)
    dec = Period.month(2026, 12)
    assert charge_periods(oct_, "quarterly", "advance") == [Period(date(2026, 10, 1), date(2027, 1, 1))]
    assert charge_periods(oct_, "quarterly", "arrears") == []
    assert charge_periods(dec, "quarterly", "arrears") == [Period(date(2026, 10, 1), date(2027, 1, 1))]
    assert charge_periods(dec, "quarterly", "advance") == []
    assert charge_periods(oct_, "annual", "advance") == []
    assert charge_periods(Period.month(2027, 1), "annual", "advance") == [
        Period(date(2027, 1, 1), date(2028, 1, 1))
    ]
    quarter = Period(date(2026, 10, 1), date(2027, 1, 1))
    assert len(charge_periods(quarter, "monthly", "advance")) == 3


def test_proration_by_days() -> None:
    cp = Period.month(2026, 10)
    pr = prorate(cp, date(2026, 10, 10), None)
    assert (pr.days_active, pr.days_in_period) == (22, 31)
    assert prorated_unit(D(300), pr) == D("212.9032")
    assert prorate(cp, date(2026, 11, 1), None).covered is None


def test_increase_compounds_with_q4_each_step() -> None:
    value, steps = increased_unit(D(100), D("3.5"), date(2024, 10, 1), date(2026, 10, 1))
    assert (value, steps) == (D("110.8718"), 3)
    assert increased_unit(D(100), D("3.5"), date(2026, 10, 2), date(2026, 10, 1)) == (D(100), 0)
