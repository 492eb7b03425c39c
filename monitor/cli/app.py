"""The ``visit-monitor`` command line.

Each command is one small module under ``monitor/cli/`` exposing ``command``; this
group loads a module only when its command runs, so ``health`` (run by a probe every few
seconds) does not import Jinja2, rich tables or the SMTP stack.

Exit codes (the contract): 0 ok, 1 failure, 2 usage or configuration error,
3 done but with rejected input rows.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import click
from sqlalchemy import Engine

from monitor import __version__
from monitor.core import config as config_module

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_REJECTED_ROWS = 0, 1, 2, 3

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

            self._engine = make_engine(self.config.database_url)
        if check:
            from monitor.register.db import check_schema

            check_schema(self._engine)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


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


class _Failure(click.ClickException):
    """A clean one-line failure with a chosen exit code (no traceback for users)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it a ClassVar


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="MONITOR_CONFIG",
    help="Config file (default: $MONITOR_CONFIG, else config/monitor.toml, else built-in defaults).",
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
    from monitor.register.db import SchemaError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        # Without standalone mode click *returns* ctx.exit(code) instead of exiting.
        code = cli.main(standalone_mode=False, prog_name="visit-monitor")
    except config_module.ConfigError as exc:
        click.echo(f"visit-monitor: configuration error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except SchemaError as exc:
        click.echo(f"visit-monitor: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_FAILURE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
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
