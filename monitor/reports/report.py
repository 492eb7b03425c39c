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
would run as a formula are neutralised (see :func:`neutralise_cell`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import Template

from monitor.core.config import Config
from monitor.reports.render import case_link, date_words, html_environment, plural, risk_label
from monitor.rules.obligations import AGE_BANDS, RISK_ORDER, Item, Obligations, Unlocated, age_band

FORMATS: tuple[str, ...] = ("table", "json", "csv", "html")

#: CSV ``section`` values, in report order, with the Obligations attribute each comes from.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("overdue_visit", "overdue_visits"),
    ("due_soon", "due_soon"),
    ("overdue_risk_review", "overdue_risk_reviews"),
    ("overdue_notification", "overdue_notifications"),
    ("whereabouts_unknown", "whereabouts_unknown"),
)

CSV_COLUMNS: tuple[str, ...] = (
    "section",
    "ref",
    "risk_level",
    "team",
    "offender_manager",
    "due_date",
    "days_overdue",
    "last_done",
    "failed_attempts",
    # Extensions (README): visits: warrant_flag, due_in_days (due soon only);
    # notifications: no_fixed_abode; whereabouts unknown: missing_since, days_missing.
    "warrant_flag",
    "due_in_days",
    "no_fixed_abode",
    "missing_since",
    "days_missing",
)
CSV_PERSONAL_COLUMNS: tuple[str, ...] = ("surname", "forenames", "date_of_birth")

#: A cell starting with one of these is run as a formula by Excel / LibreOffice / Sheets.
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

SECTION_TITLES: dict[str, str] = {
    "overdue_visits": "Overdue home visits",
    "due_soon": "Home visits due soon",
    "overdue_risk_reviews": "Overdue risk reviews",
    "overdue_notifications": "Overdue periodic notifications",
    "whereabouts_unknown": "Whereabouts unknown",
}


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
    if fmt == "json":
        return render_json(obligations)
    if fmt == "csv":
        return render_csv(obligations)
    if fmt == "html":
        return render_html(obligations, config, trend=trend)
    if fmt == "table":
        return render_table(obligations, config, color=color, width=width)
    raise ValueError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")


# ---------------------------------------------------------------------------- words


def status_words(item: Item) -> str:
    """How overdue, in words: "OVERDUE 12 days", "Due today", "Due in 3 days"."""
    if item.days_overdue > 0:
        return f"OVERDUE {plural(item.days_overdue, 'day')}"
    if item.days_overdue == 0:
        return "Due today"
    return f"Due in {plural(-item.days_overdue, 'day')}"


def failed_words(item: Item, flag: int) -> str:
    """Failed attempts since the last completed visit; flagged ones say so in words."""
    if item.failed_attempts >= flag:
        return f"{flag}+ failed attempts ({item.failed_attempts})"
    if item.failed_attempts:
        return plural(item.failed_attempts, "failed attempt")
    return "None"


def scope_words(obligations: Obligations) -> str:
    parts = []
    if obligations.team is not None:
        parts.append(f"team {obligations.team}")
    if obligations.officer is not None:
        parts.append(f"officer {obligations.officer}")
    return ", ".join(parts) if parts else "whole force"


def personal_name(p: Any) -> str:
    if p is None:
        return ""
    return ", ".join(x for x in (p.surname, p.forenames) if x)


# ---------------------------------------------------------------------------- JSON


def render_json(obligations: Obligations) -> str:
    """Exactly the JSON report contract (``Obligations.to_json``), pretty-printed.

    Each obligation is one line (compact) inside indented lists, and the summary is fully
    indented: readable, ``grep``-able, and fast, because the C encoder does the items (a
    force-wide report holds tens of thousands of them).
    """
    data = obligations.to_json()
    parts = []
    for key, value in data.items():
        if isinstance(value, list):
            if value:
                inner = ",\n".join("    " + json.dumps(entry, ensure_ascii=False) for entry in value)
                rendered = "[\n" + inner + "\n  ]"
            else:
                rendered = "[]"
        else:
            rendered = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {rendered}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# ---------------------------------------------------------------------------- CSV


def neutralise_cell(value: str) -> str:
    """Stop a text cell being run as a spreadsheet formula (CSV injection).

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
    leading single quote, which spreadsheets show as text. Only text cells pass through
    here: numbers (``days_overdue`` may be negative for "due soon") are written as
    numbers and stay numbers.
    """
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return neutralise_cell(str(value))


