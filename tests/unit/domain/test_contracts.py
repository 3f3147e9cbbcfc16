from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from revloop.domain.contracts import AllowanceAccount, PrepayAccount, draw_prepay, match_contract
from revloop.domain.periods import Period
from revloop.domain.records import Contract, Purchase

OCT = Period.month(2026, 10)


def prepay(**kw: object) -> Contract:
    base: dict[str, object] = {"id": "p", "customer": "acme", "kind": "prepay", "start": date(2026, 1, 1)}
    base.update(kw)
    return Contract(**base)  # type: ignore[arg-type]


def test_match_named_unknown_and_ambiguous() -> None:
    a = prepay(id="a", covers=("remote",))
    b = prepay(id="b")
    other = prepay(id="x", customer="globex")
    day = date(2026, 10, 5)
    assert match_contract([a, b], None, None, "acme", "remote", None, day).ambiguous == ("a", "b")
    assert match_contract([a, b], None, None, "acme", "onsite", None, day).contract == b
    assert match_contract([a, b], a, "a", "acme", "remote", None, day).contract == a
    assert match_contract([a], other, "x", "acme", "remote", None, day).problem == "contract.unknown"
    late = prepay(id="late", start=date(2026, 11, 1))
    assert match_contract([], late, "late", "acme", "remote", None, day).problem == "contract.not_in_force"


def test_earliest_expiry_first_and_expired_lots_lost() -> None:
    c = prepay(
        purchases=(
            Purchase(date(2026, 8, 1), D(3)),
            Purchase(date(2026, 9, 1), D(2), date(2026, 10, 14)),
            Purchase(date(2026, 9, 15), D(1), date(2026, 10, 10)),
        )
    )
    acct = PrepayAccount(c, OCT, None)
    assert acct.available(date(2026, 10, 5)) == 6
    acct.consume(date(2026, 10, 5), D(2))
    assert acct.available(date(2026, 10, 5)) == 4
    assert acct.available(date(2026, 10, 15)) == 3  # lot B's last hour expired on the 14th
    assert acct.closing(OCT) == 3


def test_opening_balance_replaces_earlier_purchases() -> None:
    c = prepay(purchases=(Purchase(date(2026, 6, 1), D(10)), Purchase(date(2026, 10, 15), D(3))))
    acct = PrepayAccount(c, OCT, D(1))
    assert acct.available(date(2026, 10, 5)) == 1
    assert acct.available(date(2026, 10, 15)) == 4


def test_split_on_exhaustion_payg_and_negative() -> None:
    acct = PrepayAccount(prepay(), OCT, D("0.5"))
    d = draw_prepay(acct, date(2026, 10, 5), D(1), D(1), D(1))
    assert (d.covered_hours, d.payg_hours, d.negative_hours, d.after) == (D("0.5"), D("0.5"), 0, 0)
    neg = PrepayAccount(prepay(on_exhausted="negative"), OCT, D("0.5"))
    d = draw_prepay(neg, date(2026, 10, 5), D(1), D(1), D(1))
    assert (d.covered_hours, d.negative_hours, d.payg_hours, d.after) == (D("0.5"), D("0.5"), 0, D("-0.5"))


def test_multiplier_split_covers_balance_over_per_hour() -> None:
    acct = PrepayAccount(prepay(), OCT, D(3))
    d = draw_prepay(acct, date(2026, 10, 5), D(2), D(2), D(4))
    assert d.covered_hours == D("1.5") and d.payg_hours == D("0.5") and d.after == 0


def test_negative_balance_is_paid_by_a_later_purchase() -> None:
    c = prepay(on_exhausted="negative", purchases=(Purchase(date(2026, 10, 20), D(5)),))
    acct = PrepayAccount(c, OCT, D(-2))
    assert acct.available(date(2026, 10, 5)) == -2
    assert acct.available(date(2026, 10, 21)) == 3


def allowance(**kw: object) -> Contract:
    base: dict[str, object] = {
        "id": "al", "customer": "acme", "kind": "allowance", "start": date(2026, 1, 1),
        "hours_per_period": D(10),
    }  # fmt: skip
    base.update(kw)
    return Contract(**base)  # type: ignore[arg-type]


def test_allowance_rollover_cap_applied_when_carried_in() -> None:
    acct = AllowanceAccount(allowance(rollover=True, rollover_cap_hours=D(4)), OCT, D(6))
    covered, over, before, after = acct.draw(date(2026, 10, 5), D(2))
    assert (covered, over, before, after) == (2, 0, 14, 12)
    assert acct.closing() == 12


def test_allowance_without_rollover_starts_fresh() -> None:
    acct = AllowanceAccount(allowance(), OCT, D(6))
    assert acct.draw(date(2026, 10, 5), D(12))[:2] == (10, 2)


def test_monthly_grants_inside_a_quarter_long_period() -> None:
    q4 = Period(date(2026, 10, 1), date(2027, 1, 1))
    acct = AllowanceAccount(allowance(rollover=True, rollover_cap_hours=D(5)), q4, None)
    acct.draw(date(2026, 10, 5), D(1))  # 10 -> 9
    covered, _, before, _ = acct.draw(date(2026, 11, 5), D(1))  # min(9, 5) + 10 = 15
    assert before == 15 and covered == 1
    assert acct.closing() == 15  # December: min(14, 5) + 10


def test_rollover_never_past_contract_end() -> None:
    acct = AllowanceAccount(
        allowance(rollover=True, end=date(2026, 11, 1)), Period(date(2026, 10, 1), date(2027, 1, 1)), None
    )
    assert acct.closing() == 0
