"""Rating throughput: ``python bench/rate.py --entries N --json``.

Generates a realistic book deterministically (1,000 customers, dated rate rows at global,
customer and contract scope, out-of-hours and weekend work, every contract kind) and rates one
month of it, reporting entries per second and peak memory.

As a billing run does, each worker process takes its share of the customers, generates and rates
them a group at a time (``--chunk`` entries) and keeps only compact totals of each group's result
(invoice and line counts, the grand total, a checksum) before the next: no process ever holds the
whole book or all its lines. Each customer's records come from a random stream of its own, so
any grouping of the customers gives the same book and the same figures.

Figures: ``seconds`` is the rating time of the slowest worker (its groups' ``rate`` calls added
up; generating and folding excluded), ``wall_seconds`` everything from start to end.
``peak_rss_mb`` is the sum of the peak resident memory of the main process and every worker
(an upper bound: forked workers share the interpreter's pages with the main process, counted
once per process here); ``peak_rss_max_mb`` the largest single process.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import multiprocessing
import os
import random
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from revloop.domain.calendar import Calendar, Holidays, parse_hours
from revloop.domain.engine import RatingResult, rate
from revloop.domain.money import q4
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


def entry_counts(entries: int, seed: int = 20261001) -> list[int]:
    """How many of ``entries`` each customer has: uneven (some customers are much busier), exact."""
    rnd = random.Random(seed)
    weights = [rnd.randint(1, 20) for _ in range(CUSTOMERS)]
    total = sum(weights)
    counts = [entries * w // total for w in weights]
    for i in range(entries - sum(counts)):
        counts[i % CUSTOMERS] += 1
    return counts


_HOURS = (9, 10, 11, 13, 14, 15, 16, 17, 19, 22, 7)  # mostly working hours, some evenings and nights
_STARTS = tuple(
    datetime(2026, 10, 1) + timedelta(days=d, hours=h, minutes=m)
    for d in range(31)
    for h in _HOURS
    for m in (0, 10, 20, 30, 45)
)
_CTS = ("remote", "remote", "remote", "onsite", "project")
_MINUTES = tuple(D(m) for m in (5, 10, 15, 20, 30, 45, 60, 90, 120, 240))
_TRAVEL = tuple(D(m) for m in (20, 35, 50))


def _customer_part(
    i: int, count: int, first_id: int, seed: int, out: _Parts, entries: list[TimeEntry]
) -> None:
    """Customer ``i`` with its rates, contract, recurring charge and ``count`` time entries.

    Each customer draws from its own random stream, so a book of any subset of the customers
    holds exactly what the whole book holds for them.
    """
    rnd = random.Random(seed * 1_000_003 + i)
    cid = f"c{i:04d}"
    out.customers[cid] = Customer(
        cid,
        f"Customer {i}",
        presentation="summary" if i % 7 == 0 else "itemised",
        line_amount_types="Inclusive" if i % 11 == 0 else "Exclusive",
        separate_invoice_per_contract=i % 13 == 0,
    )
    r = i % 5
    if r == 1:
        out.customer_rates[cid] = {"remote": (RateRow(date(2026, 1, 1), percent=D("90")),)}
    elif r == 2:
        out.customer_rates[cid] = {
            "remote": (RateRow(date(2026, 10, 20), hourly_rate=D("85")),)
        }  # falls through early
    elif r == 3:
        out.customer_rates[cid] = {
            "onsite": (RateRow(date(2026, 1, 1), hourly_rate=D("115"), minimum_minutes=D(30)),)
        }
    kind = KINDS[i % len(KINDS)]
    k = f"{cid}-k"
    start = date(2026, 1, 1)
    if kind == "payg":
        out.contracts[k] = Contract(k, cid, "payg", start, covers=("project",))
        out.contract_rates[k] = {"project": (RateRow(date(2026, 1, 1), percent=D("80")),)}
    elif kind == "fixed_price":
        out.contracts[k] = Contract(
            k, cid, "fixed_price", date(2026, 10, 10), covers=("remote",), fee=D("450.00"), item_code="FIXED"
        )
    elif kind == "allowance":
        # scaled with the customer's work, so some allowances last the month and some run out
        hours = max(2, count * rnd.randint(20, 120) // 100)
        out.contracts[k] = Contract(
            k, cid, "allowance", start, hours_per_period=D(hours), rollover=True, rollover_cap_hours=D(10),
        )  # fmt: skip
        out.opening[k] = D(rnd.randint(0, 15))
        out.contract_rates[k] = {"remote": (RateRow(date(2026, 1, 1), overage_multiplier=D("1.25")),)}
    elif kind == "prepay_hours":
        out.contracts[k] = Contract(
            k, cid, "prepay", start, unit="hours",
            purchases=(Purchase(date(2026, 9, 1), D(max(5, count * rnd.randint(20, 120) // 100))),
                       Purchase(date(2026, 10, 10), D(10), date(2026, 10, 31))),
            threshold=D(3), auto_topup=D(10) if i % 4 == 0 else None, topup_unit_amount=D("90.00"),
            on_exhausted="negative" if i % 3 == 0 else "payg", item_code="PREPAY",
        )  # fmt: skip
    elif kind == "prepay_money":
        out.contracts[k] = Contract(
            k, cid, "prepay", start, unit="money",
            purchases=(Purchase(date(2026, 9, 1), D(max(500, count * rnd.randint(50, 150)))),),
            threshold=D(200), item_code="PREPAY",
        )  # fmt: skip
    out.recurring.append(
        RecurringCharge(
            f"r{i}",
            cid,
            "BACKUP",
            "Backup",
            D("12.50"),
            start,
            quantity=D(rnd.randint(1, 9)),
            tax_code="OUTPUT2",
        )
    )
    zero, five = D(0), D(5)
    tickets = count // 3 + 1
    bits = rnd.getrandbits
    for n in range(first_id, first_id + count):
        x = bits(64)
        when = _STARTS[x % len(_STARTS)]
        x //= len(_STARTS)
        ct = _CTS[x % 5]
        x //= 5
        minutes = _MINUTES[x % 10]
        x //= 10
        travel = _TRAVEL[x % 3] if ct == "onsite" else zero
        x //= 3
        entries.append(
            TimeEntry(
                f"E{n:08d}", cid, when, minutes, ct, ticket=f"T{i}-{x % tickets}",
                agent=AGENTS[n % 40], non_billable_minutes=five if n % 17 == 0 else zero,
                travel_minutes=travel, service_line="helpdesk",
            )
        )  # fmt: skip


@dataclass
class _Parts:
    customers: dict[str, Customer] = field(default_factory=dict)
    customer_rates: dict[str, dict[str, tuple[RateRow, ...]]] = field(default_factory=dict)
    contract_rates: dict[str, dict[str, tuple[RateRow, ...]]] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    opening: dict[str, D] = field(default_factory=dict)
    recurring: list[RecurringCharge] = field(default_factory=list)


CALENDAR = Calendar("Europe/London", (parse_hours("08:30-17:30"),) * 5 + ((), ()), Holidays("GB", "ENG"))
CHARGE_TYPES = charge_types()


def generate(entries: int, seed: int = 20261001, customers: Sequence[int] | None = None) -> Book:
    """The book of ``entries`` time entries, or of only the given customers' part of it."""
    counts = entry_counts(entries, seed)
    first = [0] * CUSTOMERS
    for i in range(1, CUSTOMERS):
        first[i] = first[i - 1] + counts[i - 1]
    out = _Parts()
    rows: list[TimeEntry] = []
    for i in range(CUSTOMERS) if customers is None else customers:
        _customer_part(i, counts[i], first[i], seed, out, rows)
    return Book(
        settings=Settings(),
        calendar=CALENDAR,
        tax_rates={"OUTPUT2": D(20), "EXEMPTOUTPUT": D(0)},
        ratebook=Ratebook(CHARGE_TYPES, out.customer_rates, out.contract_rates),
        customers=out.customers,
        contracts=out.contracts,
        opening_balances=out.opening,
        recurring=tuple(out.recurring),
        entries=tuple(rows),
    )


