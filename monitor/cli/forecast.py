"""``visit-monitor forecast``: when the overdue visits clear at the present pace, and what would clear them.

Read-only, on demand, in one read transaction. It reads the planner's facts, runs the
forecast (:mod:`monitor.planning.forecast`) with any what-if (``--extra-per-week``,
``--officer-away``), answers ``--clear-by``, and beside it puts the backtest
(:mod:`monitor.planning.backtest`): the forecast made ``--backtest`` weeks ago (default
``[plan] backtest_weeks``; 0 for none) against the scan's overdue counts each week since.
Advice only: every format says so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.app import EXIT_USAGE, fail, get_app, resolve_as_of
from monitor.cli.outputs import output_options, write_out

if TYPE_CHECKING:
    from monitor.planning.facts import Facts


def _away(values: tuple[str, ...]) -> dict[str, int | None]:
    """``ID`` (away for the whole forecast) or ``ID:WEEKS``."""
    out: dict[str, int | None] = {}
    for value in values:
        officer, colon, weeks = value.rpartition(":") if ":" in value else (value, "", "")
        if colon and (not weeks.isdigit() or not 1 <= int(weeks) <= 104):
            raise fail(f"--officer-away {value!r}: expected ID or ID:WEEKS with WEEKS from 1 to 104", EXIT_USAGE)
        out[officer] = int(weeks) if colon else None
    return out


@click.command("forecast")
@click.option(
    "--as-of",
    "as_of_text",
    metavar="DATE",
    help="Forecast from this date, YYYY-MM-DD or DD/MM/YYYY (default: today in the configured timezone).",
)
@click.option("--team", metavar="CODE", help="Only this team (default: the force, team by team).")
@click.option("--weeks", type=click.IntRange(1, 104), default=None, help="Weeks to show (default: [plan] weeks, 26).")
@click.option(
    "--extra-per-week",
    type=click.IntRange(0, 10_000),
    default=0,
    help="What if: this many more home visits a week (shared among teams by what each has overdue).",
)
@click.option(
    "--officer-away",
    "officers_away",
    multiple=True,
    metavar="ID[:WEEKS]",
    help="What if: this officer is away (for WEEKS weeks, else throughout). Repeat for more.",
)
@click.option("--clear-by", "clear_by_text", metavar="DATE", help="Also: extra visits a week needed to clear by DATE.")
@click.option(
    "--backtest",
    "backtest_weeks",
    type=click.IntRange(0, 52),
    default=None,
    help="Check the forecast made this many weeks ago against what happened (default: [plan] backtest_weeks; 0: none).",
)
@output_options("forecast")
@click.pass_context
def command(
    ctx: click.Context,
    as_of_text: str | None,
    team: str | None,
    weeks: int | None,
    extra_per_week: int,
    officers_away: tuple[str, ...],
    clear_by_text: str | None,
    backtest_weeks: int | None,
    fmt: str,
    output: Path | None,
) -> None:
    """When the overdue visits clear at the present pace, and the extra visits to clear them by a date."""
    from monitor.cli.planner import check_known, with_source
    from monitor.core.clock import parse_date
    from monitor.core.gcpause import paused_gc
    from monitor.planning.backtest import backtest
    from monitor.planning.forecast import forecast
    from monitor.planning.forecast_results import WhatIf
    from monitor.planning.history import History, read_history
    from monitor.planning.inputs import read_facts
    from monitor.planning.source import Source
    from monitor.reports.planning import render_forecast

    app = get_app(ctx)
    config = app.config
    settings = config.plan
    as_of = resolve_as_of(config, as_of_text)
    clear_by: date | None = None
    if clear_by_text:
        try:
            clear_by = parse_date(clear_by_text, config.tz)
        except ValueError as exc:
            raise fail(f"--clear-by: {exc}", EXIT_USAGE) from None
    away = _away(officers_away)
    back = settings.backtest_weeks if backtest_weeks is None else backtest_weeks

    def read(source: Source) -> tuple[Facts, History | None]:
        if team is not None or away:
            teams, officers = source.known_scope()
            check_known("--team", team, teams, "team")
            for officer in away:
                check_known("--officer-away", officer, officers, "officer")
        # With a backtest, one pass over the register gives today's facts too.
        if back:
            history = read_history(source, config.policy, as_of - timedelta(days=7 * back), as_of, team)
            return history.now, history
        return read_facts(source, config.policy, as_of, team=team), None

    facts, history = with_source(app, read, force=team is None)
    if team is not None:
        outside = sorted(o for o in away if o not in {c.officer for c in facts.cases} | set(facts.officers))
        if outside:
            raise fail(f"--officer-away: {', '.join(outside)} not in team {team!r}", EXIT_USAGE)
    what = WhatIf(extra_per_week=extra_per_week, officers_away=away, clear_by=clear_by)
    result = forecast(facts, settings.default_visits_per_week, settings.growth_per_year, weeks or settings.weeks, what)
    if history is not None:
        checked = backtest(history.then, history.actual, settings.default_visits_per_week, settings.growth_per_year)
        result = replace(result, backtest=checked)
    with paused_gc():  # see core.gcpause
        text = render_forecast(result, config, fmt)
    if not write_out(text, output):
        return
    click.echo(f"Forecast as of {as_of.isoformat()} written to {output}: {result.words()[0]}", err=True)
