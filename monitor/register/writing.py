"""Writing validated rows into the register, set-based, inside the import's transaction.

A force's visit history runs to a million rows, so nothing here goes row by row: each
chunk of parsed rows costs one bulk SELECT of the existing keys (none when the table was
empty when the file began: everything is new), one bulk INSERT of the new rows and one
ORM bulk UPDATE (by primary key) of the changed ones. Unchanged rows are not written at
all, so re-importing the same extract leaves ``updated_at`` and ``import_id`` as they were.

New rows bypass the ORM and go to the driver (``bulk.NewRows``: COPY on PostgreSQL).
The per-database details (PostgreSQL's advisory lock and fresh planner statistics,
SQLite's bind-parameter limit) live here too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Index, Table, any_, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, DropIndex

from monitor.register import models
from monitor.register.bulk import NewRows
from monitor.register.results import Reject
from monitor.register.specs import Spec

#: Rows validated before a bulk write; bounds memory whatever the file size.
CHUNK_ROWS = 5000
#: Keys per ``IN (...)`` list: far below SQLite's and PostgreSQL's bind-parameter limits.
MAX_IN_KEYS = 5000

#: PostgreSQL advisory lock held by an import's transaction ("vmim").
IMPORT_LOCK_KEY = 0x766D696D


#: SQLite's page cache while an import writes (KiB): a national visits table's indexes take
#: keys in random order, and with SQLite's default 2 MB nearly every insert went to the OS
#: for a page (about a fifth of a first import's time). It also bounds the sorter that
#: builds an index (so, with the cache, up to twice this is held). Put back when the import ends.
IMPORT_CACHE_KIB = 32 * 1024


def prepare(session: Session, *, dry: bool = False) -> int:
    """Ready the transaction for an import; returns the keys allowed per ``IN (...)`` list.

    A dry run (``dry``) writes nothing, so it takes turns with no one.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # BEGIN IMMEDIATE (see db.transaction) already serialises writers.
        if not dry:
            session.info["cache_size"] = session.execute(text("PRAGMA cache_size")).scalar()
            session.execute(text(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))
        return min(MAX_IN_KEYS, _sqlite_variable_limit(session) - 10)
    if dialect == "postgresql" and not dry:
        # Two imports at once (the daemon's scheduled one and a manual one) would both
        # see a new key as absent and the second would fail on the primary key: take
        # turns instead, for the length of the transaction.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})
    return MAX_IN_KEYS


def write_chunk(
    session: Session,
    spec: Spec,
    rows: list[dict[str, Any]],
    counts: dict[str, int],
    *,
    import_id: int,
    now: datetime,
    in_limit: int,
    new_rows: NewRows | None,
    fresh: bool = False,
) -> None:
    """Set-based upsert of one chunk: bulk SELECT existing, bulk INSERT new, bulk UPDATE changed.

    ``fresh``: the table held no rows when this file began (and keys within a file are
    unique, duplicates being rejected), so no row can exist yet and none is looked up.
    Without ``new_rows`` (a dry run) the chunk is only counted: nothing is written.
    """
    model = spec.model
    table = cast(Table, model.__table__)
    key = spec.key
    # The stored columns this file gives, in the order the parser gives them (the same for
    # every row of a file), compared as one tuple each: a re-import is mostly comparing.
    names = [c for c in rows[0] if c != key]
    given = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    existing: dict[str, tuple[Any, ...]] = {}
    if not fresh:
        # Core, not the ORM: the columns' own type processing, without building ORM rows.
        key_col, conn = table.c[key], session.connection()
        query = select(key_col, *(table.c[n] for n in names)).where(_among(key_col, conn.dialect.name))
        for chunk in chunks([r[key] for r in rows], in_limit):
            for found in conn.execute(query, {"keys": list(chunk)}).all():
                existing[found[0]] = tuple(found[1:])
    stamp = {"import_id": import_id, "updated_at": now}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for values in rows:
        old = existing.get(values[key])
        if old is None:
            inserts.append({**spec.insert_defaults, **values, **stamp})
        elif old != given(values):
            updates.append({**values, **stamp})
        else:
            counts["unchanged"] += 1
    counts["inserted"] += len(inserts)
    counts["updated"] += len(updates)
    if new_rows is None:
        return
    if inserts:
        new_rows.write(inserts)
    # The ORM groups consecutive rows by which values are None and emits one
    # statement per group: sort so a chunk is a handful of executemany calls, not
    # thousands (visits alternate between having a time and not).
    if updates:
        updates.sort(key=_none_pattern)
        session.execute(update(model), updates)