def assign(counts: Sequence[int], workers: int) -> list[list[int]]:
    """Customers per worker, the busiest first onto the least loaded worker (as ``split_by_customer``)."""
    load = [0] * workers
    out: list[list[int]] = [[] for _ in range(workers)]
    for i in sorted(range(len(counts)), key=lambda c: (-counts[c], c)):
        w = min(range(workers), key=lambda j: (load[j], j))
        out[w].append(i)
        load[w] += counts[i] + 1
    return [sorted(c) for c in out]


def chunks(customers: Sequence[int], counts: Sequence[int], size: int) -> list[list[int]]:
    """Consecutive groups of customers holding at most ``size`` entries each (a busier customer alone)."""
    out: list[list[int]] = [[]]
    held = 0
    for i in customers:
        if out[-1] and held + counts[i] > size:
            out.append([])
            held = 0
        out[-1].append(i)
        held += counts[i]
    return out


def fold(result: RatingResult, into: dict[str, object]) -> None:
    """Keep only compact totals of a chunk's result (as a billing run persists per chunk)."""
    digests = into.setdefault("digests", [])
    assert isinstance(digests, list)
    lines = 0
    for inv in result.invoices:
        lines += len(inv.lines)
        sums = (q4(sum(x.quantity for x in inv.lines)), q4(sum(x.unit_amount for x in inv.lines)))
        digests.append(f"{inv.key}:{len(inv.lines)}:{inv.subtotal}:{inv.tax}:{inv.total}:{sums[0]}:{sums[1]}")
    for k, v in result.balances.items():
        digests.append(f"balance:{k}:{v}")
    into["invoices"] = int(str(into.get("invoices", 0))) + len(result.invoices)
    into["lines"] = int(str(into.get("lines", 0))) + lines
    into["total"] = D(str(into.get("total", 0))) + sum((i.total for i in result.invoices), D(0))


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rate_customers(job: tuple[int, int, Sequence[int], int]) -> dict[str, object]:
    """Generate and rate these customers a chunk at a time; return compact totals and timings."""
    entries, seed, customers, chunk = job
    counts = entry_counts(entries, seed)
    # A rating run allocates many small objects that live until it ends: the cyclic collector
    # would walk them again and again for nothing, so it is paused while rating.
    gc.collect()
    gc.freeze()
    gc.disable()
    totals: dict[str, object] = {}
    generating = rating = rating_cpu = folding = 0.0
    for group in chunks(customers, counts, chunk):
        t0 = time.perf_counter()
        book = generate(entries, seed, group)
        t1, c1 = time.perf_counter(), time.process_time()
        result = rate(book, PERIOD)
        t2, c2 = time.perf_counter(), time.process_time()
        fold(result, totals)
        del book, result
        gc.collect()  # the chunk's objects are garbage now, cycles included
        generating += t1 - t0
        rating += t2 - t1
        rating_cpu += c2 - c1
        folding += time.perf_counter() - t2
    gc.enable()
    gc.unfreeze()
    totals.update(
        generate_seconds=generating,
        rate_seconds=rating,
        rate_cpu_seconds=rating_cpu,
        fold_seconds=folding,
        rss_mb=rss_mb(),
        pid=os.getpid(),
    )
    return totals


