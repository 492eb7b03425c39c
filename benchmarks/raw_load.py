"""Yardstick: load an extract with no validation at all, into the product's own tables.

Why: an importer's cost has a floor, moving the bytes from CSV into indexed tables; the
product's import is judged as a multiple of it. This is that floor, measured as a whole
process on the same database engine in the same run: stdlib ``csv`` plus ``executemany``
(SQLite, in 10,000-row batches) or ``COPY ... FROM STDIN`` (PostgreSQL), in file order,
one transaction, into tables the product's migration created (same keys, indexes and
foreign keys), with SQLite set up as the product sets it (WAL, synchronous NORMAL,
foreign keys on).

    python benchmarks/raw_load.py DATABASE_URL EXTRACT_DIR MANIFEST

No value is parsed or checked: header names are lower-cased to find the columns, empty
cells become NULL, and PostgreSQL parses the date text itself (DateStyle DMY reads
``DD/MM/YYYY``). It must not fail on the bad rows, so it skips the lines the generator's
manifest lists as bad (a set lookup per row): it loads the rows the product stores.
It imports nothing from ``monitor``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: Load order (visits refer to offenders), and each table's columns that a CSV may fill.
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
BATCH = 10_000


def rows(path: Path, table: str, skip: set[int]) -> tuple[list[str], Iterator[list[Any]]]:
    """The table columns present in the file, and each row's values for them (raw text)."""
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
                yield [record[i] or None for i in positions]

    return [h for _, h in wanted], generate()


def load_sqlite(path: str, extract: Path, skips: dict[str, set[int]], stamp: str) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    counts = {}
    conn.execute("BEGIN IMMEDIATE")
    for table in TABLES:
        columns, values = rows(extract / f"{table}.csv", table, skips[f"{table}.csv"])
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}, updated_at) "
            f"VALUES ({', '.join('?' * len(columns))}, '{stamp}')"
        )
        n = 0
        batch: list[list[Any]] = []
        for row in values:
            batch.append(row)
            if len(batch) >= BATCH:
                conn.executemany(sql, batch)
                n += len(batch)
                batch.clear()
        conn.executemany(sql, batch)
        counts[table] = n + len(batch)
    conn.execute("COMMIT")
    conn.close()
    return counts


def load_postgresql(url: str, extract: Path, skips: dict[str, set[int]], stamp: str) -> dict[str, int]:
    import psycopg

    counts = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SET DateStyle = 'ISO, DMY'")
        for table in TABLES:
            columns, values = rows(extract / f"{table}.csv", table, skips[f"{table}.csv"])
            n = 0
            with cur.copy(f"COPY {table} ({', '.join(columns)}, updated_at) FROM STDIN") as copy:
                for row in values:
                    row.append(stamp)
                    copy.write_row(row)
                    n += 1
            counts[table] = n
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
