"""What the practice measures read besides one row per person: the register's own record of
which practice columns it holds, and the completed home visits of the look-back.

Why apart from :mod:`monitor.rules.rows`: those are the scan's per-person rows; these are
one row per visit, over a window that moves with the as-of date (lone and announced visits
within ``[policy] lone_visit_lookback``), which no per-person fact kept at import can hold.
The window is a range of a partial index of completed home visits by date, so a national
register's quarter of visits (about 50,000) costs one index range, not the history.
Both statements are constant but for their parameters, so the SQLite reader without
SQLAlchemy keeps them as text too (:mod:`monitor.rules.stored_rows`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Date, Select, bindparam, select, text

from monitor.core.durations import Duration
from monitor.register.day_numbers import day_number
from monitor.register.derived import STATE_ID, split_columns
from monitor.register.models import COMPLETED_HOME, Offender, Visit, VisitFactsState
from monitor.rules.practice import lookback_start
from monitor.rules.rows import driver_rows, scope_filters


@dataclass(frozen=True)
class RegisterState:
    """What the register records: the optional practice columns any import's files had,
    and the N its stored facts of the last N visits were kept for (None: not kept)."""

    practice_columns: frozenset[str]
    recent_n: int | None


def state_query() -> Select[Any]:
    columns: list[Any] = [VisitFactsState.practice_columns, VisitFactsState.recent_n]
    return select(*columns).where(VisitFactsState.id == STATE_ID)


def register_state(conn: Connection) -> RegisterState:
    row = conn.execute(state_query()).first()
    return state_of(row)


def state_of(row: Sequence[Any] | None) -> RegisterState:
    """:class:`RegisterState` from the state row (None before the first import)."""
    if row is None:
        return RegisterState(frozenset(), None)
    return RegisterState(frozenset(split_columns(row[0])), row[1])


def _window(as_of: date, start: date) -> tuple[Any, ...]:
    day = bindparam("as_of", as_of, type_=Date())
    after = bindparam("lookback_start", start, type_=Date())
    # Written out, not bound, so that each engine uses the partial index of these visits.
    completed_home = text(f"visits.{COMPLETED_HOME.replace(' AND ', ' AND visits.')}")
    return (completed_home, Visit.visit_date > after, Visit.visit_date <= day)


def visits_query(as_of: date, start: date, team: str | None, officer: str | None) -> Select[Any]:
    """The look-back's completed home visits: (visit_id, ref, visit day number, officer or
    None, paired or None, announced or None). Parameters ``as_of`` and ``lookback_start``.

    Force-wide, read from the partial index of completed home visits alone
    (``ix_visits_completed_home_date``), which holds every column read: the scan has just
    read everyone in scope, so it keeps the visits of people it knows, looks up who they
    are itself, and tallies them per (team, risk level, visiting officer) and lists the
    lone ones (:mod:`monitor.rules.practice_scan`). Why not counted by the database: the
    count joined each of a national quarter's 45,000 visits to the register by reference
    and grouped them in a temporary tree; reading the index and counting in the scan, which
    already knows everyone, costs about 300 million instructions less on SQLite
    (``benchmarks/instructions.py``: 9,047 -> 8,731 million for ``report --section
    overdue_visit``). For a team or officer, joined to the register and limited to that scope.
    """
    day = bindparam("as_of", as_of, type_=Date())
    columns: list[Any] = [
        Visit.visit_id,
        Visit.ref,
        day_number(Visit.visit_date),
        Visit.officer,
        Visit.paired,
        Visit.announced,
    ]
    if team is None and officer is None:
        return select(*columns).where(*_window(as_of, start))
    return (
        select(*columns)
        .join(Offender, Offender.ref == Visit.ref)
        .where(*_window(as_of, start), *scope_filters(day, team, officer))
    )


def lookback_rows(
    conn: Connection, as_of: date, lookback: Duration, team: str | None, officer: str | None
) -> Iterator[Sequence[Any]]:
    """The look-back's completed home visits (:func:`visits_query`), streamed."""
    start = lookback_start(as_of, lookback)
    return driver_rows(conn, visits_query(as_of, start, team, officer))
