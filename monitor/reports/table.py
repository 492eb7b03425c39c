"""The terminal report: a summary panel, then each section worst first in plain columns.

Register values are free text, so they reach the terminal as ``rich.text.Text`` (never as
console markup) with control characters shown as ``\\xNN`` (see :func:`printable`): a
reference must not be able to recolour or clear the reader's terminal. Colour is only for
a terminal and always doubles words that already say the same thing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from monitor.core.config import Config
from monitor.reports.formats import date_words, plural, risk_label, share_words, tags_words
from monitor.reports.words import SECTION_TITLES, failed_words, personal_name, scope_words, status_words
from monitor.rules.obligations import AGE_BANDS, RISK_ORDER, Item, Obligations, Unlocated

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
    # Imported here for startup speed: only the table format needs rich.
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
    practice = obligations.practice
    if practice is not None:  # the practice measures (docs/practice.md): only when on
        total = practice.tally()
        lone = share_words(practice.lone_share(total)) if practice.lone_recorded else "not recorded"
        reviews = len(obligations.overdue_supervisor_reviews) if practice.reviews_recorded else "not recorded"
        overview.add_row(t(f"Lone-visit share (last {practice.policy.lone_visit_lookback})"), t(lone))
        overview.add_row(t("Predictable visits"), t(len(obligations.predictable_visits)))
        overview.add_row(t("Overdue supervisor reviews"), t(reviews))
        overview.add_row(t("Plan intervals long for the risk level"), t(len(obligations.long_plan_intervals)))
        ceiling = practice.policy.caseload_ceiling
        overview.add_row(t(f"Officers over the caseload ceiling ({ceiling})"), t(len(practice.over_ceiling())))
    console.print(Panel(overview, title=Text("Backlog summary"), box=box.ASCII, expand=False))
    console.print()

    person_heads = ["Name", "Date of birth"] if names else []
    if practice is not None:
        person_heads = ["Interval and MAPPA", *person_heads]

    def person(entry: Item | Unlocated) -> list[_Cell]:
        cells = [_Cell(tags_words(entry.tags))] if practice is not None else []
        if not names:
            return cells
        p = entry.personal
        return [*cells, _Cell(printable(personal_name(p))), _Cell(date_words(p.date_of_birth, "") if p else "")]

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
    if obligations.not_in_extract:
        lines += _text_table(
            f"{SECTION_TITLES['not_in_extract']} ({len(obligations.not_in_extract)})",
            ["Ref", "Risk", "Team", "Officer", "Status", "Left out since", "Days"],
            [
                [
                    _Cell(n.ref),
                    _Cell(risk_label(n.risk_level)),
                    _Cell(n.team),
                    _Cell(n.offender_manager),
                    _Cell(n.status),
                    _Cell(date_words(n.absent_since)),
                    _Cell(str(n.days_absent)),
                ]
                for n in obligations.not_in_extract
            ],
            color,
        )
    if obligations.reactive_high_risk:
        lines += _text_table(
            f"{SECTION_TITLES['reactive_high_risk']} ({len(obligations.reactive_high_risk)})",
            ["Ref", "Risk", "Team", "Officer", "Status"],
            [
                [
                    _Cell(r.ref),
                    _Cell(risk_label(r.risk_level)),
                    _Cell(r.team),
                    _Cell(r.offender_manager),
                    _Cell(r.status),
                ]
                for r in obligations.reactive_high_risk
            ],
            color,
        )
    if practice is not None:
        lines += _practice_tables(obligations, color)
    lines.append(f"{ANSI['bold']}{marking}{ANSI['reset']}" if color else marking)
    return buffer.getvalue() + "\n".join(lines) + "\n"


def _practice_tables(obligations: Obligations, color: bool) -> list[str]:
    """The practice measures' lists (docs/practice.md); a list not recorded is said so."""
    practice = obligations.practice
    assert practice is not None
    lines: list[str] = []
    if practice.reviews_recorded:
        reviews = obligations.overdue_supervisor_reviews
        rows = [
            [
                _Cell(status_words(i), "overdue"),
                _Cell(printable(i.ref)),
                _Cell(risk_label(i.risk_level)),
                _Cell(printable(i.team)),
                _Cell(printable(i.offender_manager)),
                _Cell(date_words(i.due_date)),
                _Cell(date_words(i.last_done)),
            ]
            for i in reviews
        ]
        heads = ["Status", "Ref", "Risk", "Team", "Officer", "Due", "Last reviewed"]
        lines += _text_table(f"Overdue supervisor reviews ({len(rows)})", heads, rows, color)
    else:
        lines += ["Overdue supervisor reviews: not recorded (no supervisor_reviewed_on column)", ""]
    rows = [
        [
            _Cell(printable(p.ref)),
            _Cell(risk_label(p.risk_level)),
            _Cell(printable(p.offender_manager)),
            _Cell(p.pattern),
        ]
        for p in obligations.predictable_visits
    ]
    lines += _text_table(f"Predictable visits ({len(rows)})", ["Ref", "Risk", "Officer", "Pattern"], rows, color)
    if practice.lone_recorded:
        rows = [
            [
                _Cell(printable(v.ref)),
                _Cell(risk_label(v.risk_level)),
                _Cell(printable(v.team)),
                _Cell(date_words(v.visit_date)),
                _Cell(printable(v.officer)),
            ]
            for v in obligations.lone_visits
        ]
        title = f"Lone visits, last {practice.policy.lone_visit_lookback} ({len(rows)})"
        lines += _text_table(title, ["Ref", "Risk", "Team", "Visited", "By"], rows, color)
    else:
        lines += ["Lone visits: not recorded (no second_officer column)", ""]
    if obligations.long_plan_intervals:
        rows = [
            [
                _Cell(printable(x.ref)),
                _Cell(risk_label(x.risk_level)),
                _Cell(printable(x.offender_manager)),
                _Cell(x.status),
                _Cell(x.interval),
                _Cell(x.default_interval),
            ]
            for x in obligations.long_plan_intervals
        ]
        heads = ["Ref", "Risk", "Officer", "Status", "Plan", "Default"]
        lines += _text_table(f"Plan intervals long for the risk level ({len(rows)})", heads, rows, color)
    return lines
