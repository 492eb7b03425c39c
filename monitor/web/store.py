"""Where the web app keeps its sessions and access log: PostgreSQL's database, or on SQLite a file of its own.

Why a second file on SQLite: every page writes its access-log row before it is shown (s.62:
no row, no page) and a session's last-seen time at most every 30 s, and SQLite has one
writer per file. An import is one transaction and holds the register's write lock for as
long as it runs (half a minute for a national register), so pages in the same file waited
for it, and past the 30 s busy timeout would have failed. In a file the import never
writes, the web app's own writes wait only for each other (a few milliseconds), while its
reads of the register go on seeing the last committed import (WAL readers never wait).

The store sits beside the register, named after it (``monitor.db`` -> ``monitor-web.db``),
created 0600 like the register (its ``-wal`` and ``-shm`` files copy that mode). Back up
both files together. Its schema is versioned by SQLite's ``user_version``: 0 is a new file
(the tables are created, and the access-log rows an earlier version wrote into the
register are copied over, so the s.62 log stays whole), :data:`STORE_VERSION` is current,
anything higher was written by a newer release and is refused rather than guessed at.
Creating it runs under ``BEGIN IMMEDIATE``, so two servers starting at once cannot both
create it.

On PostgreSQL the tables stay in the register's database (Alembic creates them): an
import takes row locks on the register's tables and one advisory lock, and neither blocks
an insert into ``web_access_log`` or an update of ``web_sessions`` (``tests/web/test_web_import.py``
holds an import open and browses on both databases). An in-memory SQLite register keeps
them too (one process, nothing to wait for).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from sqlalchemy import Connection, Engine, Table, insert, inspect, select

from monitor.register.db import make_engine
from monitor.register.models import AccessLogEntry, WebSession

#: The store's schema version (``PRAGMA user_version``); raise it with a step in ``_MIGRATIONS``.
STORE_VERSION = 1
#: Access-log rows copied from the register per statement when a store is first created.
COPY_BATCH = 5000
TABLES: tuple[Table, ...] = (cast(Table, WebSession.__table__), cast(Table, AccessLogEntry.__table__))


class StoreError(Exception):
    """The web store cannot be used (written by a newer release); one line for the operator."""


def store_path(engine: Engine) -> Path | None:
    """The web store's file for a SQLite register file, else None (the register's database is used)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    register = Path(database)
    suffix = register.suffix or ".db"
    return register.with_name(f"{register.stem if register.suffix else register.name}-web{suffix}")


def open_store(engine: Engine) -> Engine:
    """The engine for sessions and the access log, its schema created or checked."""
    path = store_path(engine)
    if path is None:
        return engine
    store = make_engine(f"sqlite:///{path}")
    try:
        _prepare(store, engine, path)
    except Exception:
        store.dispose()
        raise
    return store


def _version(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)


def _prepare(store: Engine, register: Engine, path: Path) -> None:
    with store.connect() as conn:
        if _version(conn) == STORE_VERSION:
            return  # the usual case: one read, no lock
    with store.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, conn.begin():
        version = _version(conn)
        if version > STORE_VERSION:
            raise StoreError(
                f"{path}: the web store's schema is version {version}, newer than this release knows "
                f"({STORE_VERSION}): run the newer release, or move the file aside to start a new one"
            )
        if version == 0:
            _create(conn, register)
        conn.exec_driver_sql(f"PRAGMA user_version = {STORE_VERSION}")


def _create(conn: Connection, register: Engine) -> None:
    """A new store: the tables, then the access log an earlier release kept in the register."""
    for table in TABLES:
        table.create(conn, checkfirst=True)
    if conn.execute(select(AccessLogEntry.id).limit(1)).first() is not None:
        return  # rows already here (a store whose version was lost): never copy twice
    if not inspect(register).has_table(AccessLogEntry.__tablename__):
        return
    table = TABLES[1]
    last = 0
    with register.connect() as source:
        while True:
            rows = [
                dict(row._mapping)
                for row in source.execute(select(table).where(table.c.id > last).order_by(table.c.id).limit(COPY_BATCH))
            ]
            if not rows:
                return
            conn.execute(insert(table), rows)
            last = rows[-1]["id"]
