"""Database engine, sessions and migrations.

SQLite is the embedded default: WAL so the daemon and a CLI report can read while an
import writes, foreign keys on (SQLite has them off by default), and a busy timeout so
two processes wait for each other instead of failing. PostgreSQL (psycopg 3) is the
real deployment target. ``upgrade`` runs the Alembic migrations shipped in the package.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.core.files import private_touch
from monitor.register import sqlite_file


class SchemaError(Exception):
    """The database has no schema, or an older one: run ``visit-monitor db upgrade``."""


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the per-backend settings this service relies on."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            private_touch(database)  # 0600 before SQLite opens it; -wal and -shm copy its mode
        engine = create_engine(url, connect_args={"timeout": sqlite_file.SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        sqlite_file.configure_connection(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers (see `transaction`) take the write lock up front with BEGIN IMMEDIATE:
        # a deferred transaction that reads and then writes can fail with "database is
        # locked" without waiting, and claim-by-conditional-UPDATE must never do that.
        # Readers stay deferred so a report never waits for an import under WAL.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One writing unit of work: commit on success, roll back everything on any error."""
    with (
        engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn,
        Session(bind=conn, expire_on_commit=False) as session,
        session.begin(),
    ):
        yield session


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A read-only unit of work (one consistent snapshot); never takes the write lock."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def dry_reading(engine: Engine) -> Iterator[Session]:
    """A transaction the database itself keeps from writing, always rolled back (``import --check``).

    PostgreSQL: ``SET TRANSACTION READ ONLY``; SQLite: ``PRAGMA query_only`` on the
    connection for as long as it is held. A write attempted by mistake fails instead of
    happening, so a dry run cannot change the register, the import log or a sequence.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA query_only = ON")
        else:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        try:
            with Session(bind=conn, expire_on_commit=False) as session:
                yield session
        finally:
            conn.rollback()
            if sqlite:
                conn.exec_driver_sql("PRAGMA query_only = OFF")
                conn.commit()


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "monitor.register:migrations")
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def check_schema(engine: Engine) -> None:
    """Fail clearly when the schema is missing or behind the code.

    Every command runs this first, so the usual case (schema current) is answered with one
    query and the migration files' text: importing Alembic alone costs more than a
    JSON report's scan.
    """
    with engine.connect() as conn:
        try:
            recorded = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
        except SQLAlchemyError:
            recorded = []
    if len(recorded) == 1 and recorded[0] == sqlite_file.shipped_head():
        return
    current = current_revision(engine)
    head = head_revision(engine)
    if current != head:
        if current is None and not inspect(engine).get_table_names():
            raise SchemaError("the database has no schema yet: run `visit-monitor db upgrade`")
        raise SchemaError(
            f"the database schema is at {current!r}, this version needs {head!r}: run `visit-monitor db upgrade`"
        )
