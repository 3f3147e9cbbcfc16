"""Rating a book split by customer and joining the parts gives exactly the whole-book result."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from revloop.domain import engine
from revloop.domain.engine import join_results, rate, split_by_customer

BENCH = Path(__file__).resolve().parents[3] / "bench" / "rate.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_rate", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_rate"] = module
    spec.loader.exec_module(module)
    return module


def test_split_and_join_agree_with_whole_book_to_the_cent() -> None:
    bench = load_bench()
    book = bench.generate(3000, seed=7)
    whole = engine._rate_whole(book, bench.PERIOD)
    parts = split_by_customer(book, 3)
    assert sum(len(p.entries) for p in parts) == len(book.entries)
    joined = join_results(bench.PERIOD, (engine._rate_whole(p, bench.PERIOD) for p in parts))
    assert joined == whole
    assert len(whole.invoices) > 500 and whole.balances


def test_large_books_are_rated_in_customer_groups_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bench = load_bench()
    book = bench.generate(2000, seed=11)
    whole = engine._rate_whole(book, bench.PERIOD)
    monkeypatch.setattr(engine, "CHUNK_ENTRIES", 300)
    assert rate(book, bench.PERIOD) == whole
