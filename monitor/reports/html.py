"""The printable HTML report: one self-contained file (inline CSS, no remote resources).

Rendered by Jinja2 with autoescaping on (the shared environment in ``render``), because
case references, team codes and officer ids are free text from the register. Besides the
sections it holds the per-team and per-officer breakdowns and, when snapshots exist, a
small inline SVG trend of the backlog.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import Template

from monitor.core.config import Config
from monitor.reports.formats import case_link, risk_label
from monitor.reports.render import html_environment
from monitor.reports.words import SECTION_TITLES, failed_words, personal_name, scope_words, status_words
from monitor.rules.obligations import AGE_BANDS, RISK_ORDER, Item, Obligations
from monitor.rules.tallies import age_band


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
