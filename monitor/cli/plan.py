"""``visit-monitor plan``: this week's home visits per offender manager, within their capacity.

Read-only, on demand, in one read transaction: it reads the planner's facts (the scan's own
due dates, officers' capacity and absences; :mod:`monitor.planning.inputs`), makes the
week's plan (:mod:`monitor.planning.plan`) with the team's reallocation suggestions, and
writes it as a table, JSON, CSV or HTML. The week is Monday to Sunday holding the as-of
date, which is today in the configured timezone unless given. Advice only: every format
says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.app import get_app, resolve_as_of
from monitor.cli.outputs import output_options, write_out

if TYPE_CHECKING:
    from monitor.planning.facts import Facts


@click.command("plan")
@click.option(
    "--as-of",
    "as_of_text",
    metavar="DATE",
    help="A day of the week to plan, YYYY-MM-DD or DD/MM/YYYY (default: today in the configured timezone).",
)
@click.option("--team", metavar="CODE", help="Only this team (its officers and their cases).")
@click.option("--officer", metavar="ID", help="Only this offender manager.")
@output_options("plan")
@click.pass_context
def command(
    ctx: click.Context, as_of_text: str | None, team: str | None, officer: str | None, fmt: str, output: Path | None
) -> None:
    """This week's home visits per offender manager within their capacity, and what does not fit."""
    from monitor.cli.planner import check_known, with_source
    from monitor.core.gcpause import paused_gc
    from monitor.planning.inputs import read_facts
    from monitor.planning.plan import make_plan
    from monitor.planning.source import Source
    from monitor.planning.weeks import week_end
    from monitor.reports.planning import render_plan

    app = get_app(ctx)
    config = app.config
    as_of = resolve_as_of(config, as_of_text)

    def read(source: Source) -> Facts:
        if team is not None or officer is not None:
            teams, officers = source.known_scope()
            check_known("--team", team, teams, "team")
            check_known("--officer", officer, officers, "officer")
        return read_facts(
            source, config.policy, as_of, team=team, officer=officer, for_forecast=False, due_by=week_end(as_of)
        )

    facts = with_source(app, read, force=team is None and officer is None)
    plan = make_plan(facts, config.plan.default_visits_per_week)
    with paused_gc():  # a national plan's JSON is tens of thousands of small objects (see core.gcpause)
        text = render_plan(plan, config, fmt)
    if not write_out(text, output):
        return
    s = plan.summary()
    click.echo(
        f"Plan for the week of {plan.week_start.isoformat()} written to {output} "
        f"({s['planned']} planned, {s['did_not_fit']} did not fit).",
        err=True,
    )
