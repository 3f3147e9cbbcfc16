from datetime import date
from decimal import Decimal

import pytest

from revloop.domain.periods import Period, add_months


def test_month_and_parse() -> None:
    assert Period.parse("2026-10") == Period(date(2026, 10, 1), date(2026, 11, 1))
    assert Period.parse("2026-12") == Period(date(2026, 12, 1), date(2027, 1, 1))
    assert Period.parse("2026-10-05..2026-10-09").days == 4
    for bad in ("2026-13", "october", "2026-10-09..2026-10-05"):
        with pytest.raises(ValueError):
            Period.parse(bad)


def test_half_open() -> None:
    october = Period.month(2026, 10)
    assert date(2026, 10, 1) in october
    assert date(2026, 11, 1) not in october
    assert october.last_day == date(2026, 10, 31)
    assert october.label() == "October 2026"


def test_overlap_and_fraction() -> None:
    october = Period.month(2026, 10)
    assert october.overlap_days(date(2026, 10, 16), None) == 16
    assert october.fraction_active(None, date(2026, 10, 11)) == Decimal(10) / Decimal(31)
    assert october.overlap(Period.month(2026, 11)) is None


def test_add_months_clamps() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
