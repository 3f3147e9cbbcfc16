from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from revloop.domain.calendar import Calendar, Holidays, parse_hours

WORKDAY = parse_hours("08:30-17:30")
LONDON = Calendar("Europe/London", (WORKDAY,) * 5 + ((), ()), Holidays("GB", "ENG"))


def minutes(segments: list[tuple[str, int]]) -> list[tuple[str, Decimal]]:
    return [(cls, Decimal(us) / 60_000_000) for cls, us in segments]


def test_parse_hours_several_ranges() -> None:
    assert parse_hours("08:00-12:00, 13:00-17:00") == ((480, 720), (780, 1020))


@pytest.mark.parametrize("text", ["8-17", "17:00-08:00", "08:00-12:00,11:00-13:00", "25:00-26:00"])
def test_parse_hours_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hours(text)


def test_split_at_end_of_working_day() -> None:
    segs = LONDON.segments(datetime(2026, 10, 5, 17, 0), Decimal(60))
    assert minutes(segs) == [("normal", 30), ("ooh", 30)]


def test_class_met_twice_sums_and_keeps_first_order() -> None:
    # 07:30 -> 18:30: ooh 60, normal 540, ooh 60 -> ooh first, summed
    segs = LONDON.segments(datetime(2026, 10, 5, 7, 30), Decimal(660))
    assert minutes(segs) == [("ooh", 120), ("normal", 540)]


def test_friday_night_into_saturday() -> None:
    segs = LONDON.segments(datetime(2026, 10, 9, 23, 0), Decimal(120))
    assert minutes(segs) == [("ooh", 60), ("weekend", 60)]


def test_observed_substitute_day_is_holiday() -> None:
    assert LONDON.day_class(date(2026, 12, 28)) == "holiday"
    assert LONDON.day_class(date(2026, 12, 26)) == "holiday"  # Saturday, holiday wins


def test_add_and_remove_remove_wins() -> None:
    cal = Calendar(
        "Europe/London",
        (WORKDAY,) * 5 + ((), ()),
        Holidays(
            "GB", "ENG", frozenset({date(2026, 10, 12), date(2026, 12, 25)}), frozenset({date(2026, 12, 25)})
        ),
    )
    assert cal.day_class(date(2026, 10, 12)) == "holiday"
    assert cal.day_class(date(2026, 12, 25)) is None


def test_spring_forward_real_elapsed_time() -> None:
    cal = Calendar("Europe/London", (WORKDAY,) * 6 + (parse_hours("03:00-12:00"),), Holidays())
    segs = cal.segments(datetime(2026, 3, 29, 0, 30), Decimal(120))
    assert minutes(segs) == [("ooh", 90), ("normal", 30)]


def test_autumn_back_real_elapsed_time() -> None:
    cal = Calendar("Europe/London", (WORKDAY,) * 6 + (parse_hours("02:00-12:00"),), Holidays())
    segs = cal.segments(datetime(2026, 10, 25, 0, 30), Decimal(180))
    assert minutes(segs) == [("ooh", 150), ("normal", 30)]


def test_a_whole_dst_day_has_its_real_length() -> None:
    cal = Calendar("Europe/London", ((),) * 7, Holidays())
    segs = cal.segments(datetime(2026, 10, 25, 0, 0), Decimal(25 * 60))
    assert minutes(segs) == [("weekend", 25 * 60)]


def test_aware_start_converted_to_calendar_zone() -> None:
    moment = datetime.fromisoformat("2026-10-05T16:30:00+00:00")
    assert LONDON.localise(moment).hour == 17
    assert LONDON.class_at(moment) == "ooh"


def test_zero_minutes_has_no_segments() -> None:
    assert LONDON.segments(datetime(2026, 10, 5, 10, 0), Decimal(0)) == []


def test_unknown_timezone_refused() -> None:
    with pytest.raises(Exception):  # noqa: B017 - zoneinfo raises its own error type
        Calendar("Mars/Olympus", ((),) * 7)


def test_start_in_the_skipped_spring_hour_uses_the_offset_before_the_change() -> None:
    local = LONDON.localise(datetime(2026, 3, 29, 1, 30))
    assert local.utcoffset() is not None and local.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert local.astimezone(UTC).astimezone(LONDON.zone).hour == 2  # 01:30 GMT is 02:30 BST
