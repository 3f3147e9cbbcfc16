from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from revloop.domain.ratebook import ResolvedRate
from revloop.domain.rating.labour import billed_minutes, hours_of, share_hours, share_ticket_minutes


def rate(inc: str = "15", minimum: str = "15", rounding: str = "up") -> ResolvedRate:
    return ResolvedRate(
        "remote", "global", date(2026, 1, 1), D(95), D(minimum), D(inc), rounding,  # type: ignore[arg-type]
        D("1.5"), D("1.5"), D(2), D(1), D(1),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("billable", "inc", "minimum", "mode", "billed"),
    [
        ("20", "15", "15", "up", "30"),
        ("10", "15", "30", "up", "30"),
        ("0", "15", "30", "up", "0"),
        ("22", "15", "0", "nearest", "15"),
        ("22.5", "15", "0", "nearest", "30"),
        ("29", "15", "0", "down", "15"),
        ("10", "15", "0", "down", "0"),
        ("7", "0", "0", "up", "7"),
    ],
)
def test_billed_minutes(billable: str, inc: str, minimum: str, mode: str, billed: str) -> None:
    assert billed_minutes(D(billable), rate(inc, minimum, mode)) == D(billed)


def test_hours_are_q4() -> None:
    assert hours_of(D(20)) == D("0.3333")


def test_ticket_share_largest_remainder_ties_to_earlier() -> None:
    assert share_ticket_minutes(D(30), [D(7), D(7), D(7), D(1)], D(15)) == [10, 10, 9, 1]


def test_ticket_share_fractional_increment_last_takes_remainder() -> None:
    assert share_ticket_minutes(D(15), [D(4), D(4), D(3)], D("7.5")) == [
        D("5.4545"),
        D("5.4545"),
        D("4.0910"),
    ]


def test_class_shares_sum_exactly_and_last_met_takes_remainder() -> None:
    parts = share_hours(D("1.0000"), [("ooh", 1), ("normal", 1), ("weekend", 1)])
    assert [h for _, h in parts] == [D("0.3333"), D("0.3333"), D("0.3334")]
    assert sum(h for _, h in parts) == 1
