"""Inline SVG bar charts (no JavaScript), each drawn beside a table that carries the same figures.

The chart is a picture for sighted readers (``role="img"`` with a text alternative); the
table next to it is the accessible version and the one that prints reliably. Bars are
labelled with their values in text, so colour never carries meaning on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: float
    width: float
    css: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: list[Bar]
    summary: str


def bar_chart(rows: Sequence[tuple[str, int, str]], *, width: int = 420, label_width: int = 110) -> BarChart:
    """Horizontal bars for (label, value, css class) rows, scaled to the largest value."""
    bar_height, gap = 22, 8
    top = max((v for _, v, _ in rows), default=0) or 1
    room = width - label_width - 48
    bars = [
        Bar(label=label, value=value, y=i * (bar_height + gap), width=round(room * value / top, 1), css=css)
        for i, (label, value, css) in enumerate(rows)
    ]
    summary = ", ".join(f"{label} {value}" for label, value, _ in rows)
    height = len(rows) * (bar_height + gap) - gap if rows else bar_height
    return BarChart(
        width=width, height=height, label_width=label_width, bar_height=bar_height, bars=bars, summary=summary
    )
