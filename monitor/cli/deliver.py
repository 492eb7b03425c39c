"""``visit-monitor deliver``: send everything pending in the outbox, now.

Run by hand (after fixing a relay problem, say), so it does not wait for backoff: every
pending message is tried once. Exit 1, with one line saying how many messages and why,
when anything pending could not be delivered: a dead letter, a relay that cannot be
reached (no attempt is spent: the messages wait for the next run), a relay certificate,
TLS or login problem, a temporary refusal, or a database failure mid-run.
"""

from __future__ import annotations

import click

from monitor.cli.app import EXIT_FAILURE, fail, get_app


@click.command("deliver")
@click.pass_context
def command(ctx: click.Context) -> None:
    """Send what is pending in the outbox (retrying at once what waits on backoff)."""
    from monitor.mail.delivery import deliver_pending

    app = get_app(ctx)
    report = deliver_pending(app.engine(), app.config, respect_backoff=False)
    for line in report.summary_lines():
        click.echo(line)
    if problem := report.problem():
        raise fail(problem, EXIT_FAILURE)
