"""The margin per client chart shows every client up to a few dozen, else the two ends of the list."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from revloop.services.profit import export


def test_the_ends_of_a_long_list() -> None:
    rows = list(range(45))
    assert export.ends(rows, 30) == [*range(15), *range(30, 45)]
    assert export.ends(rows[:30], 30) == rows[:30]


def test_the_title_says_which_clients_are_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    titles: list[str] = []
    monkeypatch.setattr(export.charts, "profit_per_client", lambda *args, **kw: titles.append(args[4]) or [])
    monkeypatch.setattr(export.charts, "margin_trend", lambda *args, **kw: [])
    monkeypatch.setattr(export.charts, "service_line_mix", lambda *args, **kw: [])
    data = export.ChartData(
        [f"c{n}" for n in range(30)], [Decimal(n) for n in range(30)], "GBP", ["2026-10"], [None], {}, 1000
    )
    export.draw(data, tmp_path)
    assert titles == ["Margin: the 15 least and 15 most profitable of 1000 clients, 2026-10 to 2026-10"]
