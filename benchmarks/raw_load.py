"""Yardstick: the fastest honest load of an extract with no validation, the standard library's way.

Why: an importer's cost has a floor, moving the bytes from CSV into indexed tables; the
product's import is judged as a multiple of it (issue 21: the first import of the national
register within 3x, a re-import of the same extract within 2x). This is that floor, as a
whole process on the same database engine in the same run:

* the CSV streamed (stdlib ``csv``) straight into the driver: one ``executemany`` over a
  generator per table on SQLite, ``COPY ... FROM STDIN`` on PostgreSQL; one transaction;
* into bare tables: the register's three tables are dropped and made again with the same
  columns but no key, no index and no foreign key, so no row pays for an index;
* then the indexes built afterwards, each in one pass: the keys (unique) and the product's
  own secondary indexes, so the tables end as indexed as the product's.

SQLite is set up as the product sets it (WAL, synchronous NORMAL).

    python benchmarks/raw_load.py DATABASE_URL EXTRACT_DIR MANIFEST

No value is parsed or checked: header names are lower-cased to find the columns, empty
cells become NULL, dates stay text. It must not fail on the bad rows, so it skips the lines
the generator's manifest lists as bad (a set lookup per row): it loads the rows the product
stores. It imports nothing from ``monitor``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Load order, and each table's columns that a CSV may fill (plus the stamp every row gets).
TABLES: dict[str, tuple[str, ...]] = {
    "officers": ("officer_id", "name", "email", "team", "role", "active"),
    "offenders": (
        "ref",
        "risk_level",
        "status",
        "team",
        "offender_manager",
        "registered_on",
        "status_since",
        "management",
        "risk_assessed_on",
        "last_notified_on",
        "no_fixed_abode",
        "registration_ends",
        "surname",
        "forenames",
        "date_of_birth",
    ),
    "visits": ("visit_id", "ref", "visit_date", "outcome", "visit_type", "officer"),
}
#: The indexes the product's tables carry (its keys, then its secondary indexes), built after loading.
INDEXES: tuple[tuple[str, str, str, bool], ...] = (
    ("officers", "raw_officers_key", "officer_id", True),
    ("officers", "raw_officers_team", "team", False),
    ("offenders", "raw_offenders_key", "ref", True),
    ("offenders", "raw_offenders_team", "team", False),
    ("offenders", "raw_offenders_manager", "offender_manager", False),
    ("visits", "raw_visits_key", "visit_id", True),
    ("visits", "raw_visits_scan", "ref, outcome, visit_type, visit_date", False),
)


def rows(path: Path, table: str, skip: set[int], stamp: str) -> tuple[list[str], Iterator[list[Any]]]:
    """The table columns present in the file, and each row's values for them (raw text), streamed."""
    fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by the generator
    reader = csv.reader(fh)
    header = [h.strip().lower() for h in next(reader)]
    wanted = [(i, h) for i, h in enumerate(header) if h in TABLES[table]]
    positions = [i for i, _ in wanted]

    def generate() -> Iterator[list[Any]]:
        with fh:
            for line, record in enumerate(reader, start=2):
                if line in skip:
                    continue
                yield [*(record[i] or None for i in positions), stamp]

    return [h for _, h in wanted], generate()


def _bare(columns: tuple[str, ...]) -> str:
    return ", ".join([*(f"{c} TEXT" for c in columns), "updated_at TEXT"])


def load_sqlite(path: str, extract: Path, skips: dict[str, set[int]], stamp: str) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = OFF")
    counts = {}
    conn.execute("BEGIN IMMEDIATE")
    for table in reversed(TABLES):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    for table, columns in TABLES.items():
        conn.execute(f"CREATE TABLE {table} ({_bare(columns)})")
        present, values = rows(extract / f"{table}.csv", table, skips[f"{table}.csv"], stamp)
        sql = f"INSERT INTO {table} ({', '.join(present)}, updated_at) VALUES ({', '.join('?' * (len(present) + 1))})"
        counts[table] = conn.executemany(sql, values).rowcount
    for table, name, columns, unique in INDEXES:
        conn.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} ON {table} ({columns})")
    conn.execute("COMMIT")
    conn.close()
    return counts


def load_postgresql(url: str, extract: Path, skips: dict[str, set[int]], stamp: str) -> dict[str, int]:
    import psycopg

    counts = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for table in reversed(TABLES):
            cur.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        for table, columns in TABLES.items():
            cur.execute(f"CREATE TABLE {table} ({_bare(columns)})")
            present, values = rows(extract / f"{table}.csv", table, skips[f"{table}.csv"], stamp)
            n = 0
            with cur.copy(f"COPY {table} ({', '.join(present)}, updated_at) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
                    n += 1
            counts[table] = n
        for table, name, columns, unique in INDEXES:
            cur.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} ON {table} ({columns})")
    return counts


def main(argv: list[str]) -> None:
    url, extract_dir, manifest_path = argv[:3]
    extract = Path(extract_dir)
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    skips = {name: {line for line, _kind in facts["bad"]} for name, facts in manifest["files"].items()}
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if url.startswith("sqlite:///"):
        counts = load_sqlite(url[len("sqlite:///") :], extract, skips, stamp)
    else:
        counts = load_postgresql(url.replace("postgresql+psycopg://", "postgresql://"), extract, skips, stamp)
    print(json.dumps(counts))


if __name__ == "__main__":
    main(sys.argv[1:])
