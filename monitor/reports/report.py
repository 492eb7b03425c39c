"""Render scan results for people and scripts: table, JSON, CSV or one printable HTML file.

Every format leads with what HMICFRS asked forces to watch: the backlog's size, its risk
mix and how overdue each case is, worst first. Status is always in words ("OVERDUE 12
days", "2+ failed attempts"), never colour alone, so a report printed in black and white
or read by a screen reader says the same thing.

Personal data (names, dates of birth) appears only when ``policy.include_names`` is on;
the scan does not even load it otherwise, and every renderer checks ``include_names``
again before showing a column.

Safety of free text: case references, team codes and officer ids come from the register
and are free text. HTML is rendered by Jinja2 with autoescaping on; the table renderer
passes data as ``rich.text.Text`` (never as console markup); CSV cells that a spreadsheet
would run as a formula are neutralised (see :func:`monitor.reports.export.neutralise_cell`).

This module only picks the format; each format is its own module (``table``, ``export``
for JSON and CSV, ``html``), and the wording they share is in ``words``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.core.config import Config
    from monitor.rules.obligations import Obligations

FORMATS: tuple[str, ...] = ("table", "json", "csv", "html")


def render_report(
    obligations: Obligations,
    config: Config,
    fmt: str,
    *,
    trend: Sequence[tuple[date, int]] | None = None,
    color: bool = False,
    width: int | None = None,
) -> str:
    """Render ``obligations`` as ``fmt`` (table, json, csv or html).

    ``trend`` (overdue visits per day, oldest first) adds a small chart to the HTML
    report. ``color`` and ``width`` apply to the table format only: colour is for a
    terminal; files get plain text.
    """
    # Each format's module is imported only when asked for, for startup speed: JSON for a
    # script must not pay for Jinja2 (html) or rich (table).
    if fmt in ("json", "csv"):
        from monitor.reports.export import render_csv, render_json

        return render_json(obligations) if fmt == "json" else render_csv(obligations)
    if fmt == "html":
        from monitor.reports.html import render_html

        return render_html(obligations, config, trend=trend)
    if fmt == "table":
        from monitor.reports.table import render_table

        return render_table(obligations, config, color=color, width=width)
    raise ValueError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")
