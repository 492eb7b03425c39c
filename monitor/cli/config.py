"""``visit-monitor config example|check``: the documented configuration, from any installation.

A wheel install has no ``config/`` folder to copy, yet the operator guide starts from the
documented file: ``config example`` prints the very ``monitor.toml`` shipped inside the
package (every key with its default and what it means; a test keeps it equal to the
built-in defaults). ``config check`` reads the configuration the other commands would
read, says which file and which database that is (password masked) and exits 2 on the
first bad value, so an operator can check an edit before restarting the daemon.
"""

from __future__ import annotations

from importlib import resources

import click

from monitor.cli.app import get_app

#: The shipped file, as package data of ``monitor.config`` (the repository's config/).
EXAMPLE = ("monitor.config", "monitor.toml")


def example_text() -> str:
    return resources.files(EXAMPLE[0]).joinpath(EXAMPLE[1]).read_text(encoding="utf-8")


@click.group("config")
def command() -> None:
    """Print the documented configuration file; check the one in use."""


@command.command("example")
def example() -> None:
    """Print monitor.toml with every key, its default and what it means."""
    click.echo(example_text(), nl=False)


@command.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Read and check the configuration in use; say which file and database it names."""
    from monitor.cli.errors import describe_database

    config = get_app(ctx).config  # a bad value stops here: exit 2 with key, value, expectation
    click.echo(f"config: {config.source or 'none found: built-in defaults'}")
    click.echo(f"database: {describe_database(config.database_url, config.database_origin)}")
    click.echo(f"timezone: {config.timezone}")
    mail = config.mail
    if mail.transport == "smtp":
        relay = f"smtp to {config.smtp.host}:{config.smtp.port} ({config.smtp.security}, auth {config.smtp.auth})"
    elif mail.transport == "graph":
        relay = "Microsoft Graph"
    else:
        relay = f"maildir {mail.maildir} (nothing is sent)"
    click.echo(f"mail: {relay}; from {mail.sender}; allowed domains {', '.join(mail.allowed_domains)}")
    click.echo(f"web app: {config.web.base_url or 'no base_url (loopback only)'}")
    click.echo(f"drop folder: {config.import_drop_dir or 'none (scheduled import off)'}")
    click.echo("ok: every value is valid")
