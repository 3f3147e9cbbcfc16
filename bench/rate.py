"""Rating throughput: ``python bench/rate.py --entries N --json``.

Generates a realistic book deterministically (1,000 customers, dated rate rows at global,
customer and contract scope, out-of-hours and weekend work, every contract kind) and rates one
month of it, reporting entries per second and peak memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import random
import resource
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from revloop.domain.calendar import Calendar, Holidays, parse_hours
from revloop.domain.engine import RatingResult, rate, split_by_customer
from revloop.domain.periods import Period
from revloop.domain.ratebook import ChargeType, Ratebook, RateRow
from revloop.domain.records import (
    Book,
    Contract,
    Customer,
    Purchase,
    RecurringCharge,
    Settings,
    TimeEntry,
)

PERIOD = Period.month(2026, 10)
CUSTOMERS = 1000
AGENTS = tuple(f"agent{i}" for i in range(40))
KINDS = ("none", "payg", "fixed_price", "allowance", "prepay_hours", "prepay_money")


def charge_types() -> dict[str, ChargeType]:
    def rows(rate: str, later: str, minimum: int, inc: int, prepay: str = "1") -> tuple[RateRow, ...]:
        common = {
            "minimum_minutes": D(minimum),
            "increment_minutes": D(inc),
            "rounding": "up",
            "ooh_multiplier": D("1.5"),
            "holiday_multiplier": D(2),
            "prepay_multiplier": D(prepay),
        }
        return (
            RateRow(date(2026, 1, 1), hourly_rate=D(rate), **common),  # type: ignore[arg-type]
            RateRow(date(2026, 10, 15), hourly_rate=D(later), **common),  # type: ignore[arg-type]
        )

    return {
        "remote": ChargeType(
            "remote", "Remote support", "LAB-REMOTE", "200", "OUTPUT2", rates=rows("95", "99", 15, 15)
        ),
        "onsite": ChargeType(
            "onsite",
            "On-site",
            "LAB-ONSITE",
            "200",
            "OUTPUT2",
            travel="travel",
            rates=rows("120", "125", 60, 30, "2"),
        ),
        "project": ChargeType(
            "project", "Project", "LAB-PROJECT", "200", "OUTPUT2", rates=rows("110", "110", 0, 6)
        ),
        "travel": ChargeType("travel", "Travel", "TRAVEL", "200", "OUTPUT2", rates=rows("60", "60", 0, 15)),
    }


def generate(entries: int, seed: int = 20261001) -> Book:
    rnd = random.Random(seed)
    customers: dict[str, Customer] = {}
    customer_rates: dict[str, dict[str, tuple[RateRow, ...]]] = {}
    contract_rates: dict[str, dict[str, tuple[RateRow, ...]]] = {}
    contracts: dict[str, Contract] = {}
    opening: dict[str, D] = {}
    recurring: list[RecurringCharge] = []
    for i in range(CUSTOMERS):
        cid = f"c{i:04d}"
        customers[cid] = Customer(
            cid,
            f"Customer {i}",
            presentation="summary" if i % 7 == 0 else "itemised",
            line_amount_types="Inclusive" if i % 11 == 0 else "Exclusive",
            separate_invoice_per_contract=i % 13 == 0,
        )
        r = i % 5
        if r == 1:
            customer_rates[cid] = {"remote": (RateRow(date(2026, 1, 1), percent=D("90")),)}
        elif r == 2:
            customer_rates[cid] = {
                "remote": (RateRow(date(2026, 10, 20), hourly_rate=D("85")),)
            }  # falls through early
        elif r == 3:
            customer_rates[cid] = {
                "onsite": (RateRow(date(2026, 1, 1), hourly_rate=D("115"), minimum_minutes=D(30)),)
            }
        kind = KINDS[i % len(KINDS)]
        k = f"{cid}-k"
        start = date(2026, 1, 1)
        if kind == "payg":
            contracts[k] = Contract(k, cid, "payg", start, covers=("project",))
            contract_rates[k] = {"project": (RateRow(date(2026, 1, 1), percent=D("80")),)}
        elif kind == "fixed_price":
            contracts[k] = Contract(
                k,
                cid,
                "fixed_price",
                date(2026, 10, 10),
                covers=("remote",),
                fee=D("450.00"),
                item_code="FIXED",
            )
        elif kind == "allowance":
            contracts[k] = Contract(
                k, cid, "allowance", start, hours_per_period=D(rnd.randint(2, 40)), rollover=True,
                rollover_cap_hours=D(10),
            )  # fmt: skip
            opening[k] = D(rnd.randint(0, 15))
            contract_rates[k] = {"remote": (RateRow(date(2026, 1, 1), overage_multiplier=D("1.25")),)}
        elif kind == "prepay_hours":
            contracts[k] = Contract(
                k, cid, "prepay", start, unit="hours",
                purchases=(Purchase(date(2026, 9, 1), D(rnd.randint(5, 60))),
                           Purchase(date(2026, 10, 10), D(10), date(2026, 10, 31))),
                threshold=D(3), auto_topup=D(10) if i % 4 == 0 else None, topup_unit_amount=D("90.00"),
                on_exhausted="negative" if i % 3 == 0 else "payg", item_code="PREPAY",
            )  # fmt: skip
        elif kind == "prepay_money":
            contracts[k] = Contract(
                k, cid, "prepay", start, unit="money",
                purchases=(Purchase(date(2026, 9, 1), D(rnd.randint(500, 5000))),),
                threshold=D(200), item_code="PREPAY",
            )  # fmt: skip
        qty = D(rnd.randint(1, 9))
        recurring.append(
            RecurringCharge(
                f"r{i}", cid, "BACKUP", "Backup", D("12.50"), start, quantity=qty, tax_code="OUTPUT2"
            )
        )
    cts = ("remote", "remote", "remote", "onsite", "project")
    minutes_of = {m: D(m) for m in (5, 10, 15, 20, 30, 35, 45, 50, 60, 90, 120, 240)}
    zero, five = D(0), D(5)
    rows: list[TimeEntry] = []
    for n in range(entries):
        cust = f"c{rnd.randrange(CUSTOMERS):04d}"
        # mostly working hours, some evenings, nights and weekends
        day = rnd.randrange(31)
        hour = rnd.choice((9, 10, 11, 13, 14, 15, 16, 17, 19, 22, 7))
        start = datetime(2026, 10, 1) + timedelta(
            days=day, hours=hour, minutes=rnd.choice((0, 10, 20, 30, 45))
        )
        ct = rnd.choice(cts)
        minutes = minutes_of[rnd.choice((5, 10, 15, 20, 30, 45, 60, 90, 120, 240))]
        rows.append(
            TimeEntry(
                f"E{n:08d}", cust, start, minutes, ct, ticket=f"T{rnd.randrange(entries // 3 + 1)}",
                agent=AGENTS[n % 40], non_billable_minutes=five if n % 17 == 0 else zero,
                travel_minutes=minutes_of[rnd.choice((20, 35, 50))] if ct == "onsite" else zero,
                service_line="helpdesk",
            )
        )  # fmt: skip
    return Book(
        settings=Settings(),
        calendar=Calendar(
            "Europe/London", (parse_hours("08:30-17:30"),) * 5 + ((), ()), Holidays("GB", "ENG")
        ),
        tax_rates={"OUTPUT2": D(20), "EXEMPTOUTPUT": D(0)},
        ratebook=Ratebook(charge_types(), customer_rates, contract_rates),
        customers=customers,
        contracts=contracts,
        opening_balances=opening,
        recurring=tuple(recurring),
        entries=tuple(rows),
    )


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory (MB): this process, its largest worker, and the two added up.

    A forked worker's figure includes the pages of the book it shares with this process, so the
    sum counts those twice: it is an upper bound.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "peak_rss_mb": round(own + worker, 1),
        "main_rss_mb": round(own, 1),
        "worker_rss_mb": round(worker, 1),
    }


_PARTS: list[Book] = []


def _summary(result: RatingResult) -> dict[str, int | str]:
    return {
        "invoices": len(result.invoices),
        "lines": sum(len(i.lines) for i in result.invoices),
        "total": str(sum((i.total for i in result.invoices), D(0))),
    }


def _rate_part(index: int) -> dict[str, int | str]:
    return _summary(rate(_PARTS[index], PERIOD))


def rate_in_workers(book: Book, workers: int) -> dict[str, int | str]:
    """Rate independent customers in ``workers`` forked processes; each returns a summary."""
    global _PARTS
    if workers <= 1:
        return _summary(rate(book, PERIOD))
    _PARTS = split_by_customer(book, workers)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        parts = pool.map(_rate_part, range(workers))
    _PARTS = []
    return {
        "invoices": sum(int(p["invoices"]) for p in parts),
        "lines": sum(int(p["lines"]) for p in parts),
        "total": str(sum((D(str(p["total"])) for p in parts), D(0))),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--workers", type=int, default=2, help="processes rating customers side by side")
    parser.add_argument("--write", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    g0 = time.perf_counter()
    book = generate(args.entries)
    generated = time.perf_counter() - g0
    # A rating run allocates millions of small objects that live until it ends: the cyclic
    # collector would walk them again and again for nothing, so it is paused while rating.
    gc.collect()
    gc.freeze()
    gc.disable()
    t0 = time.perf_counter()
    summary = rate_in_workers(book, args.workers)
    seconds = time.perf_counter() - t0
    gc.enable()
    figures = {
        "entries": args.entries,
        "seconds": round(seconds, 3),
        "entries_per_second": round(args.entries / seconds) if seconds else None,
        **peak_rss_mb(),
        "workers": args.workers,
        "generate_seconds": round(generated, 3),
        "cpus": os.cpu_count(),
        "load_average_at_start": round(load_before, 2),  # other work on the machine slows the figure
        **summary,
    }
    text = json.dumps(figures)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(json.dumps(figures, indent=2) + "\n")
    print(text if args.json else "\n".join(f"{k}: {v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
