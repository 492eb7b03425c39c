"""The SQLite database file as this service opens it, without SQLAlchemy.

Why a module apart from :mod:`monitor.register.db`: every connection the engine makes gets
the settings here (WAL, foreign keys, a busy timeout, transactions under our control), and
one read path uses them without the engine at all. ``report`` on a force-wide register is
the scan's statements (:mod:`monitor.rules.stored_rows`); importing SQLAlchemy to send them
cost a sixth of the command's instructions (1,200 million of 6,800 million at 100,000 people
for the overdue visits, ``benchmarks/instructions.py``), so that report opens the file with
:mod:`sqlite3` and the settings below, and anything else goes through the engine. Nothing
here imports more than the standard library.
"""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from monitor.core.checks import sqlite_file_path

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: The file a plain ``sqlite:///PATH`` URL names, else None (one reading for the config
#: check and this module).
file_path = sqlite_file_path


def configure_connection(dbapi_conn: Any) -> None:
    """What every connection to the database file gets, before its first statement."""
    # Take transaction control from pysqlite so BEGIN IMMEDIATE can be issued for
    # writers (claims, imports): otherwise two writers deadlock on lock upgrade.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def open_current(url: str) -> sqlite3.Connection | None:
    """A connection to an existing database file whose schema is the shipped one, else None.

    None when the URL is not a plain file, the file does not exist, it cannot be opened, or
    its schema is not current: the engine's path then says why in its own words (or creates
    the file, as it always has). The file is opened read-write, never created.
    """
    path = file_path(url)
    if path is None or not Path(path).is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error:
        return None
    try:
        configure_connection(conn)
        recorded = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.Error:
        conn.close()
        return None
    if len(recorded) != 1 or recorded[0] != shipped_head():
        conn.close()
        return None
    return conn


def shipped_head() -> str | None:
    """The single head revision of the shipped migrations, read without importing Alembic.

    Each migration names ``revision`` and ``down_revision`` as literals; the head is the
    revision nobody names as its parent. None when that is not clear-cut (then the caller
    asks Alembic itself).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name not in ("revision", "down_revision"):
                    continue
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    return None
                names = value if isinstance(value, tuple) else (value,)
                (revisions if name == "revision" else parents).update(n for n in names if isinstance(n, str))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None
