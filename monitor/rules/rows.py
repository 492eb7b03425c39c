"""The rows a scan reads: one per person in scope, the register's columns and the visit facts.

Dates come as day ordinals (:class:`day_number`), not ``date`` objects.

Why apart from :mod:`monitor.rules.scan`: this is the SQL side (which columns, which
people, stored facts or facts computed from the visits), the scan the rules' side (what is
owed from those rows). See the scan's docstring for why the facts are kept at import time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    null,
    or_,
    select,
)

from monitor.register.day_numbers import day_number
from monitor.register.derived import RECENT_COLUMNS, fresh_condition, visit_aggregates
from monitor.register.models import Offender, VisitFacts
from monitor.rules import stored_rows

#: Statuses out of scope whatever the dates.
OUT_OF_SCOPE_STATUSES: tuple[str, ...] = ("deceased", "deregistered")
# People computed from the visits per statement and rows per fetch: one value for both
# ways of reading the rows (stored_rows has no SQLAlchemy to import).
LIVE_BY_REF = stored_rows.LIVE_BY_REF
STREAM_BATCH = stored_rows.BATCH


def scope_filters(
    as_of: date | BindParameter[date], team: str | None, officer: str | None
) -> list[ColumnElement[bool]]:
    """Active registrants on ``as_of`` (a registration ending today is still in force)."""
    filters: list[ColumnElement[bool]] = [
        Offender.registered_on <= as_of,
        or_(Offender.registration_ends.is_(None), Offender.registration_ends >= as_of),
        Offender.status.not_in(OUT_OF_SCOPE_STATUSES),
    ]
    if team is not None:
        filters.append(Offender.team == team)
    if officer is not None:
        filters.append(Offender.offender_manager == officer)
    return filters


def _register_columns(include_names: bool) -> list[Any]:
    """The register columns the rules need, in the order :func:`scan` unpacks them; dates
    as day ordinals (:class:`day_number`)."""
    columns: list[Any] = [
        Offender.ref,
        Offender.risk_level,
        Offender.status,
        Offender.team,
        Offender.offender_manager,
        day_number(Offender.registered_on),
        day_number(Offender.status_since),
        Offender.management,
        day_number(Offender.risk_assessed_on),
        day_number(Offender.last_notified_on),
        Offender.no_fixed_abode,
        day_number(Offender.absent_since),
    ]
    if include_names:
        return [*columns, Offender.surname, Offender.forenames, day_number(Offender.date_of_birth)]
    return [*columns, null(), null(), null()]


def _practice_columns() -> list[Any]:
    """The practice measures' register columns, after the visit facts (see :func:`scan_rows`):
    the plan's interval; MAPPA as one number (:data:`MAPPA_CODE`); the last supervisor review
    as its day number, 0 for never, NULL when not recorded. Few columns on purpose: each
    costs the reader about as much whatever it holds (a national scan reads 93,000 rows)."""
    reviewed = func.coalesce(day_number(Offender.supervisor_reviewed_on), 0)
    mappa = func.coalesce(Offender.mappa_category, 0) * MAPPA_CODE + func.coalesce(Offender.mappa_level, 0)
    return [
        Offender.visit_interval,
        mappa.label("mappa"),
        case((Offender.supervisor_review_recorded.is_(True), reviewed)).label("reviewed"),
    ]


#: MAPPA as one number: category x 4 + level (0 where not given): 1 is level 1 of no
#: category, 6 category 1 level 2.
MAPPA_CODE = 4


#: Where the row's practice columns begin (register, personal and visit facts before them).
PRACTICE_FROM = 18


def stored_facts_query(
    as_of: date, team: str | None, officer: str | None, include_names: bool, recent_n: int | None = None
) -> Select[Any]:
    """One row per in-scope person: register columns, then the stored visit facts.

    The facts columns are NULL (``failed_attempts`` included, which is otherwise never
    NULL) for people whose stored facts do not hold on ``as_of``.

    ``recent_n``: the practice measures are on (``monitor.rules.practice``), so the row goes
    on with the practice register columns and the facts of the last ``recent_n`` completed
    home visits, and the stored facts hold only when kept for that N.

    The date is one parameter named ``as_of`` (and N one named ``recent_n``), and the rest is
    constant for a given ``include_names`` when neither ``team`` nor ``officer`` is given: so
    the statement can be kept as text (:mod:`monitor.rules.stored_rows`) and sent without
    SQLAlchemy.
    """
    day = bindparam("as_of", as_of, type_=Date())
    n = bindparam("recent_n", recent_n, type_=Integer()) if recent_n is not None else None
    holds = and_(
        VisitFacts.ref == Offender.ref,
        or_(VisitFacts.horizon.is_(None), VisitFacts.horizon <= day),
        fresh_condition(n),
    )
    columns = [
        *_register_columns(include_names),
        day_number(VisitFacts.last_visit),
        day_number(VisitFacts.last_visit_any),
        VisitFacts.failed_attempts,
    ]
    if n is not None:
        columns += [*_practice_columns(), *(getattr(VisitFacts, name) for name in RECENT_COLUMNS)]
    return select(*columns).select_from(Offender).outerjoin(VisitFacts, holds).where(*scope_filters(day, team, officer))


def live_facts_query(
    as_of: date,
    team: str | None,
    officer: str | None,
    include_names: bool,
    refs: Sequence[str] | None = None,
    recent_n: int | None = None,
) -> Select[Any]:
    """The same rows as :func:`stored_facts_query`, with the facts computed from the visits.

    As there, the date is one parameter named ``as_of`` (N one named ``recent_n``); ``refs``
    is one list parameter named ``refs`` wherever it is bound.
    """
    day = bindparam("as_of", as_of, type_=Date())
    chosen: BindParameter[Any] | None = bindparam("refs", list(refs), expanding=True) if refs is not None else None
    n = bindparam("recent_n", recent_n, type_=Integer()) if recent_n is not None else None
    scope = scope_filters(day, team, officer)
    agg = visit_aggregates(day, scope, chosen, n)
    columns = [
        *_register_columns(include_names),
        day_number(agg.latest.c.last_visit),
        day_number(agg.latest.c.last_visit_any),
        func.coalesce(agg.failed.c.failed_attempts, 0).label("failed_attempts"),
    ]
    if agg.recent is not None:
        columns += [*_practice_columns(), *(agg.recent.c[name] for name in RECENT_COLUMNS)]
    query = (
        select(*columns)
        .select_from(Offender)
        .outerjoin(agg.latest, agg.latest.c.ref == Offender.ref)
        .outerjoin(agg.failed, agg.failed.c.ref == Offender.ref)
    )
    if agg.recent is not None:
        query = query.outerjoin(agg.recent, agg.recent.c.ref == Offender.ref)
    query = query.where(*scope)
    return query.where(Offender.ref.in_(chosen)) if chosen is not None else query


def scan_rows(
    conn: Connection,
    as_of: date,
    team: str | None,
    officer: str | None,
    include_names: bool,
    recent_n: int | None = None,
) -> Iterator[Sequence[Any]]:
    """Every in-scope person once: stored facts where they hold, live facts for the rest.

    One statement when the stored facts hold for everyone (a scan on or after the latest
    visit date, after an import); more, set-based, for the rest otherwise. Rows are read
    through :func:`driver_rows`. ``recent_n``: with the practice columns (see
    :func:`stored_facts_query`).
    """
    pending: list[str] = []
    seen = 0
    stored = stored_facts_query(as_of, team, officer, include_names, recent_n)
    if conn.dialect.name == "sqlite":
        # In reference order: SQLite then reads the register through its primary-key index,
        # which costs nothing more (and finds each person's facts in the same order), and the
        # scan's sorts (reference first) run over lists already in that order. PostgreSQL
        # would sort in its own collation, which is not Python's, for no gain.
        stored = stored.order_by(Offender.ref)
    for row in driver_rows(conn, stored):
        seen += 1
        if row[17] is None:  # failed_attempts: the stored facts do not hold
            pending.append(row[0])
        else:
            yield row
    if not pending:
        return
    if stored_rows.by_reference(len(pending), seen, LIVE_BY_REF):
        # A few hundred people with visits after the as-of date: aggregating the whole
        # register's visits for them cost more than the rest of a national scan.
        for start in range(0, len(pending), LIVE_BY_REF):
            refs = pending[start : start + LIVE_BY_REF]
            yield from driver_rows(conn, live_facts_query(as_of, team, officer, include_names, refs, recent_n))
        return
    wanted = set(pending)
    live = driver_rows(conn, live_facts_query(as_of, team, officer, include_names, None, recent_n))
    yield from (row for row in live if row[0] in wanted)


def driver_rows(conn: Connection, statement: Select[Any]) -> Iterator[Sequence[Any]]:
    """The statement's rows, streamed, without a ``Row`` per row where the engine allows.

    SQLite: straight off the DB-API cursor, in batches of :data:`STREAM_BATCH`. Why:
    SQLAlchemy executes the statement (binding and converting its parameters), but a national
    scan's 93,000 rows cost half as much again read through its result (0.77 s against 1.2 s)
    as off the cursor underneath, and every column the scan reads needs no conversion (text,
    integers, dates as :class:`day_number`). sqlite3's cursor steps through the result as it
    is read, and SQLAlchemy's plain result has read nothing from it yet.

    PostgreSQL: through SQLAlchemy, on a server-side cursor, so neither the driver nor
    libpq ever holds the whole result (a national report's peak fell from 149 MB to 114 MB,
    same time). SQLAlchemy reads that cursor's first row ahead into its own buffer, so it
    is read through SQLAlchemy's result, ``Row`` objects and all.
    """
    if conn.dialect.name != "sqlite":
        streamed = conn.execute(statement.execution_options(stream_results=True, max_row_buffer=STREAM_BATCH))
        try:
            yield from streamed
        finally:
            streamed.close()
        return
    result = conn.execute(statement)
    try:
        cursor = result.cursor
        while batch := cursor.fetchmany(STREAM_BATCH):
            yield from batch
    finally:
        result.close()
