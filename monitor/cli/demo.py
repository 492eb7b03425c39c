"""``visit-monitor demo``: a fresh user's first run, on the embedded default.

Always uses a SQLite file under ``var/`` and the maildir transport, whatever the config
or ``$MONITOR_DATABASE_URL`` say: a demo must never write synthetic cases into a real
register or mail a real relay. Safe to run again: the import is idempotent and digests
are queued once per period, so a second run adds nothing.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
from datetime import date
from pathlib import Path

import click

from monitor.cli.app import EXIT_FAILURE, fail, get_app, resolve_as_of
from monitor.core.files import private_mkdir, write_private

#: The date the committed demo register was generated for (seeds/: see docs/develop/testing.md).
SEED_AS_OF = date(2026, 11, 23)


@click.command("demo")
@click.option(
    "--as-of",
    "as_of_text",
    default=SEED_AS_OF.isoformat(),
    show_default=True,
    help="Date to report and digest as of (the demo register was generated for this date).",
)
@click.option(
    "--var",
    "var_dir",
    default="var",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the demo's database, report, outbox and previews (made 0700).",
)
@click.pass_context
def command(ctx: click.Context, as_of_text: str, var_dir: str) -> None:
    """Import the synthetic demo register, write the report and every digest."""
    from monitor.digests.preview import preview_digests
    from monitor.digests.queue import queue_digests
    from monitor.mail.delivery import deliver_pending
    from monitor.register import db
    from monitor.register.importer import import_directory
    from monitor.reports.report import render_report
    from monitor.reports.snapshot import take_snapshot
    from monitor.rules.scan import scan

    app = get_app(ctx)
    base = app.config
    as_of = resolve_as_of(base, as_of_text)
    var = Path(var_dir)
    private_mkdir(var)
    cfg = dataclasses.replace(
        base,
        database_url=f"sqlite:///{var / 'monitor.db'}",
        mail=dataclasses.replace(base.mail, transport="maildir", maildir=var / "outbox"),
    )
    engine = db.make_engine(cfg.database_url)
    try:
        db.upgrade(engine)
        click.echo(f"Database: {var / 'monitor.db'} (SQLite, schema current)")

        with importlib.resources.as_file(importlib.resources.files("monitor.seeds")) as seeds:
            result = import_directory(engine, cfg, Path(seeds))
        totals = {k: sum(c.get(k, 0) for c in result.counts.values()) for k in ("inserted", "updated", "unchanged")}
        click.echo(
            f"Imported the synthetic demo register: {totals['inserted']} rows new, "
            f"{totals['updated']} updated, {totals['unchanged']} unchanged, {len(result.rejects)} rejected"
        )

        with db.reading(engine) as session:
            obligations = scan(session, cfg.policy, as_of)
        report_path = var / "report.html"
        write_private(report_path, render_report(obligations, cfg, "html"))
        s = obligations.summary
        click.echo(
            f"As of {as_of.isoformat()}: caseload {s.active_caseload}, {s.overdue_visits} visits overdue "
            f"(most overdue {s.most_overdue_days or 0} days, {s.most_overdue_ref or '-'}), "
            f"{s.overdue_risk_reviews} risk reviews and {s.overdue_notifications} notifications overdue, "
            f"{s.whereabouts_unknown} whereabouts unknown"
        )

        take_snapshot(engine, cfg, as_of)
        run = queue_digests(engine, cfg, "all", as_of)
        delivery = deliver_pending(engine, cfg, respect_backoff=False)
        previews = preview_digests(engine, cfg, "all", as_of, var / "preview")
        click.echo(
            f"Digests: {run.queued} queued now ({run.already_queued} already queued earlier), "
            f"{len(run.blocked)} recipients not mailed (see below); {delivery.sent} written"
        )
        for officer_id, reason in run.blocked:
            click.echo(f"  not mailed: {officer_id}: {reason}")
    finally:
        engine.dispose()

    click.echo("")
    click.echo("Open:")
    click.echo(f"  {report_path}            the force report (print it, or open in a browser)")
    click.echo(f"  {cfg.mail.maildir}/             every digest as an .eml file (open in a mail client)")
    click.echo(f"  {var / 'preview'}/             the same digests as .html, for a browser ({len(previews)} files)")
    click.echo("Then try:")
    click.echo(f"  visit-monitor report --as-of {as_of.isoformat()}             (the same register, in the terminal)")
    click.echo(f"  visit-monitor report --as-of {as_of.isoformat()} --format json")
    if not delivery.ok:
        raise fail("some demo digests could not be written", EXIT_FAILURE)
