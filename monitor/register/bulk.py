"""Rows known to be new, written through the database driver instead of the ORM.

Why: a national register is a million visit rows. The ORM's bulk INSERT spent about three
times the database's own time compiling statements and processing parameters, so new
rows go to the driver directly, on the session's own connection and therefore inside the
import's transaction: ``COPY ... FROM STDIN`` on PostgreSQL, one prepared ``executemany``
per chunk on SQLite. Values still pass through each column's own SQLAlchemy bind
processing (aware UTC datetimes stored naive on SQLite, dates as SQLAlchemy writes them)
and columns a file leaves out get the model's Python-side default, so what is stored is
byte for byte what the ORM would have stored (tests/register/test_import_bulk.py compares the two).

On PostgreSQL a file whose table began empty *streams*: one COPY stays open for the
whole file, so the server stores rows while this process parses the next ones (the two
cores of a small machine work side by side instead of in turn). Nothing else may use the
connection while a COPY is open, so only files written without key lookups stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from operator import itemgetter
from types import TracebackType
from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault


class NewRows:
    """Inserts rows that cannot exist yet into ``table``; see the module docstring.

    Every row given has the same keys (one file's columns, its defaults and the import's
    stamp). Use as a context manager, or call :meth:`close` after the last write (which is
    when a streamed COPY reports a database error) and :meth:`abort` on failure.
    """

    def __init__(self, session: Session, table: Table, *, stream: bool = False):
        self.session = session
        self.table = table
        self.dialect = session.get_bind().dialect
        self.stream = stream and self.dialect.name == "postgresql"
        self._values: Callable[[dict[str, Any]], list[Any]] | None = None
        self._statement = ""
        self._copy: Any = None
        self._open: ExitStack | None = None  # the cursor and the COPY, while one is open

    def __enter__(self) -> NewRows:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._values is None:
            self._prepare(rows[0])
        values = self._values
        assert values is not None
        with self._as_database_errors():
            if self.dialect.name == "postgresql":
                copy = self._open_copy()
                for row in rows:
                    copy.write_row(values(row))
                if not self.stream:
                    self._end_copy()
            else:
                cursor = self._dbapi().cursor()
                try:
                    cursor.executemany(self._statement, [values(r) for r in rows])
                finally:
                    cursor.close()

    def close(self) -> None:
        """End a streamed COPY: the server checks and stores what it has not yet."""
        with self._as_database_errors():
            self._end_copy()

    def abort(self) -> None:
        """Give up an open COPY (the transaction is being rolled back anyway)."""
        opened, self._open, self._copy = self._open, None, None
        if opened is not None:
            failure = RuntimeError("import aborted")
            # Already failing: psycopg sends CopyFail; whatever it raises, the rollback follows.
            with suppress(Exception):
                opened.__exit__(RuntimeError, failure, None)

    # -- internals

    @contextmanager
    def _as_database_errors(self) -> Iterator[None]:
        """A driver error as SQLAlchemy's DBAPIError (which the importer reports), COPY given up."""
        error = self.dialect.loaded_dbapi.Error
        try:
            yield
        except error as exc:
            self.abort()
            raise DBAPIError.instance(self._statement, None, exc, error) from exc

    def _dbapi(self) -> Any:
        dbapi = self.session.connection().connection.dbapi_connection
        assert dbapi is not None
        return dbapi

    def _prepare(self, first: dict[str, Any]) -> None:
        given = list(first)
        defaults = {
            c.name: c.default.arg
            for c in self.table.columns
            if c.name not in given and isinstance(c.default, ScalarElementColumnDefault)
        }
        names = given + list(defaults)
        get = itemgetter(*given)
        tail = tuple(defaults.values())
        # Each column's bind processing, remembered per distinct value: a file repeats its
        # stamp and a few thousand dates, and the processors cost more than the lookups.
        processors = (self.table.columns[n].type._cached_bind_processor(self.dialect) for n in names)
        convert: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
            (i, proc, {}) for i, proc in enumerate(processors) if proc is not None
        ]
        single = len(given) == 1

        def values(row: dict[str, Any]) -> list[Any]:
            out = [get(row), *tail] if single else [*get(row), *tail]
            for i, proc, seen in convert:
                value = out[i]
                if value is not None:
                    done = seen.get(value)
                    if done is None:
                        if len(seen) > 100_000:  # bounded: visit times are mostly distinct
                            seen.clear()
                        done = seen[value] = proc(value)
                    out[i] = done
            return out

        self._values = values
        quote = self.dialect.identifier_preparer.quote
        columns = ", ".join(quote(n) for n in names)
        table = self.dialect.identifier_preparer.format_table(self.table)
        if self.dialect.name == "postgresql":
            self._statement = f"COPY {table} ({columns}) FROM STDIN"
        else:
            marks = ", ".join("?" * len(names))
            # Names from the model's own table, quoted by the dialect; values are bound.
            self._statement = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608

    def _open_copy(self) -> Any:
        from psycopg.copy import QueuedLibpqWriter  # PostgreSQL only

        if self._copy is None:
            opened = ExitStack()
            cursor = opened.enter_context(self._dbapi().cursor())
            # Sent from a thread of psycopg's: parsing goes on while the socket waits.
            writer = QueuedLibpqWriter(cursor) if self.stream else None
            self._copy = opened.enter_context(cursor.copy(self._statement, writer=writer))
            self._open = opened
        return self._copy

    def _end_copy(self) -> None:
        opened, self._open, self._copy = self._open, None, None
        if opened is not None:
            opened.close()
