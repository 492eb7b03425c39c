"""The one engine: who owes what, as of a date.

Every report, digest, snapshot, metric and daemon job calls :func:`scan`; nothing else
computes a due date. The rules are in RULES.md (and DESIGN.md / DOMAIN.md); this module
implements them literally.

Why it is shaped like this: a force holds thousands of registrants and a decade of visits,
so the visit history is reduced *in the database* by one grouped query (latest completed
home visit since the person's status began, latest one ever, and failed attempts since the
latest completed one), joined to the in-scope offenders. Python then sees exactly one row
per person and does the calendar arithmetic (calendar months clamped to month end), which
SQL dialects disagree on. Personal data is selected only when policy allows it, so it is
never even loaded into memory otherwise.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session

from monitor.core.config import RISK_LEVELS, Policy
from monitor.core.durations import Duration
from monitor.register.models import Offender, Visit
from monitor.rules.obligations import (
    Item,
    NotInExtract,
    Obligations,
    Personal,
    ReactiveHighRisk,
    Summary,
    Unlocated,
    most_overdue,
    overdue_mix,
    warrant_flagged,
)

OUT_OF_SCOPE_STATUSES: tuple[str, ...] = ("deceased", "deregistered")
#: Risk levels at which reactive management (no routine visits) is flagged.
REACTIVE_FLAGGED: tuple[str, ...] = ("very_high", "high")


def _start_of_status() -> ColumnElement[date]:
    """S: the date the current status began, else the registration date."""
    return func.coalesce(Offender.status_since, Offender.registered_on)


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


def latest_completed_visits(as_of: date, team: str | None = None, officer: str | None = None) -> tuple[Any, Any]:
    """The set-based visit aggregates, grouped by ref over in-scope people.

    Returns ``(latest, failed)``, two selectables to LEFT JOIN to offenders on ``ref``:

    - ``latest.last_visit``: latest completed home visit in [S, as_of];
      ``latest.last_visit_any``: latest completed home visit on or before as_of, any date
      (for whereabouts unknown);
    - ``failed.failed_attempts``: no-access home visits after ``last_visit`` (or on/after
      S when there is none) up to as_of.

    Cancelled visits and visits of type "other" never count. ``latest`` is a CTE because
    ``failed`` reads it too (each planner then computes it once).
    """
    start = _start_of_status()
    scope = _scope_filters(as_of, team, officer)
    latest = (
        select(
            Visit.ref.label("ref"),
            func.max(case((start <= Visit.visit_date, Visit.visit_date))).label("last_visit"),
            func.max(Visit.visit_date).label("last_visit_any"),
        )
        .join(Offender, Offender.ref == Visit.ref)
        .where(Visit.outcome == "completed", Visit.visit_type == "home", Visit.visit_date <= as_of, *scope)
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
            Visit.visit_date <= as_of,
            Visit.visit_date >= start,
            or_(latest.c.last_visit.is_(None), Visit.visit_date > latest.c.last_visit),
            *scope,
        )
        .group_by(Visit.ref)
        .subquery("failed")
    )
    return latest, failed


def _register_query(as_of: date, team: str | None, officer: str | None, include_names: bool) -> Select[Any]:
    """One row per in-scope person: the register columns the rules need plus visit facts."""
    latest, failed = latest_completed_visits(as_of, team, officer)
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
        latest.c.last_visit,
        latest.c.last_visit_any,
        func.coalesce(failed.c.failed_attempts, 0).label("failed_attempts"),
    ]
    if include_names:
        columns += [Offender.surname, Offender.forenames, Offender.date_of_birth]
    return (
        select(*columns)
        .select_from(Offender)
        .outerjoin(latest, latest.c.ref == Offender.ref)
        .outerjoin(failed, failed.c.ref == Offender.ref)
        .where(*_scope_filters(as_of, team, officer))
    )


def scan(
    session: Session,
    policy: Policy,
    as_of: date,
    *,
    team: str | None = None,
    officer: str | None = None,
) -> Obligations:
    """Every overdue or soon-due obligation for people in scope on ``as_of``.

    ``team`` / ``officer`` restrict the scope to ``offender.team`` /
    ``offender.offender_manager``; the summary describes that scope only.
    """
    # Core execution on the session's connection: plain rows, no ORM identity map to fill.
    rows = session.connection().execute(_register_query(as_of, team, officer, policy.include_names)).all()

    overdue: list[Item] = []
    due_soon: list[Item] = []
    reviews: list[Item] = []
    notifications: list[Item] = []
    unlocated: list[Unlocated] = []
    absent: list[NotInExtract] = []
    reactive_high: list[ReactiveHighRisk] = []
    caseload: Counter[tuple[str, str, str]] = Counter()  # (team, risk, offender manager)
    soon = policy.due_soon_days

    for row in rows:
        (
            ref,
            risk,
            status,
            team_code,
            manager,
            registered_on,
            status_since,
            management,
            assessed,
            notified,
            nfa,
            absent_since,
            last_visit,
            last_visit_any,
            failed,
            *names,
        ) = row
        caseload[(team_code, risk, manager)] += 1
        start: date = status_since or registered_on
        common: dict[str, Any] = {
            "ref": ref,
            "risk_level": risk,
            "team": team_code,
            "offender_manager": manager,
            "personal": Personal(*names) if names else None,
        }

        if absent_since is not None and absent_since <= as_of:  # marked on or before the as-of date
            absent.append(
                NotInExtract(ref, risk, team_code, manager, status, absent_since, (as_of - absent_since).days)
            )
        if management == "reactive" and risk in REACTIVE_FLAGGED:
            reactive_high.append(ReactiveHighRisk(ref, risk, team_code, manager, status))

        if status == "community":
            if management == "active":
                due = visit_due(policy, risk, start, last_visit)
                days = (as_of - due).days
                if days >= -soon:
                    item = Item(
                        "visit",
                        due_date=due,
                        days_overdue=days,
                        last_done=last_visit,
                        failed_attempts=int(failed or 0),
                        **common,
                    )
                    (overdue if days > 0 else due_soon).append(item)
            due = review_due(policy, risk, start, assessed)
            if as_of > due:
                reviews.append(
                    Item("risk_review", due_date=due, days_overdue=(as_of - due).days, last_done=assessed, **common)
                )

        if status in ("community", "missing"):
            due = notification_due(policy, status, start, registered_on, notified, bool(nfa))
            if as_of > due:
                notifications.append(
                    Item(
                        "notification",
                        due_date=due,
                        days_overdue=(as_of - due).days,
                        last_done=notified,
                        no_fixed_abode=bool(nfa),
                        **common,
                    )
                )

        if status == "missing":
            unlocated.append(
                Unlocated(missing_since=start, days_missing=(as_of - start).days, last_visit=last_visit_any, **common)
            )

    for items in (overdue, due_soon, reviews, notifications):
        items.sort(key=lambda i: i.sort_key)
    unlocated.sort(key=lambda u: u.sort_key)
    absent.sort(key=lambda n: n.sort_key)
    reactive_high.sort(key=lambda r: r.sort_key)

    summary = _summary(
        policy,
        overdue,
        due_soon,
        reviews,
        notifications,
        unlocated,
        caseload,
    )
    summary = replace(summary, not_in_extract=len(absent), reactive_high_risk=len(reactive_high))
    caseload_by_officer: Counter[str] = Counter()
    for (_team, _risk, manager), n in caseload.items():
        caseload_by_officer[manager] += n
    return Obligations(
        as_of=as_of,
        team=team,
        officer=officer,
        overdue_visits=overdue,
        due_soon=due_soon,
        overdue_risk_reviews=reviews,
        overdue_notifications=notifications,
        whereabouts_unknown=unlocated,
        summary=summary,
        failed_attempts_flag=policy.failed_attempts_flag,
        include_names=policy.include_names,
        caseload=dict(caseload),
        extra={"caseload_by_officer": dict(sorted(caseload_by_officer.items()))},
        not_in_extract=absent,
        reactive_high_risk=reactive_high,
    )


@lru_cache(maxsize=65_536)
def _after(duration: Duration, start: date) -> date:
    """Memoised calendar arithmetic: a register has few distinct (interval, date) pairs."""
    return duration.after(start)


def visit_due(policy: Policy, risk: str, start: date, last_visit: date | None) -> date:
    """Next home visit: the risk interval after the last completed one, else the first-visit window after S."""
    return _after(policy.intervals[risk], last_visit) if last_visit else _after(policy.first_visit_within, start)


def review_due(policy: Policy, risk: str, start: date, assessed: date | None) -> date:
    """Next risk review; a new or returning person always gets the first-visit window."""
    window = _after(policy.first_visit_within, start)
    if assessed is None:
        return window
    due = _after(policy.review_interval[risk], assessed)
    return max(due, window) if assessed < start else due


def notification_due(
    policy: Policy,
    status: str,
    start: date,
    registered_on: date,
    last_notified: date | None,
    no_fixed_abode: bool,
) -> date:
    """Next periodic notification (s.85): yearly, weekly without a fixed abode.

    If it fell due while the person was away (custody, hospital, abroad) the deadline is
    ``notification_after_return`` after they came back (S). The register carries no
    status history, so "fell due while away" is read as due < S for a returned person.
    """
    interval = policy.notification_interval_no_fixed_abode if no_fixed_abode else policy.notification_interval
    due = _after(interval, last_notified or registered_on)
    if status == "community" and start > registered_on and due < start:
        due = _after(policy.notification_after_return, start)
    return due


def _summary(
    policy: Policy,
    overdue: list[Item],
    due_soon: list[Item],
    reviews: list[Item],
    notifications: list[Item],
    unlocated: list[Unlocated],
    caseload: Counter[tuple[str, str, str]],
) -> Summary:
    caseload_by_team: Counter[str] = Counter()
    caseload_by_risk: Counter[str] = Counter()
    for (team, risk, _manager), n in caseload.items():
        caseload_by_team[team] += n
        caseload_by_risk[risk] += n
    by_risk, by_age, risk_by_age = overdue_mix(overdue)
    by_team = dict.fromkeys(sorted(caseload_by_team), 0)
    for item in overdue:
        by_team[item.team] = by_team.get(item.team, 0) + 1
    worst = most_overdue(overdue)
    flag = policy.failed_attempts_flag
    return Summary(
        active_caseload=sum(caseload_by_team.values()),
        overdue_visits=len(overdue),
        by_risk=by_risk,
        by_team=by_team,
        by_age=by_age,
        most_overdue_days=worst.days_overdue if worst else None,
        most_overdue_ref=worst.ref if worst else None,
        due_soon=len(due_soon),
        overdue_risk_reviews=len(reviews),
        overdue_notifications=len(notifications),
        whereabouts_unknown=len(unlocated),
        failed_attempt_flags=len(warrant_flagged((*overdue, *due_soon), flag)),
        caseload_by_team=dict(sorted(caseload_by_team.items())),
        caseload_by_risk={r: caseload_by_risk.get(r, 0) for r in RISK_LEVELS},
        risk_by_age=risk_by_age,
    )