def csv_rows(obligations: Obligations) -> Iterable[dict[str, Any]]:
    """One dict per obligation, section by section, each list in contract order."""
    flag = obligations.failed_attempts_flag
    for section, attr in SECTIONS:
        for entry in getattr(obligations, attr):
            row: dict[str, Any] = dict.fromkeys(CSV_COLUMNS)
            row.update(
                section=section,
                ref=entry.ref,
                risk_level=entry.risk_level,
                team=entry.team,
                offender_manager=entry.offender_manager,
            )
            if isinstance(entry, Unlocated):
                row.update(
                    last_done=entry.last_visit,
                    missing_since=entry.missing_since,
                    days_missing=entry.days_missing,
                )
            else:
                row.update(due_date=entry.due_date, days_overdue=entry.days_overdue, last_done=entry.last_done)
                if entry.kind == "visit":
                    row.update(failed_attempts=entry.failed_attempts, warrant_flag=entry.failed_attempts >= flag)
                    if entry.days_overdue <= 0:
                        row["due_in_days"] = -entry.days_overdue
                elif entry.kind == "notification":
                    row["no_fixed_abode"] = entry.no_fixed_abode
            if obligations.include_names:
                p = entry.personal
                row.update(
                    surname=p.surname if p else None,
                    forenames=p.forenames if p else None,
                    date_of_birth=p.date_of_birth if p else None,
                )
            yield row


def render_csv(obligations: Obligations) -> str:
    """One row per obligation with a ``section`` column first (see CSV_COLUMNS), CRLF line ends."""
    columns = list(CSV_COLUMNS) + (list(CSV_PERSONAL_COLUMNS) if obligations.include_names else [])
    out = io.StringIO()
    # RFC 4180 line ends. With "\r\n" as terminator the csv module also quotes any cell that
    # contains a bare CR or LF (with "\n" alone, a CR inside a cell would go out unquoted).
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in csv_rows(obligations):
        writer.writerow([_csv_value(row.get(c)) for c in columns])
    return out.getvalue()


# ---------------------------------------------------------------------------- shared figures


@dataclass(frozen=True)
class GroupRow:
    """One team's or officer's line in the breakdown tables."""

    key: str
    caseload: int | None
    overdue: int
    bands: dict[str, int]
    most_overdue_days: int | None
    most_overdue_ref: str | None
    due_soon: int
    failed_flags: int


def breakdown(obligations: Obligations, by: str) -> list[GroupRow]:
    """Overdue visits per team (``by="team"``) or officer (``by="offender_manager"``).

    Worst first: most overdue visits, then the greatest days overdue, then the key.
    Caseload comes from the summary (teams) or the scan's ``caseload_by_officer`` extra.
    """
    if by == "team":
        caseloads: dict[str, int] = dict(obligations.summary.caseload_by_team)
    else:
        caseloads = dict(obligations.extra.get("caseload_by_officer", {}))
    flag = obligations.failed_attempts_flag
    overdue: dict[str, list[Item]] = defaultdict(list)
    soon: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    for item in obligations.overdue_visits:
        overdue[getattr(item, by)].append(item)
    for item in obligations.due_soon:
        soon[getattr(item, by)] += 1
    for item in (*obligations.overdue_visits, *obligations.due_soon):
        if item.failed_attempts >= flag:
            flags[getattr(item, by)] += 1
    keys = set(caseloads) | set(overdue) | set(soon)
    rows = []
    for key in keys:
        items = overdue.get(key, [])
        bands = dict.fromkeys(AGE_BANDS, 0)
        for item in items:
            bands[age_band(item.days_overdue)] += 1
        worst = min(items, key=lambda i: (-i.days_overdue, RISK_ORDER[i.risk_level], i.ref), default=None)
        rows.append(
            GroupRow(
                key=key,
                caseload=caseloads.get(key),
                overdue=len(items),
                bands=bands,
                most_overdue_days=worst.days_overdue if worst else None,
                most_overdue_ref=worst.ref if worst else None,
                due_soon=soon.get(key, 0),
                failed_flags=flags.get(key, 0),
            )
        )
    rows.sort(key=lambda r: (-r.overdue, -(r.most_overdue_days or 0), r.key))
    return rows


# ---------------------------------------------------------------------------- table (rich)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

ANSI = {"overdue": "\x1b[1;31m", "soon": "\x1b[33m", "bold": "\x1b[1m", "reset": "\x1b[0m"}


def printable(value: object) -> str:
    """A register value made safe for a terminal: control characters shown as ``\\xNN``.

    A reference containing an escape sequence must not be able to recolour, retitle or
    clear the reader's terminal, nor break a row over two lines.
    """
    text = "" if value is None else str(value)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@dataclass(frozen=True)
class _Cell:
    text: str
    style: str = ""


