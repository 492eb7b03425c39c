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
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from monitor.register import models
from monitor.register.bulk import NewRows
from monitor.register.fields import Spec
from monitor.register.results import Reject

#: Rows validated before a bulk write; bounds memory whatever the file size.
CHUNK_ROWS = 5000
#: Keys per ``IN (...)`` list: far below SQLite's and PostgreSQL's bind-parameter limits.
MAX_IN_KEYS = 5000

#: PostgreSQL advisory lock held by an import's transaction ("vmim").
IMPORT_LOCK_KEY = 0x766D696D


def prepare(session: Session, *, dry: bool = False) -> int:
    """Ready the transaction for an import; returns the keys allowed per ``IN (...)`` list.

    A dry run (``dry``) writes nothing, so it takes turns with no one.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # BEGIN IMMEDIATE (see db.transaction) already serialises writers.
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
    key_col = getattr(model, spec.key)
    cols = [getattr(model, c) for c in spec.columns]
    existing: dict[str, Sequence[Any]] = {}
    keys = [] if fresh else [r[spec.key] for r in rows]
    for chunk in chunks(keys, in_limit):
        for found in session.execute(select(key_col, *cols).where(key_col.in_(chunk))):
            existing[found[0]] = found[1:]
    position = {c: i for i, c in enumerate(spec.columns)}
    stamp = {"import_id": import_id, "updated_at": now}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for values in rows:
        old = existing.get(values[spec.key])
        if old is None:
            inserts.append({**spec.insert_defaults, **values, **stamp})
        elif any(old[position[c]] != v for c, v in values.items() if c != spec.key):
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
