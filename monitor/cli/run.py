"""``visit-monitor run [--once]``: the scheduler daemon, or one pass of whatever is due.

The daemon runs until SIGTERM/SIGINT (exit 0 once running jobs finish), reloads its
config on SIGHUP, heartbeats into the database and, under systemd, sends READY=1,
WATCHDOG=1 and STOPPING=1 (see config/visit-monitor.service). ``--once`` is for
deployments driven by cron or a systemd timer: it claims and runs what is due now with
the same catch-up rule, then exits 0 (all ok) or 1 (a job failed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from monitor.cli.app import EXIT_FAILURE, EXIT_OK, get_app

if TYPE_CHECKING:
    from monitor.core.config import Config


@click.command("run")
@click.option("--once", is_flag=True, help="Run whatever is due now (with catch-up) and exit.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log as text or JSON lines (default: [logging] format).",
)
@click.pass_context
def command(ctx: click.Context, once: bool, log_format: str | None) -> None:
    """Run the scheduled jobs: officer/team digests, force report, escalation, snapshot, deliver, import."""
    from monitor.core.logs import setup_logging
    from monitor.daemon.loop import Daemon
    from monitor.daemon.runs import run_once

    app = get_app(ctx)
    config = app.config
    setup_logging(log_format or config.log_format, config.log_level)
    engine = app.engine()

    if once:
        results = run_once(engine, config)
        if not results:
            click.echo("Nothing due.")
        for r in results:
            local = r.scheduled_for.astimezone(config.tz).strftime("%Y-%m-%d %H:%M %Z")
            counts = " ".join(f"{k}={v}" for k, v in r.counts.items())
            click.echo(f"{r.job} ({local}): {r.outcome} in {r.duration_s:.1f}s {counts}".rstrip())
            if r.error:
                click.echo(f"  error: {r.error}")
        ctx.exit(EXIT_FAILURE if any(r.outcome != "ok" for r in results) else EXIT_OK)

    def _load() -> Config:
        from monitor.core import config as config_module

        return config_module.load(app.config_path, app.overrides or None)

    def _relog(new: Config) -> None:
        setup_logging(log_format or new.log_format, new.log_level)

    daemon = Daemon(engine, config, loader=_load, on_reload=_relog)
    ctx.exit(daemon.run())
