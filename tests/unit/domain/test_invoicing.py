from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from revloop.domain.invoicing import build_invoice, invoice_key
from revloop.domain.issues import Issue
from revloop.domain.periods import Period
from revloop.domain.rating.lines import LineDraft
from revloop.domain.records import Customer, Settings

OCT = Period.month(2026, 10)


def draft(kind: str, qty: str, unit: str, src: str, order: int, cls: str | None = "normal") -> LineDraft:
    return LineDraft(
        kind,  # type: ignore[arg-type]
        "acme",
        "LAB",
        f"{kind} {src}",
        D(qty),
        D(unit),
        "OUTPUT2",
        "why",
        (src,),
        cls,  # type: ignore[arg-type]
        charge_type="remote",
        order=(order,),
        template_fields=(("charge_type", "Remote"), ("class", cls or "")),
    )


def test_key_shape() -> None:
    assert invoice_key("acme", None, OCT) == "revloop:acme:all:2026-10-01"
    assert invoice_key("acme", "c1", OCT) == "revloop:acme:c1:2026-10-01"


def test_line_order_follows_sections_then_time() -> None:
    drafts = [
        draft("topup", "1", "10", "t", 0, None),
        draft("item", "1", "5", "i", 0, None),
        draft("labour", "1", "95", "e2", 2),
        draft("labour", "1", "95", "e1", 1),
        draft("recurring", "1", "12.5", "r", 0, None),
        draft("fee", "1", "100", "f", 0, None),
        draft("travel", "1", "60", "e1", 1),
    ]
    inv = build_invoice("k", Customer("acme", "Acme"), None, drafts, OCT, Settings(), {"OUTPUT2": D(20)}, [])
    assert inv is not None
    assert [(x.kind, x.sources) for x in inv.lines] == [
        ("fee", ("f",)),
        ("recurring", ("r",)),
        ("labour", ("e1",)),
        ("labour", ("e2",)),
        ("travel", ("e1",)),
        ("item", ("i",)),
        ("topup", ("t",)),
    ]


def test_summary_groups_and_rounds_once() -> None:
    drafts = [draft("labour", "0.1667", "95", f"e{i}", i) for i in range(3)]
    drafts.append(draft("labour", "0.5", "142.5", "e9", 9, "ooh"))
    customer = Customer("acme", "Acme", presentation="summary")
    inv = build_invoice("k", customer, None, drafts, OCT, Settings(), {"OUTPUT2": D(20)}, [])
    assert inv is not None
    assert [(x.cls, x.quantity, x.amount, x.sources) for x in inv.lines] == [
        ("normal", D("0.5001"), D("47.51"), ("e0", "e1", "e2")),
        ("ooh", D("0.5000"), D("71.25"), ("e9",)),
    ]
    assert inv.lines[0].description == "Remote (normal), October 2026"


def test_nothing_to_show_gives_no_invoice() -> None:
    issues: list[Issue] = []
    assert build_invoice("k", Customer("a", "A"), None, [], OCT, Settings(), {}, issues) is None
    assert date(2026, 10, 1) in OCT
