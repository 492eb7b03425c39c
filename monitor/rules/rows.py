"""The rows a scan reads: one per person in scope, the register's columns and the visit facts.

Why apart from :mod:`monitor.rules.scan`: this is the SQL side (which columns, which
people, stored facts or facts computed from the visits), the scan the rules' side (what is
owed from those rows). See the scan's docstring for why the facts are kept at import time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, null, or_, select

from monitor.register.derived import fresh_condition, visit_aggregates
from monitor.register.models import Offender, VisitFacts

#: Statuses out of scope whatever the dates.
OUT_OF_SCOPE_STATUSES: tuple[str, ...] = ("deceased", "deregistered")
#: People whose stored facts do not hold on the as-of date are computed from the visits by
#: reference, this many per statement (the list is bound three times, which stays under
#: SQLite's oldest limit of 999 parameters)...
LIVE_BY_REF = 300
#: ...in up to this many statements, while they are at most a quarter of the scope; beyond
#: that (an as-of date in the past, facts from before an older version's import) one
#: statement for the whole scope is cheaper.
LIVE_STATEMENTS = 40
#: Rows per fetch from a streamed scan.
STREAM_BATCH = 2000


def _scope_filters(as_of: date, team: str | None, officer: str | None) -> list[ColumnElement[bool]]:
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
    """The register columns the rules need, in the order :func:`scan` unpacks them."""
    columns: list[Any] = [
        Offender.ref,
        Offender.risk_level,
        Offender.status,
        Offender.team,
        Offender.offender_manager,
        Offender.registered_on,
        Offender.status_since,
        Offender.management,
        Offender.risk_assessed_on,
        Offender.last_notified_on,
        Offender.no_fixed_abode,
        Offender.absent_since,
    ]
    if include_names:
        return [*columns, Offender.surname, Offender.forenames, Offender.date_of_birth]
    return [*columns, null(), null(), null()]


def stored_facts_query(as_of: date, team: str | None, officer: str | None, include_names: bool) -> Select[Any]:
    """One row per in-scope person: register columns, then the stored visit facts.

    The facts columns are NULL (``failed_attempts`` included, which is otherwise never
    NULL) for people whose stored facts do not hold on ``as_of``.
    """
    holds = and_(
        VisitFacts.ref == Offender.ref,
        or_(VisitFacts.horizon.is_(None), VisitFacts.horizon <= as_of),
        fresh_condition(),
    )
    return (
        select(
            *_register_columns(include_names),
            VisitFacts.last_visit,
            VisitFacts.last_visit_any,
            VisitFacts.failed_attempts,
        )
        .select_from(Offender)
        .outerjoin(VisitFacts, holds)
        .where(*_scope_filters(as_of, team, officer))
    )


def live_facts_query(
    as_of: date, team: str | None, officer: str | None, include_names: bool, refs: Sequence[str] | None = None
) -> Select[Any]:
    """The same rows as :func:`stored_facts_query`, with the facts computed from the visits."""
    scope = _scope_filters(as_of, team, officer)
    agg = visit_aggregates(as_of, scope, refs)
    query = (
        select(
            *_register_columns(include_names),
            agg.latest.c.last_visit,
            agg.latest.c.last_visit_any,
            func.coalesce(agg.failed.c.failed_attempts, 0).label("failed_attempts"),
        )
        .select_from(Offender)
        .outerjoin(agg.latest, agg.latest.c.ref == Offender.ref)
        .outerjoin(agg.failed, agg.failed.c.ref == Offender.ref)
        .where(*scope)
    )
    return query.where(Offender.ref.in_(refs)) if refs is not None else query


def scan_rows(
    conn: Connection, as_of: date, team: str | None, officer: str | None, include_names: bool
) -> Iterator[Sequence[Any]]:
    """Every in-scope person once: stored facts where they hold, live facts for the rest.

    One statement when the stored facts hold for everyone (a scan on or after the latest
    visit date, after an import); more, set-based, for the rest otherwise.
    """
    pending: list[str] = []
    seen = 0
    # Streamed: on PostgreSQL a server-side cursor, so the driver never holds the whole
    # result (a national scan's rows were a quarter of the report's peak memory: 149 MB
    # against 114 MB at 100,000 people, same time); SQLite's cursor streams anyway.
    stored = stored_facts_query(as_of, team, officer, include_names).execution_options(
        stream_results=True, max_row_buffer=STREAM_BATCH
    )
    for row in conn.execute(stored):
        seen += 1
        if row[17] is None:  # failed_attempts: the stored facts do not hold
            pending.append(row[0])
        else:
            yield row
    if not pending:
        return
    if len(pending) <= LIVE_BY_REF * LIVE_STATEMENTS and len(pending) * 4 <= seen:
        # A few hundred people with visits after the as-of date: aggregating the whole
        # register's visits for them cost more than the rest of a national scan.
        for start in range(0, len(pending), LIVE_BY_REF):
            refs = pending[start : start + LIVE_BY_REF]
            yield from conn.execute(live_facts_query(as_of, team, officer, include_names, refs))
        return
    wanted = set(pending)
    live = conn.execute(live_facts_query(as_of, team, officer, include_names, None))
    yield from (row for row in live if row[0] in wanted)
