"""Charts: valid PNG and SVG, the same bytes for the same figures."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

from revloop.adapters.render import charts

D = Decimal
PNG = b"\x89PNG\r\n\x1a\n"


def draw(directory: Path) -> list[Path]:
    months = ["2026-01", "2026-02"]
    written = charts.profit_per_client(["A", "B"], [D("120.50"), D("-30.25")], "GBP", directory, "Margin")
    written += charts.margin_trend(months, [charts.Series("all", [D("12.5"), None])], directory, "Margin %")
    written += charts.service_line_mix(
        months, {"Support": [D("10"), D("20")], "Projects": [D("5"), D("0")]}, "GBP", directory, "Mix"
    )
    return written


def test_png_and_svg_are_valid_and_stable(tmp_path: Path) -> None:
    first = draw(tmp_path / "a")
    second = draw(tmp_path / "b")
    assert sorted(p.name for p in first) == sorted(
        f"{n}.{f}" for n in ("profit_per_client", "margin_trend", "service_line_mix") for f in ("png", "svg")
    )
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
        if a.suffix == ".png":
            assert a.read_bytes().startswith(PNG)
        else:
            root = ET.fromstring(a.read_bytes())
            assert root.tag.endswith("svg")
            assert b"<dc:date>" not in a.read_bytes()
