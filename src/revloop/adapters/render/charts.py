"""Profit charts as PNG and SVG (matplotlib, Agg backend): profit per client (bar), margin trend (line),
service line mix (stacked bar).

Deterministic: the same figures give the same bytes. The SVG's ids come from a fixed hash salt, its
metadata carries no date, and the PNG carries no software or date stamp. Amounts arrive as
``Decimal`` and become floats only here, at the plotting boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SALT = "revloop"
FORMATS = ("png", "svg")
STYLE: Any = {
    "svg.hashsalt": SALT,
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
PALETTE = ("#2f6690", "#3a7d44", "#d9a03f", "#9e2a2b", "#6c4f77", "#4a7c8c", "#b5651d", "#7a7a7a")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Decimal | None]


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, imported when a chart is first drawn (it takes a
    second, which every other command would otherwise pay at start)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _float(value: Decimal | None) -> float:
    return float(value) if value is not None else float("nan")


def _save(fig: Figure, directory: Path, name: str, formats: Sequence[str] = FORMATS) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = directory / f"{name}.{fmt}"
        metadata: dict[str, str | None] = (
            {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
        )
        fig.savefig(path, format=fmt, metadata=metadata, dpi=100)
        written.append(path)
    _pyplot().close(fig)
    return written


def profit_per_client(
    labels: Sequence[str],
    profits: Sequence[Decimal],
    currency: str,
    directory: Path,
    title: str,
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """A horizontal bar per client: its margin (losses in red)."""
    plt = _pyplot()
    with plt.rc_context(STYLE):
        height = max(2.5, 0.35 * len(labels) + 1.2)
        fig, ax = plt.subplots(figsize=(8, height))
        values = [_float(p) for p in profits]
        colours = [PALETTE[3] if v < 0 else PALETTE[1] for v in values]
        positions = list(range(len(labels)))
        ax.barh(positions, values, color=colours)
        ax.set_yticks(positions, list(labels))
        ax.invert_yaxis()
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_xlabel(f"margin ({currency})")
        ax.set_title(title)
        fig.tight_layout()
        return _save(fig, directory, "profit_per_client", formats)


def margin_trend(
    months: Sequence[str],
    series: Sequence[Series],
    directory: Path,
    title: str,
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Margin % per month, one line per series (the whole business, or each client)."""
    plt = _pyplot()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 4))
        for n, s in enumerate(series):
            ax.plot(
                list(months),
                [_float(v) for v in s.values],
                marker="o",
                label=s.label,
                color=PALETTE[n % len(PALETTE)],
            )
        ax.axhline(0, color="#333333", linewidth=0.8)
        ax.set_ylabel("margin %")
        ax.set_title(title)
        ax.tick_params(axis="x", labelrotation=45)
        if len(series) > 1:
            ax.legend(loc="best", fontsize=7)
        fig.tight_layout()
        return _save(fig, directory, "margin_trend", formats)


def service_line_mix(
    months: Sequence[str],
    revenue_by_line: Mapping[str, Sequence[Decimal]],
    currency: str,
    directory: Path,
    title: str,
    ylabel: str | None = None,
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Revenue per month stacked by service line (or another figure, named by ``ylabel``)."""
    plt = _pyplot()
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8, 4))
        bottoms = [0.0] * len(months)
        positions = list(range(len(months)))
        for n, (line, values) in enumerate(sorted(revenue_by_line.items())):
            heights = [_float(v) for v in values]
            ax.bar(positions, heights, bottom=bottoms, label=line, color=PALETTE[n % len(PALETTE)])
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        ax.set_xticks(positions, list(months), rotation=45)
        ax.set_ylabel(ylabel or f"revenue ({currency})")
        ax.set_title(title)
        ax.legend(loc="best", fontsize=7)
        fig.tight_layout()
        return _save(fig, directory, "service_line_mix", formats)
