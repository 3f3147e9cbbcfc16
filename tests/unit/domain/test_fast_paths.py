"""The rating run's shortcuts give exactly what working everything out each time gives.

Line texts are kept as their parts and made when read, answers that repeat are cached, and some
sorts are done in steps: none of it may change a figure or a word of a result.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from datetime import datetime
from decimal import Decimal as D

import pytest

from revloop.domain import engine
from revloop.domain.calendar import Calendar, Holidays, parse_hours
from revloop.domain.engine import RatingResult, RecordState, rate
from revloop.domain.invoicing import InvoiceLine
from revloop.domain.money import q4
from revloop.domain.rating.lines import Lazy, LineDraft
from revloop.domain.records import Settings
from tests.unit.domain.test_split import load_bench

# Digests of every figure and text of ``bench.generate(3000, seed=7)`` rated, as the engine gave
# them before its texts were made lazily and its answers cached (each text formatted as its line
# was made). One difference is deliberate: a summary line's explanation lists each entry's hours
# at 4 dp ("2.0000 h"); the earlier engine printed them as the first equal quantity the run had
# met ("2 h" after a draw from a balance of 2), so the same customer read differently in a split
# run. The second digest is of the texts with that fixed.
EAGER_DIGESTS = {
    "default": "54581c45dbf747ddf1cc154e52ce189343010f4c6c555b311abf088c35a2dd06",
    "ticket-start-even": "b414b8a313d66afcfce8def2445a48a46a419d0a5227deb0fc176e321b1cf5b7",
}
VARIANTS: dict[str, dict[str, object]] = {
    "default": {},
    "ticket-start-even": {
        "rounding_scope": "ticket",
        "ooh_mode": "start",
        "money_rounding": "half_even",
        "travel_uses_multipliers": True,
        "descriptions": (
            ("labour", "{date} {hours} h {class} {contract}"),
            ("covered", "{hours}{draw} {contract}"),
            ("overage", "{hours} over {contract}"),
            ("travel", "{hours} {class} {agent}"),
        ),
    },
}


def digest(result: RatingResult) -> str:
    h = hashlib.sha256()
    for inv in result.invoices:
        h.update(f"{inv.key} {inv.subtotal} {inv.tax} {inv.total}\n".encode())
        for x in inv.lines:
            h.update(
                f"{x.kind}|{x.description}|{x.cls}|{q4(x.quantity)}|{q4(x.unit_amount)}|{x.amount}|{x.tax}|"
                f"{x.sources}|{x.explanation}\n".encode()
            )
    for k, v in result.balances.items():
        h.update(f"{k} {v}\n".encode())
    for i in (*result.issues, *result.findings):
        h.update(f"{i.code} {i.subject} {i.message}\n".encode())
    for key, st in result.states.items():
        h.update(f"{key} {st.state} {st.detail}\n".encode())
    return h.hexdigest()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_figure_and_text_is_the_eager_engines(variant: str) -> None:
    bench = load_bench()
    book = bench.generate(3000, seed=7)
    book = replace(book, settings=replace(book.settings, **VARIANTS[variant]))
    assert digest(rate(book, bench.PERIOD)) == EAGER_DIGESTS[variant]


def test_lazy_text_reads_as_its_text() -> None:
    text = Lazy(lambda a, b: f"{a} and {b}", "tea", "cake")
    assert str(text) == "tea and cake"
    assert text == "tea and cake" and text == Lazy(str, "tea and cake") and text != "tea"
    assert hash(text) == hash("tea and cake") and repr(text) == "'tea and cake'"
    line = InvoiceLine(
        kind="labour",
        item_code="LAB",
        account_code=None,
        description=text,
        cls="normal",
        quantity=D("1.0000"),
        unit_amount=D("95.0000"),
        amount=D("95.00"),
        tax_code="OUTPUT2",
        tax_rate=D(20),
        tax=D("19.00"),
        sources=("E1",),
        why=("global row", Lazy(lambda: ""), Lazy(lambda n: f"billed {n} h", D("1.0000")), "tax"),
    )
    assert type(line.description) is str and line.description == "tea and cake"
    assert line.explanation == "global row; billed 1.0000 h; tax"
    assert line == line._replace(description="tea and cake")


def test_shown_quantities_do_not_depend_on_the_other_lines_of_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bench = load_bench()
    book = bench.generate(2000, seed=11)
    whole = rate(book, bench.PERIOD)
    monkeypatch.setattr(engine, "CHUNK_ENTRIES", 300)
    parts = rate(book, bench.PERIOD)

    def shown(r: RatingResult) -> list[tuple[str, str, str]]:
        return [(str(x.quantity), str(x.unit_amount), x.description) for i in r.invoices for x in i.lines]

    assert shown(parts) == shown(whole)
    assert all(
        x.quantity == q4(x.quantity) and x.quantity.as_tuple().exponent == -4 for x in whole.invoices[0].lines
    )


def test_starts_either_side_of_a_clock_change_are_not_confused() -> None:
    # 01:00-02:00 is working time every day; on 25 October 2026 01:30 happens twice in London
    cal = Calendar("Europe/London", (parse_hours("01:00-02:00"),) * 7, Holidays())
    first, second = datetime(2026, 10, 25, 1, 30), datetime(2026, 10, 25, 1, 30, fold=1)
    assert cal.segments(first, D(60)) == [("normal", 3_600_000_000)]
    assert cal.segments(second, D(60)) == [("normal", 1_800_000_000), ("ooh", 1_800_000_000)]
    assert cal.segments(first, D(60)) == list(cal._segments(first, D(60)))
    assert cal.class_at(datetime(2026, 10, 25, 2, 15)) == "ooh" and cal.class_at(first) == "normal"


def test_travel_explanations_keep_the_minutes_as_written() -> None:
    bench = load_bench()
    book = bench.generate(300, seed=3)
    onsite = next(e for e in book.entries if e.charge_type == "onsite")
    twins = (
        replace(onsite, id="X1", travel_minutes=D("20")),
        replace(onsite, id="X2", travel_minutes=D("20.0")),
    )
    result = rate(replace(book, entries=twins, settings=Settings()), bench.PERIOD)
    travel = {x.sources[0]: x.explanation for i in result.invoices for x in i.lines if x.kind == "travel"}
    assert travel["X1"].startswith("travel 20 min billed") and travel["X2"].startswith(
        "travel 20.0 min billed"
    )


def test_states_are_sorted_as_a_whole() -> None:
    rnd = random.Random(5)
    kinds = ("entry", "recurring", "mileage", "item")
    states = {
        (rnd.choice(kinds), f"{rnd.choice('AEZ')}{rnd.randrange(1000)}"): RecordState("invoiced", "")
        for _ in range(500)
    }
    fast = engine._sorted_states(states)
    assert list(fast.items()) == sorted(states.items(), key=lambda kv: kv[0])


def test_the_benchmark_book_and_figures_do_not_depend_on_how_customers_are_grouped() -> None:
    bench = load_bench()
    whole = bench.generate(1500, seed=5)
    parts = [bench.generate(1500, 5, range(0, 400)), bench.generate(1500, 5, range(400, 1000))]
    assert tuple(e for p in parts for e in p.entries) == whole.entries
    assert {**parts[0].contracts, **parts[1].contracts} == dict(whole.contracts)
    one_go = bench.run(1500, workers=1, chunk=1500, seed=5)
    in_groups = bench.run(1500, workers=1, chunk=200, seed=5)
    for figure in ("invoices", "lines", "total", "checksum"):
        assert in_groups[figure] == one_go[figure]


def test_lines_made_positionally_have_every_field() -> None:
    # the engine makes line drafts and invoice lines as plain tuples of every field, in order
    assert len(LineDraft._fields) == 17 and len(InvoiceLine._fields) == 16
    bench = load_bench()
    result = rate(bench.generate(200, seed=2), bench.PERIOD)
    lines = [x for i in result.invoices for x in i.lines]
    assert lines and all(len(x) == 16 and isinstance(x.sources, tuple) for x in lines)