def _text_table(title: str, headers: list[str], rows: list[list[_Cell]], color: bool) -> list[str]:
    """A plain fixed-width table, one line per row (fast for tens of thousands of rows).

    Columns are as wide as their longest value: nothing is cut, and each row stays on one
    line so ``grep`` and ``less -S`` work on it.
    """
    if not rows:
        return [f"{title}: none", ""]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            if len(cell.text) > widths[i]:
                widths[i] = len(cell.text)
    out = [title, "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        parts = []
        for cell, w in zip(row, widths, strict=True):
            padded = cell.text.ljust(w)
            if color and cell.style:
                padded = f"{ANSI[cell.style]}{cell.text}{ANSI['reset']}{' ' * (w - len(cell.text))}"
            parts.append(padded)
        out.append("  ".join(parts).rstrip())
    out.append("")
    return out


def render_table(obligations: Obligations, config: Config, *, color: bool = False, width: int | None = None) -> str:
    """A terminal report: summary panel (rich), then each section worst first (plain columns).

    The sections are plain fixed-width text rather than rich tables because a force-wide
    report can hold tens of thousands of rows, which rich lays out far too slowly.
    """
    from rich import box
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width or 140,
        force_terminal=color,
        color_system="standard" if color else None,
        no_color=not color,
        markup=False,
        emoji=False,
        highlight=False,
    )
    sm = obligations.summary
    flag = obligations.failed_attempts_flag
    names = obligations.include_names
    marking = printable(config.mail.marking)

    def t(value: object, style: str = "") -> Text:
        # Register data is free text: never console markup, never control characters.
        return Text(printable(value), style=style)

    console.print(Text(marking, style="bold"))
    console.print(t(f"Visit monitor report as of {date_words(obligations.as_of)} ({scope_words(obligations)})", "bold"))
    overview = Table.grid(padding=(0, 2))
    overview.add_column(style="bold")
    overview.add_column()
    overview.add_row(t("Active caseload"), t(sm.active_caseload))
    overview.add_row(t("Overdue home visits (backlog)"), t(sm.overdue_visits, "bold red" if sm.overdue_visits else ""))
    overview.add_row(
        t("Risk mix of backlog"),
        t(", ".join(f"{risk_label(r)} {sm.by_risk.get(r, 0)}" for r in RISK_ORDER)),
    )
    overview.add_row(
        t("How overdue"),
        t(", ".join(f"{band} days: {sm.by_age.get(band, 0)}" for band in AGE_BANDS)),
    )
    if sm.most_overdue_days is not None:
        most = f"{sm.most_overdue_ref}: OVERDUE {plural(sm.most_overdue_days, 'day')}"
    else:
        most = "No visit is overdue"
    overview.add_row(t("Most overdue visit"), t(most))
    overview.add_row(t(f"Due in the next {config.policy.due_soon_days} days"), t(sm.due_soon))
    overview.add_row(t(f"{flag}+ failed attempts"), t(sm.failed_attempt_flags))
    overview.add_row(t("Overdue risk reviews"), t(sm.overdue_risk_reviews))
    overview.add_row(t("Overdue notifications"), t(sm.overdue_notifications))
    overview.add_row(t("Whereabouts unknown"), t(sm.whereabouts_unknown))
    console.print(Panel(overview, title=Text("Backlog summary"), box=box.ASCII, expand=False))
    console.print()

    person_heads = ["Name", "Date of birth"] if names else []

    def person(entry: Item | Unlocated) -> list[_Cell]:
        if not names:
            return []
        p = entry.personal
        return [_Cell(printable(personal_name(p))), _Cell(date_words(p.date_of_birth, "") if p else "")]

    def common(item: Item | Unlocated) -> list[_Cell]:
        return [
            _Cell(printable(item.ref)),
            _Cell(risk_label(item.risk_level)),
            _Cell(printable(item.team)),
            _Cell(printable(item.offender_manager)),
        ]

    def status(item: Item) -> _Cell:
        return _Cell(status_words(item), "overdue" if item.days_overdue > 0 else "soon")

    lines: list[str] = []
    visit_heads = ["Status", "Ref", "Risk", "Team", "Officer", "Due", "Last visit", "Failed attempts"]
    for key in ("overdue_visits", "due_soon"):
        items: list[Item] = getattr(obligations, key)
        rows = [
            [
                status(i),
                *common(i),
                _Cell(date_words(i.due_date)),
                _Cell(date_words(i.last_done)),
                _Cell(failed_words(i, flag), "bold" if i.failed_attempts >= flag else ""),
                *person(i),
            ]
            for i in items
        ]
        lines += _text_table(f"{SECTION_TITLES[key]} ({len(items)})", visit_heads + person_heads, rows, color)

    rows = [
        [status(i), *common(i), _Cell(date_words(i.due_date)), _Cell(date_words(i.last_done)), *person(i)]
        for i in obligations.overdue_risk_reviews
    ]
    lines += _text_table(
        f"{SECTION_TITLES['overdue_risk_reviews']} ({len(rows)})",
        ["Status", "Ref", "Risk", "Team", "Officer", "Due", "Last assessed", *person_heads],
        rows,
        color,
    )
    rows = [
        [
            status(i),
            *common(i),
            _Cell(date_words(i.due_date)),
            _Cell(date_words(i.last_done)),
            _Cell("No fixed abode (weekly)" if i.no_fixed_abode else ""),
            *person(i),
        ]
        for i in obligations.overdue_notifications
    ]
    lines += _text_table(
        f"{SECTION_TITLES['overdue_notifications']} ({len(rows)})",
        ["Status", "Ref", "Risk", "Team", "Officer", "Due", "Last notified", "Notes", *person_heads],
        rows,
        color,
    )
    rows = [
        [
            _Cell(f"MISSING {plural(u.days_missing, 'day')}", "bold"),
            *common(u),
            _Cell(date_words(u.missing_since)),
            _Cell(date_words(u.last_visit)),
            *person(u),
        ]
        for u in obligations.whereabouts_unknown
    ]
    lines += _text_table(
        f"{SECTION_TITLES['whereabouts_unknown']} ({len(rows)})",
        ["Status", "Ref", "Risk", "Team", "Officer", "Missing since", "Last visit", *person_heads],
        rows,
        color,
    )
    lines.append(f"{ANSI['bold']}{marking}{ANSI['reset']}" if color else marking)
    return buffer.getvalue() + "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- HTML


