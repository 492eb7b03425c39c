"""``visit-monitor report``: what is overdue as of a date, as a table, JSON, CSV or HTML.

On demand, read-only: it runs the same scan the digests and the daemon use, inside one
read transaction, and never writes to the database. "Today" is the date in the
configured timezone (at 23:30 UTC on 30 June it is already 1 July in London).

An unknown ``--team`` or ``--officer`` is a usage error (exit 2) naming the closest known
codes (:mod:`monitor.cli.scope`): an empty report for a typo would read as "no backlog".
A team or officer in the directory with no cases yet is known, and reports empty.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Collection, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.app import EXIT_USAGE, fail, get_app, resolve_as_of
from monitor.core.files import private_mkdir, write_private
from monitor.reports.report import FORMATS  # light: each format's module loads when used
from monitor.reports.sections import SECTION_FORMATS, SECTION_LISTS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from monitor.core.config import Policy
    from monitor.rules.obligations import Obligations

TREND_DAYS = 90


@click.command("report")
@click.option(
    "--as-of",
    "as_of_text",
    metavar="DATE",
    help="Date to report on, YYYY-MM-DD or DD/MM/YYYY (default: today in the configured timezone).",
)
@click.option("--team", metavar="CODE", help="Only this team's caseload (offender.team).")
@click.option("--officer", metavar="ID", help="Only this offender manager's caseload (officer_id).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people, json/csv for scripts and spreadsheets, html for a printable file.",
)
@click.option(
    "--section",
    "sections",
    multiple=True,
    type=click.Choice(tuple(SECTION_LISTS)),
    help="json/csv: write only this list (repeat for more); the summary still counts everything.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE (plain text, no colour) instead of standard output.",
)
@click.pass_context
def command(
    ctx: click.Context,
    as_of_text: str | None,
    team: str | None,
    officer: str | None,
    fmt: str,
    sections: tuple[str, ...],
    output: Path | None,
) -> None:
    """Overdue visits, risk reviews and notifications, worst first."""
    from monitor.reports.report import render_report
    from monitor.rules.scan import COUNTABLE, PRACTICE_COUNTABLE

    if sections and fmt not in SECTION_FORMATS:
        raise fail(f"--section applies to --format {' or '.join(SECTION_FORMATS)} only", EXIT_USAGE)
    app = get_app(ctx)
    config = app.config
    as_of = resolve_as_of(config, as_of_text)
    # Lists not asked for are not even made when the scan can count them instead (risk
    # reviews and notifications: nine tenths of a national report; the practice lists).
    lists = [SECTION_LISTS[name] for name in sections]
    count_only = (COUNTABLE | PRACTICE_COUNTABLE).difference(lists) if lists else ()

    trend = None
    obligations = None
    if team is None and officer is None and fmt != "html":  # force-wide, no trend to read
        obligations = stored_scan(config.database_url, config.policy, as_of, count_only)
    if obligations is None:
        from monitor.cli.scope import check_scope
        from monitor.register.db import reading
        from monitor.rules.scan import scan

        with reading(app.engine()) as session:
            check_scope(session, team, officer)
            obligations = scan(session, config.policy, as_of, team=team, officer=officer, count_only=count_only)
            trend = _trend(session, as_of, team) if fmt == "html" and officer is None else None

    if lists:
        obligations = obligations.only(lists)
    to_terminal = output is None and sys.stdout.isatty()
    color = to_terminal and fmt == "table" and "NO_COLOR" not in os.environ
    width = shutil.get_terminal_size((140, 40)).columns if to_terminal else None
    if fmt == "json":  # in pieces: a national report is tens of MB (see export.json_chunks)
        from monitor.reports.export import json_chunks

        text: str | Iterator[str] = json_chunks(obligations)
    else:
        text = render_report(obligations, config, fmt, trend=trend, color=color, width=width)

    if output is None:
        for piece in [text] if isinstance(text, str) else text:
            click.echo(piece, nl=False)
        return
    try:
        write_private(private_mkdir(output.parent) / output.name, text)  # 0600, folders 0700
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(
        f"Report as of {as_of.isoformat()} written to {output} "
        f"({obligations.summary.overdue_visits} overdue visit(s)).",
        err=True,
    )


def stored_scan(url: str, policy: Policy, as_of: date, count_only: Collection[str]) -> Obligations | None:
    """The force-wide scan read straight from a SQLite file, or None to scan through the engine.

    Why: on SQLite, importing SQLAlchemy was a sixth of a force-wide report's work
    (:mod:`monitor.register.sqlite_file`). This sends the scan's statements
    (:mod:`monitor.rules.stored_rows`) over a connection with the engine's own settings, in
    one read transaction, and gives the same result as :func:`monitor.rules.scan.scan`.
    None, and the caller takes the engine's path, whenever this one does not apply or
    does not hold: not a plain SQLite file, a schema that is not current, most people's
    stored visit facts not holding on ``as_of``, or any database error (which the engine's
    path then reports in its usual words).
    """
    import sqlite3
    from dataclasses import replace

    from monitor.register.sqlite_file import open_current
    from monitor.rules.scan import practice_input, scan_from
    from monitor.rules.stored_rows import FactsDoNotHold, lookback_rows, state, stored_rows

    conn = open_current(url)
    if conn is None:
        return None
    try:
        conn.execute("BEGIN DEFERRED")  # one snapshot, as reading() takes; never the write lock
        row = state(conn)
        recorded = frozenset(c for c in ((row[0] if row else None) or "").split(",") if c)
        practice = practice_input(policy, recorded)  # the practice measures, when on (rules.practice)
        n = policy.practice.predictable_visits_last if practice is not None else None
        rows = stored_rows(conn, as_of, policy.include_names, n)
        if practice is not None and practice.reads_visits:
            from monitor.rules.practice import lookback_start

            start = lookback_start(as_of, policy.practice.lone_visit_lookback)
            practice = replace(practice, visits=lookback_rows(conn, as_of, start))
        return scan_from(rows, policy, as_of, count_only=count_only, practice=practice)
    except (FactsDoNotHold, sqlite3.Error):
        return None
    finally:
        conn.close()  # read only: closing ends the transaction


def _trend(session: Session, as_of: date, team: str | None) -> list[tuple[date, int]] | None:
    """The backlog trend from daily snapshots, if any have been taken."""
    from monitor.reports.snapshot import backlog_series

    series = backlog_series(session, end=as_of, days=TREND_DAYS, team=team)
    return series or None