def run(entries: int, workers: int, chunk: int, seed: int = 20261001) -> dict[str, object]:
    counts = entry_counts(entries, seed)
    jobs = [(entries, seed, part, chunk) for part in assign(counts, max(workers, 1))]
    if workers <= 1:
        parts = [rate_customers(jobs[0])]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(rate_customers, jobs, chunksize=1)
    digests = sorted(d for p in parts for d in p["digests"])  # type: ignore[attr-defined]
    worker_rss = [float(str(p["rss_mb"])) for p in parts]
    main_rss = rss_mb()
    return {
        "invoices": sum(int(str(p["invoices"])) for p in parts),
        "lines": sum(int(str(p["lines"])) for p in parts),
        "total": str(sum((D(str(p["total"])) for p in parts), D(0))),
        "checksum": hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16],
        "rate_seconds": max(float(str(p["rate_seconds"])) for p in parts),
        # processor time spent rating, per worker: less disturbed by other work on the machine
        "rate_cpu_seconds": [round(float(str(p["rate_cpu_seconds"])), 3) for p in parts],
        "fold_seconds": round(max(float(str(p["fold_seconds"])) for p in parts), 3),
        "generate_seconds": max(float(str(p["generate_seconds"])) for p in parts),
        "main_rss_mb": main_rss,
        "worker_rss_mb": worker_rss if workers > 1 else [],
        "peak_rss_max_mb": max([main_rss, *worker_rss]),
        "peak_rss_sum_mb": round(main_rss + (sum(worker_rss) if workers > 1 else 0), 1),
    }


def measure(entries: int, workers: int, chunk: int) -> dict[str, object]:
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    summary = run(entries, workers, chunk)
    wall = time.perf_counter() - t0
    seconds = float(str(summary.pop("rate_seconds")))
    return {
        "entries": entries,
        # rating time of the slowest worker (generating and folding the chunks excluded)
        "seconds": round(seconds, 3),
        "entries_per_second": round(entries / seconds) if seconds else None,
        # everything: starting the workers, generating the book and rating it
        "wall_seconds": round(wall, 3),
        "wall_entries_per_second": round(entries / wall) if wall else None,
        "generate_seconds": round(float(str(summary.pop("generate_seconds"))), 3),
        "peak_rss_mb": summary["peak_rss_sum_mb"],
        **summary,
        "workers": workers,
        "chunk_entries": chunk,
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load_before],  # 1, 5, 15 min
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--workers", type=int, default=2, help="processes rating customers side by side")
    parser.add_argument("--chunk", type=int, default=25_000, help="entries generated and rated at a time")
    parser.add_argument("--repeat", type=int, default=1, help="measure this many times, report the median")
    parser.add_argument("--write", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    runs = [measure(args.entries, args.workers, args.chunk) for _ in range(max(args.repeat, 1))]
    figures = dict(sorted(runs, key=lambda f: float(str(f["seconds"])))[len(runs) // 2])
    if len(runs) > 1:
        # the machine is shared: every run's figures, the median run's in full above
        figures["runs"] = len(runs)
        for name in ("seconds", "wall_seconds", "rate_cpu_seconds", "peak_rss_mb", "load_average_at_start"):
            figures[f"{name}_of_runs"] = [f[name] for f in runs]
    text = json.dumps(figures)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(json.dumps(figures, indent=2) + "\n")
    print(text if args.json else "\n".join(f"{k}: {v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
