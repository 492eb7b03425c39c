"""``visit-monitor db upgrade|current``: create or migrate the schema with Alembic."""

from __future__ import annotations

import click

from monitor.cli.app import get_app


@click.group("db")
def command() -> None:
    """Create, migrate or inspect the database schema."""


@command.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Create the schema, or migrate it to the latest version."""
    from monitor.register.db import current_revision
    from monitor.register.db import upgrade as run_upgrade

    engine = get_app(ctx).engine(check=False)
    before = current_revision(engine)
    run_upgrade(engine, revision)
    after = current_revision(engine)
    if before == after:
        click.echo(f"Schema already at {after}.")
    else:
        click.echo(f"Schema migrated from {before or 'empty'} to {after}.")


@command.command("current")
@click.pass_context
def current(ctx: click.Context) -> None:
    """Print the schema revision of the database and the one this version needs."""
    from monitor.register.db import current_revision, head_revision

    engine = get_app(ctx).engine(check=False)
    click.echo(f"database: {current_revision(engine) or 'empty'}; code: {head_revision(engine)}")