@lru_cache(maxsize=1)
def _template(name: str) -> Template:
    """From the shared HTML environment (render.py: autoescape on every template, StrictUndefined)."""
    return html_environment().get_template(name)


def trend_chart(trend: Sequence[tuple[date, int]], *, width: int = 640, height: int = 160) -> dict[str, Any] | None:
    """Geometry and figures for the inline SVG backlog trend (None when there is no data)."""
    points = sorted(trend)
    if not points:
        return None
    pad_left, pad_right, pad_top, pad_bottom = 44, 12, 12, 28
    top = max(max(v for _, v in points), 1)
    inner_w = width - pad_left - pad_right
    inner_h = height - pad_top - pad_bottom
    n = len(points)

    def xy(i: int, v: int) -> tuple[float, float]:
        x = pad_left + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
        y = pad_top + inner_h - inner_h * v / top
        return round(x, 1), round(y, 1)

    coords = [xy(i, v) for i, (_, v) in enumerate(points)]
    first_day, first = points[0]
    last_day, last = points[-1]
    peak_day, peak = max(points, key=lambda p: (p[1], p[0]))
    change = last - first
    return {
        "width": width,
        "height": height,
        "polyline": " ".join(f"{x},{y}" for x, y in coords),
        "dots": coords if n <= 62 else [],
        "x_left": pad_left,
        "x_right": width - pad_right,
        "y_top": pad_top,
        "y_bottom": pad_top + inner_h,
        "top": top,
        "first_day": first_day,
        "first": first,
        "last_day": last_day,
        "last": last,
        "peak_day": peak_day,
        "peak": peak,
        "change": change,
        "change_words": (f"up {change}" if change > 0 else (f"down {-change}" if change < 0 else "no change")),
        "days": n,
    }


def render_html(
    obligations: Obligations,
    config: Config,
    *,
    trend: Sequence[tuple[date, int]] | None = None,
) -> str:
    """One self-contained printable HTML file (inline CSS, no remote resources)."""
    sm = obligations.summary
    flag = obligations.failed_attempts_flag
    risk_rows = [
        {
            "risk": r,
            "label": risk_label(r),
            "bands": [sm.risk_by_age.get(r, {}).get(b, 0) for b in AGE_BANDS],
            "total": sm.by_risk.get(r, 0),
            "caseload": sm.caseload_by_risk.get(r, 0),
        }
        for r in RISK_ORDER
    ]
    context: dict[str, Any] = {
        "marking": config.mail.marking,
        "ob": obligations,
        "summary": sm,
        "scope": scope_words(obligations),
        "as_of": obligations.as_of,
        "bands": AGE_BANDS,
        "risk_rows": risk_rows,
        "band_totals": [sm.by_age.get(b, 0) for b in AGE_BANDS],
        "teams": breakdown(obligations, "team"),
        "officers": breakdown(obligations, "offender_manager"),
        "has_officer_caseload": "caseload_by_officer" in obligations.extra,
        "flag": flag,
        "include_names": obligations.include_names,
        "sections": SECTION_TITLES,
        "status_words": status_words,
        "failed_words": lambda item: failed_words(item, flag),
        "case_link": lambda ref: case_link(config.mail.case_url, ref),
        "personal_name": personal_name,
        "trend": trend_chart(trend) if trend else None,
    }
    return _template("report.html").render(**context)
