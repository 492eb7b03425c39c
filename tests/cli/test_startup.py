"""What a command loads before it does anything: the cost every cron job and probe pays.

Why: at national scale a JSON report is about a second of work, and importing the whole
stack (Alembic, Jinja2, rich, the SMTP and Graph transports) used to cost more than that;
``--help`` took a second. These tests pin the behaviour the figures in docs/develop/benchmarks.md rest on
(which modules load), not times, which vary from machine to machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from monitor.cli import app
from monitor.register import db, sqlite_file

PROBE = """
import json, sys
from monitor.cli.app import main
sys.argv = ["visit-monitor", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""

HEAVY = {"sqlalchemy", "alembic", "jinja2", "rich", "css_inline", "apscheduler", "psycopg", "msal", "prometheus_client"}


def loaded_by(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """Top-level packages imported by ``visit-monitor ARGS`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, env=env, timeout=120
    )
    marker = done.stderr.rsplit("\nMODULES ", 1)
    assert len(marker) == 2, done.stderr
    return set(json.loads(marker[1]))


@pytest.mark.slow
def test_help_imports_no_database_templates_or_mail_stack() -> None:
    assert not loaded_by(["--help"]) & HEAVY
    assert not loaded_by(["--version"]) & HEAVY


@pytest.mark.slow
def test_json_report_loads_the_database_but_not_templates_migrations_or_mail(tmp_path: Path) -> None:
    """Force-wide on a SQLite file the report reads it without SQLAlchemy (cli/report.py:
    stored_scan); for a team it goes through the engine. Neither loads what it does not use."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    db.upgrade(db.make_engine(url))
    env = {"MONITOR_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    loaded = loaded_by(["report", "--format", "json", "--as-of", "2026-11-23"], env)
    assert not loaded & {"sqlalchemy", "alembic", "jinja2", "rich", "css_inline", "psycopg", "msal"}
    loaded = loaded_by(["report", "--format", "json", "--as-of", "2026-11-23", "--team", "NORTH"], env)
    assert "sqlalchemy" in loaded
    assert not loaded & {"alembic", "jinja2", "rich", "css_inline", "psycopg", "msal"}


def test_short_help_matches_each_command() -> None:
    """``--help`` lists commands from SHORT_HELP without importing them: keep it true."""
    group = app.LazyGroup()
    ctx = click.Context(app.cli)
    for name in app.COMMANDS:
        command = group.get_command(ctx, name)
        assert command is not None
        expected = command.get_short_help_str(200)
        assert app.SHORT_HELP.get(name) == expected, name


def test_schema_head_read_without_alembic_is_alembics(sqlite_url: str) -> None:
    """check_schema's fast path reads the head revision from the migration files' text."""
    assert sqlite_file.shipped_head() == db.head_revision(db.make_engine(sqlite_url))
