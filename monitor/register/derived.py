"""Visit facts kept at import time, so a scan reads one row per person, not the visit history.

Why: every report, digest, snapshot and metrics scrape scans the whole register, and the
visit history is ten times its size (about a million rows at national scale). What the
rules take from it per person is three facts: the latest completed home visit since the
current status began (S), the latest completed home visit ever, and the no-access home
visits since the former. None of them depends on the as-of date once that date is on or
after the person's latest completed or no-access home visit (the *horizon*), which for a
report on today is everyone but people with future-dated visits. So each import refreshes
them inside its own transaction (one grouped ``INSERT ... SELECT``) and the scan joins them
to the register.

The same aggregates bounded by an as-of date (:func:`visit_aggregates`) serve the cases the
stored facts do not cover: a past as-of date, a person with a later visit, or facts older
than the register. One definition for both keeps stored and live facts equal by
construction, and tests/rules/test_oracle_agreement.py checks both paths against an independent
implementation.

Freshness: ``visit_facts_state.import_id`` names the import after which the facts were
refreshed; :func:`fresh_condition` trusts them only while no later import that may have
changed the register exists (an older version of the service importing without refreshing,
say). The register is written only by ``import``; anything else that writes offenders or
visits must call :func:`refresh` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    delete,
    distinct,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
    union,
)
from sqlalchemy.orm import Session

from monitor.core.clock import now_utc
from monitor.register.day_numbers import day_number
from monitor.register.models import ImportRun, Offender, Visit, VisitFacts, VisitFactsState

#: The single row of visit_facts_state.
STATE_ID = 1
#: Beyond this share of the register touched by one import, recomputing everyone is cheaper.
INCREMENTAL_SHARE = 0.2
#: References bound per statement in a partial refresh (each list is bound twice or three
#: times, under SQLite's oldest limit of 999 parameters).
REFS_PER_STATEMENT = 300
#: Visit outcomes the facts read (cancelled visits never count; nor do visits of type "other").
COUNTED_OUTCOMES: tuple[str, ...] = ("completed", "no_access")


def status_start() -> ColumnElement[date]:
    """S: the date the current status began, else the registration date."""
    return func.coalesce(Offender.status_since, Offender.registered_on)


@dataclass(frozen=True)
class Aggregates:
    """Selectables to LEFT JOIN to offenders on ``ref``.

    ``latest``: ``last_visit`` (latest completed home visit in [S, as_of]),
    ``last_visit_any`` (latest completed home visit on or before as_of, any date) and
    ``horizon`` (latest completed or no-access home visit on or before as_of);
    ``failed``: ``failed_attempts``, no-access home visits after ``last_visit`` (or on or
    after S when there is none) up to as_of; ``recent`` (only when asked for): the
    :data:`RECENT_COLUMNS` of the last N completed home visits up to as_of.
    """

    latest: Any
    failed: Any
    recent: Any = None


#: The fact of a person's last N completed home visits (predictable visits; docs/practice.md):
#: one integer, :data:`PATTERN_BITS` (one column, not seven: a national scan reads it 93,000 times).
RECENT_COLUMNS: tuple[str, ...] = ("recent_pattern",)
#: ``recent_pattern``: 0 when the person has fewer than N completed home visits; else the sum of
#: (weekday + 1) when all N fell on one weekday (Monday 1 ... Sunday 7, else 0), 8 when all
#: N have a time, 16 when all have one and none is in the evening, 32 when all have one and
#: they lie within two hours of each other, and 64 x the earliest and 131,072 x the latest
#: time of day (minutes after midnight) when they do.
PATTERN_BITS = {"weekday": 7, "timed": 8, "never_evening": 16, "window": 32, "earliest": 64, "latest": 131_072}
#: All N within this many minutes of each other on the clock: one "two-hour window".
WINDOW_MINUTES = 120
#: A visit at or after this minute of the day (18:00) is an evening visit; the clock
#: wraps at midnight, so visits up to 23:59 count.
EVENING_FROM = 18 * 60


def visit_aggregates(
    as_of: date | BindParameter[date] | None,
    where: Sequence[ColumnElement[bool]] = (),
    refs: Sequence[str] | BindParameter[Any] | None = None,
    recent: int | BindParameter[int] | None = None,
) -> Aggregates:
    """The visit facts as of ``as_of`` (None: no bound), grouped by ref, set-based.

    ``where`` restricts the offenders (the scan's scope); ``refs`` restricts the visits read to
    those references, so a handful of people cost a handful of index seeks.
    ``latest`` is a CTE because ``failed`` reads it too (each planner computes it once).
    ``recent``: N, to compute the facts of everyone's last N completed home visits too.
    """
    start = status_start()
    bounds: list[ColumnElement[bool]] = [*where]
    if as_of is not None:
        bounds.append(Visit.visit_date <= as_of)
    if refs is not None:
        bounds.append(Visit.ref.in_(refs))
    completed = Visit.outcome == "completed"
    latest = (
        select(
            Visit.ref.label("ref"),
            func.max(case((and_(completed, start <= Visit.visit_date), Visit.visit_date))).label("last_visit"),
            func.max(case((completed, Visit.visit_date))).label("last_visit_any"),
            func.max(Visit.visit_date).label("horizon"),
        )
        .join(Offender, Offender.ref == Visit.ref)
        .where(Visit.outcome.in_(COUNTED_OUTCOMES), Visit.visit_type == "home", *bounds)
        .group_by(Visit.ref)
        .cte("latest")
    )
    failed = (
        select(Visit.ref.label("ref"), func.count().label("failed_attempts"))
        .join(Offender, Offender.ref == Visit.ref)
        .outerjoin(latest, latest.c.ref == Visit.ref)
        .where(
            Visit.outcome == "no_access",
            Visit.visit_type == "home",
            Visit.visit_date >= start,
            or_(latest.c.last_visit.is_(None), Visit.visit_date > latest.c.last_visit),
            *bounds,
        )
        .group_by(Visit.ref)
        .subquery("failed")
    )
    if recent is None:
        return Aggregates(latest=latest, failed=failed)
    return Aggregates(latest=latest, failed=failed, recent=_recent(recent, bounds, bool(where)))


def _recent(n: int | BindParameter[int], bounds: Sequence[ColumnElement[bool]], scoped: bool) -> Any:
    """``recent_pattern`` (:data:`PATTERN_BITS`) per person: their last ``n`` completed home
    visits, newest first by date, then time of day (a visit with no time after those with
    one), then id; weekdays from the day number (``(day + 6) % 7`` is ``date.weekday()``),
    times in minutes after midnight. ``scoped``: ``bounds`` restrict the offenders too (the
    scan's scope), so they are joined."""
    order = (Visit.visit_date.desc(), Visit.visit_minute.desc().nulls_last(), Visit.visit_id.desc())
    visits = select(
        Visit.ref.label("ref"),
        ((day_number(Visit.visit_date) + 6) % 7).label("weekday"),
        Visit.visit_minute.label("minute"),
        func.row_number().over(partition_by=Visit.ref, order_by=order).label("visit_rank"),
    )
    if scoped:
        visits = visits.join(Offender, Offender.ref == Visit.ref)
    ranked = visits.where(Visit.outcome == "completed", Visit.visit_type == "home", *bounds).subquery("ranked")
    minute = ranked.c.minute
    last = (
        select(
            ranked.c.ref.label("ref"),
            func.count().label("visits"),
            func.count(distinct(ranked.c.weekday)).label("weekdays"),
            func.min(ranked.c.weekday).label("weekday"),
            func.count(minute).label("timed"),
            func.min(minute).label("earliest"),
            func.max(minute).label("latest"),
            func.sum(case((minute >= EVENING_FROM, 1), else_=0)).label("evening"),
        )
        .where(ranked.c.visit_rank <= n)
        .group_by(ranked.c.ref)
        .subquery("last_visits")
    )
    c = last.c
    earliest, latest = type_coerce(c.earliest, Integer), type_coerce(c.latest, Integer)  # past a smallint's range
    timed = c.timed == n
    code = (
        case((c.weekdays == 1, c.weekday + 1), else_=0)
        + case((timed, PATTERN_BITS["timed"]), else_=0)
        + case((and_(timed, c.evening == 0), PATTERN_BITS["never_evening"]), else_=0)
        + case(
            (
                and_(timed, c.latest - c.earliest <= WINDOW_MINUTES),
                PATTERN_BITS["window"] + PATTERN_BITS["earliest"] * earliest + PATTERN_BITS["latest"] * latest,
            ),
            else_=0,
        )
    )
    return select(c.ref, case((c.visits == n, code), else_=0).label("recent_pattern")).subquery("recent")


def fresh_condition(recent_n: BindParameter[int] | None = None) -> ColumnElement[bool]:
    """True while the stored facts describe the register: refreshed, and no import since.

    An import that failed was rolled back and changed nothing, so it does not count.
    ``recent_n``: the scan reads the facts of the last N visits too, which hold only when
    they were kept for that N.
    """
    refreshed = select(VisitFactsState.import_id).where(VisitFactsState.id == STATE_ID).scalar_subquery()
    later = exists().where(ImportRun.id > refreshed, ImportRun.outcome != "failed")
    if recent_n is None:
        return and_(refreshed.is_not(None), ~later)
    kept_n = select(VisitFactsState.recent_n).where(VisitFactsState.id == STATE_ID).scalar_subquery()
    return and_(refreshed.is_not(None), ~later, kept_n == recent_n)


def refresh(
    session: Session,
    import_id: int,
    *,
    changed: bool = True,
    visits_updated: bool = True,
    recent_n: int | None = None,
    practice_columns: Iterable[str] = (),
    measures: str = "auto",
) -> str:
    """Bring the facts up to date at the end of import ``import_id``, in its transaction.

    Returns what it did: ``"all"`` (every person recomputed: the first import, facts that
    were stale, an import that updated visits, or one that touched many people),
    ``"touched"`` (only the people whose offender row or visits this import wrote, found
    by their ``import_id``) or ``"none"`` (the import wrote no offender or visit). An
    updated visit may have moved from one person to another, and only a full pass finds
    the person it left, hence ``visits_updated``.

    ``practice_columns`` (of this import's files) join those the register already has.
    The facts of everyone's last ``recent_n`` completed home visits are kept when the
    practice measures are on (``measures`` "on", or "auto" and the register has a practice
    column): otherwise no scan reads them, and a register without the columns imports as
    fast as before. Facts kept for another N (or none) are recomputed for everyone.
    """
    state = session.get(VisitFactsState, STATE_ID)
    previous = session.scalar(
        select(func.max(ImportRun.id)).where(ImportRun.id != import_id, ImportRun.outcome != "failed")
    )
    recorded = set(practice_columns) | set(split_columns(state.practice_columns if state else None))
    keep_n = recent_n if measures == "on" or (measures == "auto" and recorded) else None
    stale = state is None or state.import_id is None or (previous is not None and state.import_id < previous)
    stale = stale or (state is not None and state.recent_n != keep_n)
    done = "none"
    if stale or (changed and visits_updated):
        done = _recompute(session, None, keep_n)
    elif changed:
        done = _recompute(session, import_id, keep_n)
    if state is None:
        state = VisitFactsState(id=STATE_ID)
        session.add(state)
    state.import_id = import_id
    state.refreshed_at = now_utc()
    state.recent_n = keep_n
    state.practice_columns = ",".join(sorted(recorded))
    session.flush()
    return done


def split_columns(text: str | None) -> list[str]:
    """``visit_facts_state.practice_columns`` as a list (empty for None or "")."""
    return [c for c in (text or "").split(",") if c]


def refresh_after_import(
    session: Session,
    import_id: int,
    counts: Mapping[str, Mapping[str, int]],
    recent_n: int | None = None,
    practice_columns: Iterable[str] = (),
    measures: str = "auto",
) -> str:
    """:func:`refresh` for an import that wrote ``counts`` (per file: inserted, updated, ...).

    Called once at the end of the import's transaction, after the planner statistics.
    Officers and their absences do not enter the facts, so an import of only those
    recomputes nothing.
    """
    changed = any(
        c.get("inserted") or c.get("updated")
        for name, c in counts.items()
        if name not in ("officers.csv", "absences.csv")
    )
    visits_updated = bool(counts.get("visits.csv", {}).get("updated"))
    return refresh(
        session,
        import_id,
        changed=changed,
        visits_updated=visits_updated,
        recent_n=recent_n,
        practice_columns=practice_columns,
        measures=measures,
    )


def facts_select(refs: Sequence[str] | None = None, recent_n: int | None = None) -> Select[Any]:
    """Every person's facts with no as-of bound (``refs``: only those people), as stored;
    with those of their last ``recent_n`` completed home visits when it is given."""
    agg = visit_aggregates(None, refs=refs, recent=recent_n)
    columns: list[Any] = [
        Offender.ref,
        agg.latest.c.last_visit,
        agg.latest.c.last_visit_any,
        func.coalesce(agg.failed.c.failed_attempts, 0),
        agg.latest.c.horizon,
    ]
    if agg.recent is not None:
        columns += [agg.recent.c[name] for name in RECENT_COLUMNS]
    query = (
        select(*columns)
        .select_from(Offender)
        .outerjoin(agg.latest, agg.latest.c.ref == Offender.ref)
        .outerjoin(agg.failed, agg.failed.c.ref == Offender.ref)
    )
    if agg.recent is not None:
        query = query.outerjoin(agg.recent, agg.recent.c.ref == Offender.ref)
    return query.where(Offender.ref.in_(refs)) if refs is not None else query


FACT_COLUMNS: tuple[str, ...] = ("ref", "last_visit", "last_visit_any", "failed_attempts", "horizon")


def _recompute(session: Session, import_id: int | None, recent_n: int | None) -> str:
    """Everyone's facts (``import_id`` None), or those of the people that import touched."""
    columns = FACT_COLUMNS + (RECENT_COLUMNS if recent_n is not None else ())
    if import_id is not None:
        touched = union(
            select(Offender.ref).where(Offender.import_id == import_id),
            select(Visit.ref).where(Visit.import_id == import_id),
        ).subquery()
        refs = list(session.scalars(select(touched.c.ref)))
        people = session.scalar(select(func.count()).select_from(Offender)) or 0
        if len(refs) <= people * INCREMENTAL_SHARE:
            for start in range(0, len(refs), REFS_PER_STATEMENT):
                chunk = refs[start : start + REFS_PER_STATEMENT]
                session.execute(delete(VisitFacts).where(VisitFacts.ref.in_(chunk)))
                session.execute(insert(VisitFacts).from_select(columns, facts_select(chunk, recent_n)))
            return "touched"
    session.execute(delete(VisitFacts))
    session.execute(insert(VisitFacts).from_select(columns, facts_select(None, recent_n)))
    if session.get_bind().dialect.name == "postgresql":
        # Fresh planner statistics for the scan's join, as writing.refresh_statistics does
        # for the register itself.
        session.execute(text("ANALYZE visit_facts"))
    return "all"
