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
construction, and tests/test_oracle_agreement.py checks both paths against an independent
implementation.

Freshness: ``visit_facts_state.import_id`` names the import after which the facts were
refreshed; :func:`fresh_condition` trusts them only while no later import that may have
changed the register exists (an older version of the service importing without refreshing,
say). The register is written only by ``import``; anything else that writes offenders or
visits must call :func:`refresh` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.orm import Session

from monitor.core.clock import now_utc
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
    """Two selectables to LEFT JOIN to offenders on ``ref``.

    ``latest``: ``last_visit`` (latest completed home visit in [S, as_of]),
    ``last_visit_any`` (latest completed home visit on or before as_of, any date) and
    ``horizon`` (latest completed or no-access home visit on or before as_of);
    ``failed``: ``failed_attempts``, no-access home visits after ``last_visit`` (or on or
    after S when there is none) up to as_of.
    """

    latest: Any
    failed: Any


def visit_aggregates(
    as_of: date | BindParameter[date] | None,
    where: Sequence[ColumnElement[bool]] = (),
    refs: Sequence[str] | BindParameter[Any] | None = None,
) -> Aggregates:
    """The visit facts as of ``as_of`` (None: no bound), grouped by ref, set-based.

    ``where`` restricts the offenders (the scan's scope); ``refs`` restricts the visits read to
    those references, so a handful of people cost a handful of index seeks.
    ``latest`` is a CTE because ``failed`` reads it too (each planner computes it once).
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
    return Aggregates(latest=latest, failed=failed)


def fresh_condition() -> ColumnElement[bool]:
    """True while the stored facts describe the register: refreshed, and no import since.

    An import that failed was rolled back and changed nothing, so it does not count.
    """
    refreshed = select(VisitFactsState.import_id).where(VisitFactsState.id == STATE_ID).scalar_subquery()
    later = exists().where(ImportRun.id > refreshed, ImportRun.outcome != "failed")
    return and_(refreshed.is_not(None), ~later)


def refresh(session: Session, import_id: int, *, changed: bool = True, visits_updated: bool = True) -> str:
    """Bring the facts up to date at the end of import ``import_id``, in its transaction.

    Returns what it did: ``"all"`` (every person recomputed: the first import, facts that
    were stale, an import that updated visits, or one that touched many people),
    ``"touched"`` (only the people whose offender row or visits this import wrote, found
    by their ``import_id``) or ``"none"`` (the import wrote no offender or visit). An
    updated visit may have moved from one person to another, and only a full pass finds
    the person it left, hence ``visits_updated``.
    """
    state = session.get(VisitFactsState, STATE_ID)
    previous = session.scalar(
        select(func.max(ImportRun.id)).where(ImportRun.id != import_id, ImportRun.outcome != "failed")
    )
    stale = state is None or state.import_id is None or (previous is not None and state.import_id < previous)
    done = "none"
    if stale or (changed and visits_updated):
        done = _recompute(session, None)
    elif changed:
        done = _recompute(session, import_id)
    if state is None:
        session.add(VisitFactsState(id=STATE_ID, import_id=import_id, refreshed_at=now_utc()))
    else:
        state.import_id = import_id
        state.refreshed_at = now_utc()
    session.flush()
    return done


def refresh_after_import(session: Session, import_id: int, counts: Mapping[str, Mapping[str, int]]) -> str:
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
    return refresh(session, import_id, changed=changed, visits_updated=visits_updated)


def facts_select(refs: Sequence[str] | None = None) -> Select[Any]:
    """Every person's facts with no as-of bound (``refs``: only those people), as stored."""
    agg = visit_aggregates(None, refs=refs)
    query = (
        select(
            Offender.ref,
            agg.latest.c.last_visit,
            agg.latest.c.last_visit_any,
            func.coalesce(agg.failed.c.failed_attempts, 0),
            agg.latest.c.horizon,
        )
        .select_from(Offender)
        .outerjoin(agg.latest, agg.latest.c.ref == Offender.ref)
        .outerjoin(agg.failed, agg.failed.c.ref == Offender.ref)
    )
    return query.where(Offender.ref.in_(refs)) if refs is not None else query


FACT_COLUMNS: tuple[str, ...] = ("ref", "last_visit", "last_visit_any", "failed_attempts", "horizon")


def _recompute(session: Session, import_id: int | None) -> str:
    """Everyone's facts (``import_id`` None), or those of the people that import touched."""
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
                session.execute(insert(VisitFacts).from_select(FACT_COLUMNS, facts_select(chunk)))
            return "touched"
    session.execute(delete(VisitFacts))
    session.execute(insert(VisitFacts).from_select(FACT_COLUMNS, facts_select()))
    if session.get_bind().dialect.name == "postgresql":
        # Fresh planner statistics for the scan's join, as writing.refresh_statistics does
        # for the register itself.
        session.execute(text("ANALYZE visit_facts"))
    return "all"
