"""The scan's rows as the driver gives them (monitor.rules.rows): dates as day ordinals,
every row read, the cursor closed.

Why: on SQLite the scan reads the DB-API cursor under SQLAlchemy's result instead of the
result itself, and takes dates as integers the database computes. A row read ahead and
lost (SQLAlchemy's streamed results read one row ahead into their own buffer), a day
off at a month end, a leap day or before 1970, or a cursor left open would each be a
wrong report without an error. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date

import pytest
from builders import add_offender
from sqlalchemy import Engine, literal_column, select

from monitor.register.db import reading, transaction
from monitor.register.models import Offender
from monitor.rules.rows import STREAM_BATCH, day_number, driver_rows, stored_facts_query

DAYS = [
    date(1, 1, 1),
    date(1969, 12, 31),
    date(1970, 1, 1),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2026, 3, 29),  # the clocks go forward in London: no time of day may creep in
    date(2026, 10, 25),
    date(2026, 12, 31),
    date(9999, 12, 31),
]


def test_day_number_is_the_dates_ordinal(engine: Engine) -> None:
    with transaction(engine) as s:
        for n, day in enumerate(DAYS):
            add_offender(s, f"R{n:02d}", registered_on=day, status_since=None)
    with reading(engine) as s:
        query = select(Offender.ref, day_number(Offender.registered_on), day_number(Offender.status_since))
        got = {ref: (registered, since) for ref, registered, since in s.execute(query)}
    assert got == {f"R{n:02d}": (day.toordinal(), None) for n, day in enumerate(DAYS)}


@pytest.mark.parametrize("people", [0, 1, STREAM_BATCH, STREAM_BATCH + 1, 2 * STREAM_BATCH + 7])
def test_driver_rows_reads_every_row_once(engine: Engine, people: int) -> None:
    """Across batch edges, and with one row (which a read-ahead would lose whole)."""
    with transaction(engine) as s:
        for n in range(people):
            add_offender(s, f"R{n:05d}")
    query = stored_facts_query(date(2026, 11, 23), None, None, False)
    with reading(engine) as s:
        conn = s.connection()
        expected = sorted(tuple(row) for row in conn.execute(query))
        got = sorted(tuple(row) for row in driver_rows(conn, query))
    assert len(got) == people
    assert got == expected


def test_driver_rows_closes_its_cursor_when_left_early(engine: Engine) -> None:
    """A reader that stops early (an error in the scan) leaves no cursor open: the same
    connection runs the next statement, and on PostgreSQL a server-side cursor would
    otherwise hold the transaction's snapshot."""
    with transaction(engine) as s:
        for n in range(5):
            add_offender(s, f"R{n}")
    with reading(engine) as s:
        conn = s.connection()
        rows = driver_rows(conn, stored_facts_query(date(2026, 11, 23), None, None, False))
        next(rows)
        rows.close()
        assert conn.execute(select(literal_column("1"))).scalar() == 1
