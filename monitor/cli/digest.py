"""``visit-monitor digest``: queue this period's digests, then deliver what is pending.

Exit codes: 0 when every message was queued (or already queued) and delivered; 1 when a
message could not be built (e.g. a team code with a line break), a digest could be routed
to nobody (no mailable recipient and no mailable force lead), or pending mail could not
be delivered (dead letter, relay unreachable, TLS or login problem, temporary refusal):
one line says how many and why. A digest whose own recipient cannot be mailed goes to the
force lead(s) with a banner saying why, and is printed as ``unrouted``. A *blocked* recipient (not in the
directory, inactive, wrong role, domain not allowed) does not change the exit code: the
allow-list did its job, the block is logged as a disclosure outcome, printed here by
officer id, and the team digest tells the supervisor whose cases have no reachable
offender manager. Treating it as a failure would turn a routine directory gap into a
permanently red cron job that hides the failures that matter.

``--preview DIR`` writes each message as ``.eml`` and ``.html`` and sends nothing.
"""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.app import EXIT_FAILURE, EXIT_USAGE, fail, get_app, resolve_as_of

KIND_CHOICES = ("officer", "team", "force", "escalation", "all")


@click.command("digest")
@click.option(
    "--as-of", "as_of_text", metavar="DATE", help="Date to report on (default: today in the configured timezone)."
)
@click.option("--kind", type=click.Choice(KIND_CHOICES), default="all", show_default=True, help="Which digests.")
@click.option(
    "--preview",
    "preview_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write .eml and .html files into DIR instead of queueing or sending anything.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    help="With --preview: worker processes rendering and writing (default: one per CPU, at most 4).",
)
@click.pass_context
def command(ctx: click.Context, as_of_text: str | None, kind: str, preview_dir: Path | None, jobs: int | None) -> None:
    """Queue the officer, team, force and escalation digests, then deliver them."""
    from monitor.digests.preview import preview_digests
    from monitor.digests.queue import queue_digests

    app = get_app(ctx)
    config = app.config
    as_of = resolve_as_of(config, as_of_text)
    engine = app.engine()

    if preview_dir is not None:
        paths = preview_digests(engine, config, kind, as_of, preview_dir, jobs)
        click.echo(
            f"Preview for {as_of.isoformat()}: {len(paths) // 2} message(s) written to {preview_dir}; nothing sent."
        )
        for path in paths:
            click.echo(f"  {path}")
        return

    if jobs is not None:
        raise fail("--jobs applies to --preview only (queueing writes one outbox in order)", EXIT_USAGE)
    from monitor.mail.delivery import deliver_pending

    run = queue_digests(engine, config, kind, as_of)
    click.echo(
        f"Digests for {as_of.isoformat()} ({', '.join(run.kinds)}): queued {run.queued}, "
        f"already queued {run.already_queued}, nothing to send {run.skipped_empty}, "
        f"blocked {len(run.blocked_detail)}, unrouted {len(run.unrouted) + len(run.unroutable)}"
    )
    for kind_name, officer_id, reason in run.blocked_detail:
        click.echo(f"  blocked: {kind_name} digest for {officer_id}: {reason}")
    for kind_name, scope, leads, reason in run.unrouted:
        click.echo(f"  unrouted: {kind_name} digest for {scope} ({reason}): sent to force lead(s) {', '.join(leads)}")
    for kind_name, scope, reason in run.unroutable:
        click.echo(f"  UNROUTABLE: {kind_name} digest for {scope}: {reason}", err=True)
    for kind_name, officer_id, reason in run.errors:
        click.echo(f"  ERROR: {kind_name} digest for {officer_id} not built: {reason}", err=True)

    report = deliver_pending(engine, config, respect_backoff=False)
    click.echo("Delivery: " + report.summary_lines()[0])
    for line in report.summary_lines()[1:]:
        click.echo(line)

    problems = []
    if run.errors:
        problems.append(f"{len(run.errors)} digest(s) could not be built")
    if run.unroutable:
        problems.append(f"{len(run.unroutable)} digest(s) could not be routed to anyone (no mailable force lead)")
    if problem := report.problem():
        problems.append(problem)
    if problems:
        raise fail("; ".join(problems), EXIT_FAILURE)
