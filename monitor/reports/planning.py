"""The week's plan and the backlog forecast as a table, JSON, CSV or one printable HTML file.

The engine (:mod:`monitor.planning`) hands over typed results with ``to_json`` and rows; this
module only lays them out, as the backlog report's formats do: register values reach a
terminal through :func:`monitor.reports.table.printable`, a CSV cell that a spreadsheet
would run as a formula is neutralised, HTML is rendered with autoescaping and carries the
protective marking. Every format says "advice only: a person decides".
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from monitor.planning.words import ADVICE, RISK_WORDS, date_words, plural
from monitor.reports.export import neutralise_cell
from monitor.reports.table import printable

if TYPE_CHECKING:
    from monitor.core.config import Config
    from monitor.planning.forecast_results import ForecastResult
    from monitor.planning.plan_results import Plan

FORMATS: tuple[str, ...] = ("table", "json", "csv", "html")
PLAN_COLUMNS = (
    "team",
    "officer_id",
    "plan",
    "ref",
    "risk_level",
    "due_date",
    "days_overdue",
    "interval",
    "interval_source",
    "reason",
    "suggested_to",
)
FORECAST_COLUMNS = (
    "scope",
    "week_start",
    "on",
    "overdue",
    "very_high",
    "high",
    "medium",
    "low",
    "due",
    "capacity",
    "attempted",
    "completed",
    "fits",
    "returning",
)
SOURCE_WORDS = {
    "register": "stated in the register",
    "observed": "observed pace",
    "default": "default",
    "inactive": "inactive",
}


def render_plan(plan: Plan, config: Config, fmt: str) -> str:
    """``plan`` as ``fmt`` (table, json, csv or html)."""
    if fmt == "json":
        return _json(plan.to_json())
    if fmt == "csv":
        return _csv(PLAN_COLUMNS, plan.rows())
    if fmt == "html":
        return _html("plan.html", config, plan=plan, summary=plan.summary(), words=_plan_words(plan))
    if fmt == "table":
        return _plan_table(plan)
    raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")


def render_forecast(result: ForecastResult, config: Config, fmt: str) -> str:
    """``result`` as ``fmt`` (table, json, csv or html)."""
    if fmt == "json":
        return _json(result.to_json())
    if fmt == "csv":
        return _csv(FORECAST_COLUMNS, [{"scope": result.scope, **row} for row in result.rows()])
    if fmt == "html":
        from monitor.reports.html import trend_chart

        rows = result.rows()
        chart = trend_chart([(row["week_start"], row["overdue"]) for row in rows])
        return _html("forecast.html", config, result=result, rows=rows, chart=chart, words=result.words())
    if fmt == "table":
        return _forecast_table(result)
    raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")


def _json(value: dict[str, Any]) -> str:
    """One JSON document: one line per top-level key, each value compact (a national plan
    holds 10,000 visits: the C encoder writes them, where indenting runs the Python one)."""
    parts = [f"  {json.dumps(key)}: {json.dumps(item, ensure_ascii=False)}" for key, item in value.items()]
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return neutralise_cell(str(value))


def _csv(columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _html(template: str, config: Config, **context: Any) -> str:
    from monitor.reports.render import html_environment

    return (
        html_environment()
        .get_template(template)
        .render(
            marking=config.mail.marking,
            advice=ADVICE,
            risk_words=RISK_WORDS,
            source_words=SOURCE_WORDS,
            date_words=date_words,
            **context,
        )
    )


def _plan_words(plan: Plan) -> list[str]:
    s = plan.summary()
    lines = [
        f"Week of {date_words(plan.week_start)} to {date_words(plan.week_end)} (as of {date_words(plan.as_of)}): "
        f"{plural(s['planned'], 'visit')} planned for {plural(s['officers'], 'officer')} "
        f"with room for {s['capacity']}; {s['did_not_fit']} did not fit."
    ]
    if s["reallocations"]:
        lines.append(
            f"{plural(s['reallocations'], 'case')} could move to a colleague with room in the same team; "
            f"{s['left_over']} would still not fit."
        )
    return lines


def _table(headers: Sequence[str], rows: list[list[str]]) -> list[str]:
    """A plain fixed-width table (register values made printable by the caller)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out.extend("  ".join(t.ljust(w) for t, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    return out


def _plan_table(plan: Plan) -> str:
    out = [f"Plan for {printable(plan.scope)}", *_plan_words(plan), ""]
    out += _table(
        ["Team", "Officer", "Capacity", "Source", "Unavailable", "Must do", "Planned", "Did not fit"],
        [
            [
                printable(r["team"]),
                printable(r["officer_id"]),
                str(r["capacity"]),
                SOURCE_WORDS[r["capacity_source"]],
                f"{r['unavailable']:.0%}" if r["unavailable"] else "",
                str(r["must_do"]),
                str(r["planned"]),
                str(r["did_not_fit"]),
            ]
            for r in plan.officer_rows()
        ],
    )
    out.append("")
    rows = plan.rows()
    if rows:
        out += _table(
            ["Officer", "Plan", "Ref", "Reason", "Suggested to"],
            [
                [
                    printable(r["officer_id"]),
                    r["plan"],
                    printable(r["ref"]),
                    printable(r["reason"]),
                    printable(r["suggested_to"]),
                ]
                for r in rows
            ],
        )
    else:
        out.append("No home visit is overdue or due this week.")
    if plan.reallocations:
        out += ["", "Reallocation suggestions (the supervisor decides):"]
        out += [
            f"  {printable(r.ref)}: {printable(r.from_officer)} -> {printable(r.to_officer)} ({printable(r.reason)})"
            for r in plan.reallocations
        ]
    out += ["", ADVICE, ""]
    return "\n".join(out)


def _forecast_table(result: ForecastResult) -> str:
    j = result.to_json()
    out = [
        f"Forecast for {printable(result.scope)} as of {date_words(result.as_of)}",
        *result.words(),
        "",
        f"Capacity {j['capacity_per_week']} home visits a week "
        f"({', '.join(f'{n} {SOURCE_WORDS.get(s, s)}' for s, n in j['capacity_sources'].items()) or 'no officers'}); "
        f"success rate {j['success_rate']:.0%}; {j['due_per_week']} visits fall due a week; "
        f"growth {j['growth_per_year']:.1%} a year "
        f"({'configured' if j['growth_source'] == 'config' else 'the register'}).",
        "",
    ]
    out += _table(
        [
            "Week of",
            "Overdue",
            "Very high",
            "High",
            "Medium",
            "Low",
            "Due",
            "Capacity",
            "Completed",
            "Fits",
            "Returning",
        ],
        [
            [
                date_words(r["week_start"]),
                str(r["overdue"]),
                str(r["very_high"]),
                str(r["high"]),
                str(r["medium"]),
                str(r["low"]),
                f"{r['due']:.1f}",
                f"{r['capacity']:.1f}",
                f"{r['completed']:.1f}",
                "yes" if r["fits"] else "no",
                str(r["returning"]),
            ]
            for r in result.rows()
        ],
    )
    if result.team is None and len(result.teams) > 1:
        out += [""]
        out += _table(
            ["Team", "Overdue", "Capacity/week", "Clears w/c", "Extra/week to clear by"],
            [
                [
                    printable(t["team"]),
                    str(t["overdue"]),
                    f"{t['capacity_per_week']:.1f}",
                    t["clears_on"] or "not at current capacity",
                    "" if t["extra_per_week_to_clear_by"] is None else str(t["extra_per_week_to_clear_by"]),
                ]
                for t in result.team_rows()
            ],
        )
    out += ["", ADVICE, ""]
    return "\n".join(out)
