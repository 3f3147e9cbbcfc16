"""The pure side of reconciliation: grouping, periods, the identity, thresholds and windows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from revloop.domain.periods import Period
from revloop.domain.reconciliation import (
    Adjustment,
    BilledLine,
    ContractTerms,
    CustomerInfo,
    Document,
    EntryFacts,
    FeeBilled,
    InvoicedWork,
    PrepayMove,
    PrepayState,
    QuoteInfo,
    WorkPart,
    billed_twice,
    checked_periods,
    crossing,
    document_findings,
    group_value,
    identity_findings,
    identity_rows,
    match_documents,
    no_contract,
    overdue,
    prepay_findings,
    reference_period,
    renewal_findings,
    repeated_overruns,
    unbilled_work,
)

D = Decimal
OCT = Period.month(2026, 10)
SEP = Period.month(2026, 9)
CUSTOMERS = {"c1": CustomerInfo("c1", "halopsa:client:1", "GBP", "Acme", "xero:contact:ab")}


def part(
    entry: str, hours: str, unit: str = "95", kind: str = "labour", cls: str = "normal", **kw: str
) -> WorkPart:
    return WorkPart(entry, "c1", kind, "ct1", cls, D(hours), D(unit), "LAB", kw.get("contract"))  # type: ignore[arg-type]


def test_group_value_rounds_each_group_once() -> None:
    parts = [part("1/1", "0.3333"), part("1/2", "0.3333"), part("1/3", "1", unit="142.5", cls="ooh")]
    # (0.6666 x 95 = 63.327 -> 63.33) + 142.50; per entry it would be 31.66 + 31.66 + 142.50
    assert group_value(parts) == D("205.83")


def test_checked_periods_wait_for_the_close_days_and_never_take_the_current_month() -> None:
    assert checked_periods(None, date(2026, 11, 24), 5) == ()
    got = checked_periods(date(2026, 8, 17), date(2026, 11, 4), 5)
    assert got == (Period.month(2026, 8), Period.month(2026, 9))
    assert checked_periods(date(2026, 8, 17), date(2026, 11, 4), 5, closed=[OCT.start])[-1] == OCT
    assert checked_periods(date(2026, 8, 1), date(2026, 11, 6), 5)[-1] == OCT


def test_reference_period_reads_revloop_keys_only() -> None:
    assert reference_period("revloop:c105:all:2026-08-01") == ("c105", Period.month(2026, 8))
    assert reference_period("Ad hoc consultancy") is None
    assert reference_period("revloop:c1:all:not-a-date") is None


def test_unbilled_work_splits_outside_contract_and_overrun() -> None:
    parts = [
        part("1/1", "1"),
        part("1/2", "2"),  # invoiced: not counted
        part("2/1", "0.5"),  # against an expired contract
        part("3/1", "1.5", unit="142.5", kind="overage", contract="halopsa:contract:9"),
    ]
    facts = {
        "1/1": EntryFacts("1/1", "c1", "unbilled"),
        "1/2": EntryFacts("1/2", "c1", "invoiced", "INV-1"),
        "2/1": EntryFacts("2/1", "c1", "unbilled", None, "halopsa:contract:8", False),
        "3/1": EntryFacts("3/1", "c1", "unbilled", None, "halopsa:contract:9", True),
    }
    found = {f.code: f for f in unbilled_work(OCT, parts, facts, CUSTOMERS)}
    assert set(found) == {"time.unbilled", "time.outside_contract", "allowance.overrun"}
    assert found["time.unbilled"].subjects == ("halopsa:action:1/1",)
    assert found["time.unbilled"].amount == D("95.00") and found["time.unbilled"].currency == "GBP"
    assert found["time.outside_contract"].subjects == ("halopsa:action:2/1", "halopsa:contract:8")
    assert found["time.outside_contract"].amount == D("47.50")
    assert found["allowance.overrun"].subjects == ("halopsa:contract:9", "halopsa:action:3/1")
    assert found["allowance.overrun"].amount == D("213.75")


def test_repeated_overruns_need_every_one_of_the_last_months() -> None:
    periods = [Period.month(2026, m) for m in (7, 8, 9, 10)]
    overage = {
        "k:a": {periods[1]: D("10"), periods[2]: D("20"), periods[3]: D("5")},
        "k:b": {periods[0]: D("10"), periods[1]: D("20"), periods[3]: D("5")},
    }
    found = repeated_overruns(overage, periods, {"k:a": "GBP"}, run=3)
    assert [(f.code, f.subjects, f.amount) for f in found] == [
        ("allowance.overrun_repeated", ("k:a",), D("35.00"))
    ]
    assert repeated_overruns(overage, periods[:2], {}, run=3) == []


def test_crossing_names_the_draw_that_went_below() -> None:
    moves = [
        PrepayMove(date(2026, 10, 2), (datetime(2026, 10, 2, 9, tzinfo=UTC), "1/1"), D("-95"), "1/1"),
        PrepayMove(date(2026, 10, 3), (datetime(2026, 10, 3, 9, tzinfo=UTC), "1/2"), D("-95"), "1/2"),
        PrepayMove(date(2026, 10, 4), (datetime(2026, 10, 4, 9, tzinfo=UTC), "1/3"), D("-95"), "1/3"),
    ]
    assert crossing(D("300"), moves, D("150")) == "1/2"
    assert crossing(D("300"), moves, D("0")) is None
    assert crossing(D("250"), moves, D("0")) == "1/3"
    topped = [*moves, PrepayMove(date(2026, 10, 3), (date(2026, 10, 3), ""), D("500"))]
    assert crossing(D("250"), topped, D("0")) is None  # a purchase that day lands before the draws


def test_prepay_findings_negative_before_threshold() -> None:
    low = PrepayState("k:5", "c1", "money", OCT, D("59.37"), D("250"), "GBP", "1/8", None)
    negative = PrepayState("k:9", "c1", "money", OCT, D("-244.38"), None, "GBP", None, "2/1")
    fine = PrepayState("k:7", "c1", "money", OCT, D("300"), D("250"), "GBP")
    hours = PrepayState("k:8", "c1", "hours", OCT, D("1.5"), D("2"), "GBP", "3/1")
    found = {f.subjects[0]: f for f in prepay_findings([low, negative, fine, hours])}
    assert found["k:5"].code == "prepay.below_threshold" and found["k:5"].amount == D("59.37")
    assert found["k:5"].subjects == ("k:5", "halopsa:action:1/8")
    assert found["k:9"].code == "prepay.negative" and found["k:9"].amount == D("-244.38")
    assert "k:7" not in found
    assert found["k:8"].amount is None and "1.5 h" in found["k:8"].message


def _doc(system: str, id_: str, total: str, **kw: object) -> Document:
    return Document(system, id_, "c1", str(kw.pop("status", "AUTHORISED")), "GBP", D(total), D(total), **kw)  # type: ignore[arg-type]


def test_documents_drift_mismatch_and_missing() -> None:
    early = datetime(2026, 11, 1, 7, tzinfo=UTC)
    later = datetime(2026, 11, 14, 14, tzinfo=UTC)
    xero = [
        _doc("xero", "x1", "90", number="INV-1", updated_at=later),  # edited in Xero
        _doc("xero", "x2", "100", number="INV-2", updated_at=early),  # HaloPSA edited later
        _doc("xero", "x3", "100", number="INV-3", status="VOIDED", updated_at=later),
        _doc("xero", "x5", "100", number="INV-5", updated_at=later),
    ]
    halo = [
        _doc("halopsa", "1", "100", status="POSTED", number="INV-1", updated_at=early),
        _doc("halopsa", "2", "107.80", status="POSTED", number="INV-2", updated_at=later),
        _doc("halopsa", "3", "100", status="POSTED", number="INV-3", updated_at=early),
        _doc("halopsa", "4", "50", status="POSTED", number="INV-4", issued=date(2026, 5, 1)),
        _doc("halopsa", "6", "50", status="DRAFT", number="INV-6"),
        _doc("halopsa", "5", "100", status="POSTED", number="INV-5", updated_at=early),
    ]
    matched = match_documents(xero, halo, [])
    found = sorted((f.code, f.subjects, f.amount) for f in document_findings(matched, date(2026, 11, 23)))
    assert found == [
        ("amount.mismatch", ("xero:invoice:x2", "halopsa:invoice:2"), D("7.80")),
        ("halopsa.invoice_missing_in_xero", ("halopsa:invoice:4",), D("50.00")),
        ("xero.drift", ("xero:invoice:x1", "halopsa:invoice:1"), D("-10.00")),
        ("xero.drift", ("xero:invoice:x3", "halopsa:invoice:3"), D("-100.00")),
    ]


def test_a_halopsa_invoice_is_its_xero_copy_by_its_xeroid_first() -> None:
    xero = [
        _doc("xero", "x1", "100", number="INV-0101"),  # renumbered in Xero
        _doc("xero", "x2", "100", number="INV-7"),  # another invoice with HaloPSA's number
    ]
    halo = [_doc("halopsa", "7", "100", status="POSTED", number="INV-7", external_id="X1")]
    matched = match_documents(xero, halo, [])
    assert [(h.id, x.id if x else None) for h, x in matched.halopsa] == [("7", "x1")]
    without = match_documents(xero, [replace(halo[0], external_id=None)], [])
    assert [(h.id, x.id if x else None) for h, x in without.halopsa] == [("7", "x2")]  # by number


def test_revloop_posted_invoices_drift_by_their_xero_id() -> None:
    xero = [_doc("xero", "x1", "110", reference="revloop:c1:all:2026-10-01")]
    mine = [_doc("revloop", "revloop:c1:all:2026-10-01", "120", status="posted", external_id="x1")]
    found = document_findings(match_documents(xero, [], mine), date(2026, 11, 23))
    assert [(f.code, f.amount) for f in found] == [("xero.drift", D("-10.00"))]


def test_overdue_groups_a_customers_invoices_after_the_grace() -> None:
    xero = [
        _doc("xero", "a", "100", due_date=date(2026, 7, 31), amount_due=D("100")),
        _doc("xero", "b", "50", due_date=date(2026, 8, 31), amount_due=D("20")),
        _doc("xero", "c", "50", due_date=date(2026, 11, 20), amount_due=D("50")),
        _doc("xero", "d", "50", due_date=date(2026, 7, 1), amount_due=D("0"), status="PAID"),
    ]
    found = overdue(xero, date(2026, 11, 23), 5, CUSTOMERS)
    assert [(f.subjects, f.amount) for f in found] == [(("xero:invoice:a", "xero:invoice:b"), D("120.00"))]
    assert len(overdue(xero, date(2026, 11, 23), 0, CUSTOMERS)[0].subjects) == 3


def test_no_contract_spares_keyed_matched_and_fee_invoices() -> None:
    xero = [
        _doc("xero", "keyed", "10", reference="revloop:c1:all:2026-10-01"),
        _doc("xero", "halo", "10", number="INV-9"),
        _doc("xero", "fee", "10", number="M2"),
        _doc("xero", "hand", "850", number="M1", issued=date(2026, 8, 15)),
    ]
    halo = [_doc("halopsa", "9", "10", status="POSTED", number="INV-9")]
    lines = {
        "fee": [BilledLine("FEE-FIXED", D("10"), D("1"))],
        "hand": [BilledLine("CONSULT", D("850"), D("1"))],
    }
    fees = {"fee": frozenset({"FEE-FIXED"}), "hand": frozenset({"FEE-FIXED"})}
    found = no_contract(xero, match_documents(xero, halo, []), fees, lines, CUSTOMERS)
    assert [(f.subjects, f.amount) for f in found] == [
        (("xero:invoice:hand", "xero:contact:ab"), D("850.00"))
    ]


def _terms(**kw: object) -> ContractTerms:
    base: dict[str, object] = {
        "subject": "halopsa:contract:8",
        "code": "k8",
        "customer": "c1",
        "kind": "fixed_price",
        "start": date(2026, 8, 1),
        "end": date(2027, 8, 1),
        "fee": D("3445"),
        "billing": "monthly",
        "currency": "GBP",
        "fee_items": frozenset({"FEE-FIXED"}),
    }
    base.update(kw)
    return ContractTerms(**base)  # type: ignore[arg-type]


def test_identity_with_every_exception_kind() -> None:
    periods = [Period.month(2026, m) for m in (8, 9, 10)]
    contract = _terms(start=date(2026, 8, 16))
    fees = [
        FeeBilled("k8", periods[0], D("1778.06"), "xero:invoice:a"),  # 16 of 31 days prorated
        FeeBilled("k8", periods[1], D("3445"), "xero:invoice:b"),
        FeeBilled("k8", periods[1], D("3445"), "xero:invoice:b2"),  # billed twice ...
        FeeBilled("k8", periods[1], D("3445"), "xero:invoice:cn", credit=True),  # ... and credited
        FeeBilled("k8", periods[2], D("3000"), "halopsa:invoice:7", in_xero=False),
    ]
    adjustments = [Adjustment("k8", periods[2].start, "write_off", D("445"), "goodwill")]
    rows = identity_rows([contract], periods, fees, adjustments)
    assert [(r.period.start.month, r.holds) for r in rows] == [(8, True), (9, True), (10, True)]
    assert [e.kind for e in rows[0].exceptions] == ["proration"]
    assert rows[0].exceptions[0].amount == D("3445") - D("1778.06")
    assert [e.kind for e in rows[1].exceptions] == ["credit_note"]
    assert [e.kind for e in rows[2].exceptions] == ["not_in_xero", "write_off"]
    assert identity_findings(rows) == []


def test_identity_finding_sums_the_unexplained_difference() -> None:
    periods = [Period.month(2026, m) for m in (8, 9, 10)]
    fees = [FeeBilled("k8", p, D("3165"), f"xero:invoice:{p.start.month}") for p in periods]
    rows = identity_rows([_terms(), _terms(code="kp", kind="payg", fee=None)], periods, fees, [])
    assert {r.code for r in rows} == {"k8"}  # pay-as-you-go has no contracted value
    found = identity_findings(rows)
    assert [(f.subjects, f.amount) for f in found] == [
        (("halopsa:contract:8", "xero:invoice:8", "xero:invoice:9", "xero:invoice:10"), D("840.00"))
    ]
    assert rows[0].as_dict()["difference"] == "280.00"


def test_identity_of_a_quarterly_contract_waits_for_the_whole_quarter() -> None:
    quarterly = _terms(billing="quarterly", start=date(2026, 1, 1), fee=D("900"))
    months = [Period.month(2026, m) for m in (7, 8, 9, 10)]
    fees = [FeeBilled("k8", months[0], D("900"), "xero:invoice:q3")]
    rows = identity_rows([quarterly], months, fees, [])
    assert [(r.period, r.holds) for r in rows] == [(Period(date(2026, 7, 1), date(2026, 10, 1)), True)]


def test_renewal_needs_a_quote_since_it_became_due_for_discussion() -> None:
    today = date(2026, 11, 23)
    ending = _terms(
        code="k4", subject="halopsa:contract:4", kind="allowance", end=date(2026, 12, 1), fee=D("3180")
    )
    later = _terms(code="k5", subject="halopsa:contract:5", customer="c2", end=date(2027, 3, 1))
    found = renewal_findings([ending, later], [], today, 60)
    assert [(f.subjects, f.amount) for f in found] == [(("halopsa:contract:4",), D("38160.00"))]
    stale = [QuoteInfo("c1", date(2026, 9, 30))]  # before 2026-10-02, the end less 60 days
    assert len(renewal_findings([ending], stale, today, 60)) == 1
    fresh = [QuoteInfo("c1", date(2026, 10, 2), "SENT")]
    assert renewal_findings([ending], fresh, today, 60) == []
    declined = [QuoteInfo("c1", date(2026, 11, 2), "DECLINED")]
    assert len(renewal_findings([ending], declined, today, 60)) == 1
    successor = _terms(code="k6", start=date(2026, 12, 1), end=date(2027, 12, 1))
    assert renewal_findings([ending, successor], [], today, 60) == []


def test_billed_twice_exactly_and_inferred() -> None:
    aug, sep = Period.month(2026, 8), Period.month(2026, 9)
    parts = [part("7/1", "1.5"), part("8/1", "2")]
    facts = {
        "7/1": EntryFacts("7/1", "c1", "invoiced", "INV-73"),
        "8/1": EntryFacts("8/1", "c1", "invoiced", "INV-81"),
    }
    periods = {"7/1": aug, "8/1": sep}
    invoices = [
        InvoicedWork("xero:invoice:73", "INV-73", "c1", aug, (BilledLine("LAB", D("95"), D("1.5")),), "GBP"),
        InvoicedWork(
            "xero:invoice:81",
            "INV-81",
            "c1",
            sep,
            (BilledLine("FEE", D("100"), D("1")), BilledLine("LAB", D("95"), D("3.5"))),
            "GBP",
        ),
    ]
    found = billed_twice(invoices, parts, facts, periods)
    assert [(f.subjects, f.amount) for f in found] == [
        (("halopsa:action:7/1", "xero:invoice:73", "xero:invoice:81"), D("142.50"))
    ]
    listed = [
        InvoicedWork(
            "xero:invoice:1", "A", "c1", aug, (BilledLine("LAB", D("95"), D("1.5"), ("7/1",)),), "GBP"
        ),
        InvoicedWork(
            "xero:invoice:2", "B", "c1", sep, (BilledLine("LAB", D("95"), D("1.5"), ("7/1",)),), "GBP"
        ),
    ]
    exact = billed_twice(listed, parts, facts, periods)
    assert [(f.subjects, f.amount) for f in exact] == [
        (("halopsa:action:7/1", "xero:invoice:1", "xero:invoice:2"), D("142.50"))
    ]
    assert billed_twice(invoices[:1], parts, facts, periods) == []


def test_billed_twice_names_every_entry_the_excess_could_be() -> None:
    jul, aug, sep = Period.month(2026, 7), Period.month(2026, 8), Period.month(2026, 9)
    parts = [part("6/1", "1.5"), part("7/1", "1.5"), part("7/2", "1.5"), part("8/1", "2")]
    facts = {
        "6/1": EntryFacts("6/1", "c1", "invoiced", "INV-63"),
        "7/1": EntryFacts("7/1", "c1", "invoiced", "INV-73"),
        "7/2": EntryFacts("7/2", "c1", "invoiced", "INV-73"),
        "8/1": EntryFacts("8/1", "c1", "invoiced", "INV-81"),
    }
    periods = {"6/1": jul, "7/1": aug, "7/2": aug, "8/1": sep}
    invoices = [
        InvoicedWork("xero:invoice:63", "INV-63", "c1", jul, (BilledLine("LAB", D("95"), D("1.5")),), "GBP"),
        InvoicedWork("xero:invoice:73", "INV-73", "c1", aug, (BilledLine("LAB", D("95"), D("3")),), "GBP"),
        InvoicedWork("xero:invoice:81", "INV-81", "c1", sep, (BilledLine("LAB", D("95"), D("3.5")),), "GBP"),
    ]
    found = billed_twice(invoices, parts, facts, periods)
    # two August entries fit the 1.5 h billed again in September equally (the July one is older):
    # the double billing is found, naming both
    assert [(f.subjects, f.amount) for f in found] == [
        (
            ("halopsa:action:7/1", "halopsa:action:7/2", "xero:invoice:73", "xero:invoice:81"),
            D("142.50"),
        )
    ]
    assert "2 entries fit (7/1, 7/2)" in found[0].message


def test_crossing_takes_the_draws_in_consumption_order() -> None:
    day = date(2026, 10, 1)

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 10, 1, hour, minute, tzinfo=UTC)

    moves = [
        PrepayMove(day, (at(10, 30), "1/2"), D("-95"), "1/2"),
        PrepayMove(day, (at(9, 30), "1/1"), D("-95"), "1/1"),
        PrepayMove(day, (at(11), "1/10"), D("-95"), "1/10"),
        PrepayMove(day, (at(11), "1/9"), D("-95"), "1/9"),
    ]
    # by work start (09:30 before 10:30), then entry id
    assert crossing(D("200"), moves, D("100")) == "1/2"
    assert crossing(D("300"), moves, D("100")) == "1/10"
    assert crossing(D("300"), [*moves, PrepayMove(day, (day, ""), D("100"))], D("150")) == "1/10"
