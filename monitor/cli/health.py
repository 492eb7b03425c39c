"""``visit-monitor health``: exit 0 when a daemon is alive and every job is on time.

Rules (see monitor/daemon/health.py): a fresh, not-stopped heartbeat; no job late beyond
``daemon.late_after_seconds``; no job whose latest run failed. Exit 1 with the reasons
otherwise. Light on purpose: probes call it every few seconds.
"""

from __future__ import annotations

import click

from monitor.cli.app import EXIT_FAILURE, EXIT_OK, get_app


@click.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--no-daemon",
    is_flag=True,
    help="Do not require a running daemon (for `run --once` from cron or a systemd timer).",
)
@click.pass_context
def command(ctx: click.Context, as_json: bool, no_daemon: bool) -> None:
    """Check the daemon's heartbeat and each job's last and next run."""
    from monitor.daemon.health import check_health, render_text

    app = get_app(ctx)
    report = check_health(app.engine(), app.config, require_daemon=not no_daemon)
    click.echo(report.to_json() if as_json else render_text(report, app.config))
    ctx.exit(EXIT_OK if report.ok else EXIT_FAILURE)