def _among(key_col: Any, dialect: str) -> Any:
    """``key IN (the chunk's keys)``, bound as the parameter ``keys`` (a list).

    PostgreSQL: ``key = ANY(:keys)``, one array parameter. Why: an expanding ``IN`` of
    5,000 parameters was rendered by SQLAlchemy, parsed by psycopg (too long for its cache)
    and planned by the server afresh for every chunk, about a third of a national
    re-import's time (a re-import is mostly this lookup). SQLite has no arrays: there the
    ``IN`` list stays, within its bind-parameter limit.
    """
    if dialect == "postgresql":
        return key_col == any_(bindparam("keys", type_=ARRAY(key_col.type)))
    return key_col.in_(bindparam("keys", expanding=True))


def finish(session: Session) -> None:
    """Undo what :func:`prepare` set on the connection (it goes back to the pool)."""
    if "cache_size" in session.info:
        session.execute(text(f"PRAGMA cache_size = {int(session.info.pop('cache_size'))}"))


def drop_indexes(session: Session, spec: Spec) -> list[Index]:
    """On SQLite, drop the secondary indexes of a table that is empty, for :func:`build_indexes`.

    A first import of a national register wrote 1.1 million visits through an index of
    four columns in random order; built once after the rows are in, it is one sorted pass.
    Only SQLite: there the schema change is part of the import's transaction and readers
    keep their snapshot, where PostgreSQL would lock the table against every reader.
    """
    if session.get_bind().dialect.name != "sqlite":
        return []
    indexes = sorted(cast(Table, spec.model.__table__).indexes, key=lambda i: str(i.name))
    for index in indexes:
        session.execute(DropIndex(index))
    return indexes


def build_indexes(session: Session, indexes: list[Index]) -> None:
    for index in indexes:
        session.execute(CreateIndex(index))


def is_empty(session: Session, spec: Spec) -> bool:
    """Whether the file's table holds no rows (so every row of the file is new)."""
    return session.execute(select(getattr(spec.model, spec.key)).limit(1)).first() is None


def store_rejects(session: Session, import_id: int, rejects: list[Reject]) -> None:
    """Keep the rejected rows' places and reasons in ``import_rejects``."""
    for chunk in chunks(rejects, CHUNK_ROWS):
        session.execute(
            insert(models.ImportReject),
            [
                {"import_id": import_id, "file": r.file, "line": r.line, "field": r.field, "reason": r.reason}
                for r in chunk
            ],
        )


def refresh_statistics(session: Session, counts: dict[str, dict[str, int]]) -> None:
    """On PostgreSQL, after rows were written, fresh planner statistics in the same transaction."""
    if session.get_bind().dialect.name == "postgresql" and any(
        c.get("inserted") or c.get("updated") for c in counts.values()
    ):
        # Without them PostgreSQL guesses one row for the scan's visit aggregate right
        # after a big import and picks a nested loop: the force-wide scan took ~300 s
        # instead of ~1 s at 100,000 people (autovacuum may not have run before the next
        # digest job).
        session.execute(text("ANALYZE officers, offenders, visits"))


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _none_pattern(row: dict[str, Any]) -> tuple[bool, ...]:
    return tuple(v is None for v in row.values())


def _sqlite_variable_limit(session: Session) -> int:
    """SQLite's bind-parameter limit for this connection (999 on old builds)."""
    try:
        dbapi = session.connection().connection.dbapi_connection
        if isinstance(dbapi, sqlite3.Connection):
            return int(dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):
        pass
    return 999
