"""The ``visit-monitor`` command line.

Each command is one small module under ``monitor/cli/`` exposing ``command``; this
group loads a module only when its command runs, so ``health`` (run by a probe every few
seconds) does not import Jinja2, rich tables or the SMTP stack, and ``--help`` lists the
commands from :data:`SHORT_HELP` without importing any of them (nor SQLAlchemy): it
answers in well under a quarter of a second.

Exit codes (the contract): 0 ok, 1 failure, 2 usage or configuration error,
3 done but with rejected input rows. Configuration, database and file failures become one
or two plain lines with those codes, never a traceback or a secret (see errors.py).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from monitor import __version__
from monitor.cli.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_REJECTED_ROWS,
    EXIT_USAGE,
    PlainFailure,
    explain,
    silence_stdout,
    stdout_gone,
)
from monitor.core import config as config_module
from monitor.core.logs import EchoOfErrorFilter, RedactingFilter

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_REJECTED_ROWS",
    "EXIT_USAGE",
    "App",
    "cli",
    "fail",
    "get_app",
    "main",
    "resolve_as_of",
]

COMMANDS: dict[str, str] = {
    "db": "monitor.cli.db",
    "import": "monitor.cli.import_",
    "report": "monitor.cli.report",
    "digest": "monitor.cli.digest",
    "deliver": "monitor.cli.deliver",
    "outbox": "monitor.cli.outbox",
    "run": "monitor.cli.run",
    "health": "monitor.cli.health",
    "demo": "monitor.cli.demo",
    "seed": "monitor.cli.seed",
    "web": "monitor.cli.web",
    "config": "monitor.cli.config",
    "systemd-units": "monitor.cli.systemd_units",
    "plan": "monitor.cli.plan",
    "forecast": "monitor.cli.forecast",
}

#: One line per command for ``--help``, so listing them imports none (a test keeps each in
#: step with its command's own help). A command missing here is imported to ask it.
SHORT_HELP: dict[str, str] = {
    "config": "Print the documented configuration file; check the one in use.",
    "db": "Create, migrate or inspect the database schema.",
    "deliver": "Send what is pending in the outbox (retrying at once what waits on backoff).",
    "demo": "Import the synthetic demo register, write the report and every digest.",
    "digest": "Queue the officer, team, force and escalation digests, then deliver them.",
    "health": "Check the daemon's heartbeat and each job's last and next run.",
    "outbox": "List outbox messages; re-queue dead letters.",
    "import": "Import a register extract: offenders.csv, visits.csv and/or officers.csv in DIRECTORY.",
    "report": "Overdue visits, risk reviews and notifications, worst first.",
    "run": "Run the scheduled jobs: officer/team digests, force report, escalation, snapshot, deliver, import.",
    "seed": "Write a synthetic register (fake people, fake officers) for demos and tests.",
    "systemd-units": "Write the systemd units with this installation's paths (ExecStart, config, user).",
    "web": "Serve the web app for supervisors and leads (signed in through the force's identity provider).",
    "plan": "This week's home visits per offender manager within their capacity, and what does not fit.",
    "forecast": "When the overdue visits clear at the present pace, and the extra visits to clear them by a date.",
}


@dataclass
class App:
    """What every command needs, built on first use so `--help` never touches a database."""

    config_path: str | None
    _config: config_module.Config | None = None
    _engine: Engine | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> config_module.Config:
        if self._config is None:
            self._config = config_module.load(self.config_path, self.overrides or None)
        return self._config

    def engine(self, check: bool = True) -> Engine:
        """The database engine; with ``check`` the schema must be current."""
        if self._engine is None:
            from monitor.register.db import make_engine

            try:
                self._engine = make_engine(self.config.database_url)
            except (ImportError, ValueError) as exc:  # no such driver, or a URL it cannot use
                origin = self.config.database_origin
                raise config_module.ConfigError(
                    origin if origin.startswith("$") else "database.url",
                    self.config.database_url,
                    f"a URL whose database driver is installed ({type(exc).__name__})",
                    None if origin.startswith("$") else self.config.source,
                ) from None
        if check:
            from monitor.register.db import check_schema

            check_schema(self._engine)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def database_description(self) -> str | None:
        """The database in use, password masked, and where its URL came from; None before config."""
        if self._config is None:
            return None
        from monitor.cli.errors import describe_database

        return describe_database(self._config.database_url, self._config.database_origin)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(module_name)
        command: click.Command = module.command
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn any failure but click's own into plain lines (errors.py)."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if isinstance(exc, BrokenPipeError) and stdout_gone():
                # The reader of our output went away (`visit-monitor report | head`): stop
                # without "Broken pipe" noise, as cat or seq do (exit 141, 128 + SIGPIPE).
                silence_stdout()
                raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
            if os.environ.get("MONITOR_DEBUG") == "1":
                raise
            app = ctx.find_object(App)
            message, code = explain(exc, app.database_description() if app is not None else None)
            raise PlainFailure(message, code) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, but from SHORT_HELP: listing commands must not import them."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            known = SHORT_HELP.get(name)
            # A bare Command carrying the text shortens it exactly as the real one would.
            command = click.Command(name, help=known) if known is not None else self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class _Failure(PlainFailure):
    """A clean one-line failure with a chosen exit code (no traceback for users)."""


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="MONITOR_CONFIG",
    help=(
        "Config file (default: $MONITOR_CONFIG, else ./config/monitor.toml in the working directory, "
        "else the built-in defaults)."
    ),
)
@click.version_option(__version__, prog_name="visit-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Overdue RSO visits, risk reviews and notifications: reports, digests, daemon."""
    app = App(config_path=config_path)
    ctx.obj = app
    ctx.call_on_close(app.close)


def get_app(ctx: click.Context) -> App:
    app = ctx.find_object(App)
    assert app is not None
    return app


def main() -> None:
    """Console entry point: maps known errors to the contract's exit codes."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(EchoOfErrorFilter())
        handler.addFilter(RedactingFilter())
    try:
        # Without standalone mode click *returns* ctx.exit(code) instead of exiting.
        code = cli.main(standalone_mode=False, prog_name="visit-monitor")
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_FAILURE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:  # the same, outside a command (the group's own --help)
        if not stdout_gone():
            raise
        silence_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
    except Exception as exc:  # raised outside a command (e.g. while loading one)
        if os.environ.get("MONITOR_DEBUG") == "1":
            raise
        message, code = explain(exc)
        PlainFailure(message, code).show()
        sys.exit(code)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def resolve_as_of(config: config_module.Config, text: str | None) -> date:
    """``--as-of`` as given (YYYY-MM-DD or DD/MM/YYYY), else today in the configured timezone.

    Never the UTC date: at 23:30 UTC on 30 June it is already 1 July in London.
    """
    from monitor.core.clock import parse_date, today

    if not text:
        return today(config.tz)
    try:
        return parse_date(text, config.tz)
    except ValueError as exc:
        raise fail(f"--as-of: {exc}", EXIT_USAGE) from None


def fail(message: str, exit_code: int = EXIT_FAILURE) -> _Failure:
    """Build an exception that prints ``message`` and exits with ``exit_code``."""
    return _Failure(message, exit_code)
