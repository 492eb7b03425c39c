"""The one place the planner reads the register: its facts for a scope on a date.

Everything the engine knows comes through :func:`read_facts` (and the backtest's counts
through :func:`overdue_counts`), so a new column that changes a plan (a person's own visit
interval from their risk management plan, an expected release date) is read here and
nowhere else. Each person's next due date is the scan's own: the same rows
(:func:`monitor.rules.rows.scan_rows`, stored visit facts where they hold) and the same
calendar (:class:`monitor.rules.calendar.Calendar`), so a plan lists exactly the overdue
visits a report does.

The visits the capacity and success rate need are counted in one grouped statement over
the 26 weeks before the as-of date, per officer, team, outcome and window; for a team that
statement starts from the team's people (an index), so one team's plan stays quick on a
national register.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, or_, select

from monitor.core.durations import add_months
from monitor.planning.capacity import PACE_WEEKS
from monitor.planning.facts import Absence, Case, Facts, OfficerFacts
from monitor.planning.forecast import CLEAR_SEARCH_WEEKS, GROWTH_YEARS
from monitor.planning.weeks import week_start
from monitor.register.models import Offender, Officer, OfficerAbsence, Visit
from monitor.rules.calendar import DATES, Calendar
from monitor.rules.rows import OUT_OF_SCOPE_STATUSES, scan_rows

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from monitor.core.config import Policy

#: The weeks of visits the success rate is measured over.
SUCCESS_WEEKS = 26
ATTEMPTS = ("completed", "no_access")


def read_facts(
    session: Session, policy: Policy, as_of: date, *, team: str | None = None, officer: str | None = None
) -> Facts:
    """The planner's facts for the force, one team or one officer's caseload, on ``as_of``."""
    cases = _cases(session, policy, as_of, team, officer)
    managers = {c.officer for c in cases}
    officers = _officers(session, team, officer, managers)
    homes = _home_teams(officers, cases)
    # One grouped statement for both the officers' pace and the teams' success rates: for a
    # team, over its people and those of its officers' own teams (if any differ).
    teams: set[str] | None = None
    if team is not None or officer is not None:
        teams = {homes[o] for o in officers if o in homes} | ({team} if team is not None else set())
    counts = _window_counts(session, as_of, teams, officer)
    _count_visits(counts, homes, officers)
    success = _outcomes(counts, team) if officer is None else {}
    caseload = len(cases) if team is None and officer is None else _caseload(session, as_of)
    since = add_months(as_of, -12 * GROWTH_YEARS)
    registrations = session.scalar(
        select(func.count())
        .select_from(Offender)
        .where(Offender.registered_on > since, Offender.registered_on <= as_of)
    )
    leavers = session.scalar(
        select(func.count())
        .select_from(Offender)
        .where(
            or_(
                and_(
                    Offender.status.in_(OUT_OF_SCOPE_STATUSES),
                    Offender.status_since > since,
                    Offender.status_since <= as_of,
                ),
                and_(Offender.registration_ends >= since, Offender.registration_ends < as_of),
            )
        )
    )
    return Facts(
        as_of=as_of,
        cases=cases,
        officers={o.officer_id: o for o in officers.values()},
        absences=_absences(session, as_of, None if team is None and officer is None else set(officers)),
        outcomes=success,
        registrations=int(registrations or 0),
        leavers=int(leavers or 0),
        caseload=caseload,
        first_visit_within=policy.first_visit_within,
        failed_attempts_flag=policy.failed_attempts_flag,
        team=team,
        officer=officer,
    )


def _cases(session: Session, policy: Policy, as_of: date, team: str | None, officer: str | None) -> list[Case]:
    """Everyone in scope on ``as_of``, with their next home visit by the rules."""
    cal = Calendar(policy)
    today = as_of.toordinal()
    day = DATES
    intervals = policy.intervals
    cases: list[Case] = []
    for row in scan_rows(session.connection(), as_of, team, officer, False):
        ref, risk, status, team_code, manager, registered_on, status_since = row[:7]
        management, last_visit, failed = row[7], row[15], row[17]
        start: int = status_since or registered_on
        due = None
        if status == "community" and management == "active" and start <= today:
            due = day[cal.visit_due(risk, start, last_visit)]
        cases.append(
            Case(
                ref,
                risk,
                team_code,
                manager,
                status,
                day[registered_on],
                day[start],
                due,
                day[last_visit],
                failed or 0,
                intervals[risk],
                "risk_level",
                None,
            )
        )
    return cases


def _officers(session: Session, team: str | None, officer: str | None, managers: set[str]) -> dict[str, OfficerFacts]:
    """The directory's officers in scope, and every manager in scope (listed or not)."""
    query = select(Officer.officer_id, Officer.team, Officer.role, Officer.active, Officer.visits_per_week)
    if officer is not None:
        query = query.where(Officer.officer_id == officer)
    elif team is not None:
        query = query.where(or_(Officer.team == team, Officer.officer_id.in_(sorted(managers))))
    out = {
        officer_id: OfficerFacts(officer_id, code, role, bool(active), per_week)
        for officer_id, code, role, active, per_week in session.execute(query)
    }
    for manager in managers:
        out.setdefault(manager, OfficerFacts(manager, None, None, True, None))
    return out


def _home_teams(officers: dict[str, OfficerFacts], cases: Iterable[Case]) -> dict[str, str]:
    counts: dict[str, dict[str, int]] = {}
    for c in cases:
        seen = counts.setdefault(c.officer, {})
        seen[c.team] = seen.get(c.team, 0) + 1
    homes = {o: min(teams, key=lambda t: (-teams[t], t)) for o, teams in counts.items()}
    for officer_id, o in officers.items():
        if o.team is not None:
            homes[officer_id] = o.team
    return homes


#: (officer who led, the person's team, outcome, in this week, in the pace window, count).
WindowCount = tuple[str | None, str, str, int, int, int]


def _window_counts(session: Session, as_of: date, teams: set[str] | None, officer: str | None) -> list[WindowCount]:
    """Home visits attempted in the 26 weeks before ``as_of`` to people of ``teams`` (None:
    all), grouped by who led them, the person's team, outcome, and whether in the pace
    window and in this week."""
    this_week = week_start(as_of)
    pace_from = as_of - timedelta(days=7 * PACE_WEEKS - 1)
    success_from = as_of - timedelta(days=7 * SUCCESS_WEEKS - 1)
    in_week = case((Visit.visit_date >= this_week, 1), else_=0)
    in_pace = case((Visit.visit_date >= pace_from, 1), else_=0)
    query = (
        select(Visit.officer, Offender.team, Visit.outcome, in_week, in_pace, func.count())
        .select_from(Visit)
        .join(Offender, Offender.ref == Visit.ref)
        .where(
            and_(
                Visit.visit_type == "home",
                Visit.outcome.in_(ATTEMPTS),
                Visit.visit_date >= success_from,
                Visit.visit_date <= as_of,
            )
        )
        .group_by(Visit.officer, Offender.team, Visit.outcome, in_week, in_pace)
    )
    if teams is not None:
        query = query.where(Offender.team.in_(sorted(teams)))
    if officer is not None:
        query = query.where(Visit.officer == officer)
    return [(a, b, c, int(d), int(e), int(n)) for a, b, c, d, e, n in session.execute(query)]


def _count_visits(counts: list[WindowCount], homes: dict[str, str], officers: dict[str, OfficerFacts]) -> None:
    """Each officer's home visits led to their own team's people: 12 weeks, and this week."""
    attempts: dict[str, int] = {}
    this_week: dict[str, int] = {}
    for led_by, person_team, _outcome, week_flag, pace_flag, n in counts:
        if led_by is None or homes.get(led_by) != person_team:
            continue
        if pace_flag:
            attempts[led_by] = attempts.get(led_by, 0) + n
        if week_flag:
            this_week[led_by] = this_week.get(led_by, 0) + n
    for officer_id, o in list(officers.items()):
        officers[officer_id] = OfficerFacts(
            officer_id,
            o.team,
            o.role,
            o.active,
            o.visits_per_week,
            attempts.get(officer_id, 0),
            this_week.get(officer_id, 0),
        )


def _outcomes(counts: list[WindowCount], team: str | None) -> dict[str, tuple[int, int]]:
    """Completed and no-access home visits of each team's people in the 26 weeks (``team``: only its)."""
    out: dict[str, list[int]] = {}
    for _led_by, person_team, outcome, _week, _pace, n in counts:
        if team is not None and person_team != team:
            continue
        tally = out.setdefault(person_team, [0, 0])
        tally[0 if outcome == "completed" else 1] += n
    return {t: (c[0], c[1]) for t, c in sorted(out.items())}


def _caseload(session: Session, as_of: date) -> int:
    """The force's active caseload on ``as_of`` (the scan's scope), for the growth rate."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Offender)
            .where(
                Offender.registered_on <= as_of,
                or_(Offender.registration_ends.is_(None), Offender.registration_ends >= as_of),
                Offender.status.not_in(OUT_OF_SCOPE_STATUSES),
            )
        )
        or 0
    )


def _absences(session: Session, as_of: date, officers: set[str] | None) -> list[Absence]:
    """Absences not withdrawn that touch the pace window or the forecast's horizon."""
    model = OfficerAbsence
    query = select(model.officer_id, model.starts_on, model.ends_on, model.fraction).where(
        model.withdrawn_on.is_(None),
        model.ends_on >= as_of - timedelta(days=7 * PACE_WEEKS),
        model.starts_on <= as_of + timedelta(days=7 * CLEAR_SEARCH_WEEKS),
    )
    rows = session.execute(query.order_by(model.absence_key)).all()
    return [Absence(o, s, e, f) for o, s, e, f in rows if officers is None or o in officers]


def overdue_counts(session: Session, policy: Policy, days: list[date], team: str | None = None) -> list[int]:
    """The scan's overdue home visits on each of ``days`` (the backtest's actual figures)."""
    from monitor.rules.scan import COUNTABLE, scan

    return [scan(session, policy, day, team=team, count_only=COUNTABLE).summary.overdue_visits for day in days]


def known_scope(session: Session) -> tuple[list[str], list[str]]:
    """Every team and officer the register or the directory knows (for "did you mean")."""
    teams = set(session.scalars(select(Offender.team).distinct())) | set(
        session.scalars(select(Officer.team).distinct())
    )
    officers = set(session.scalars(select(Officer.officer_id))) | set(
        session.scalars(select(Offender.offender_manager).distinct())
    )
    return sorted(teams), sorted(officers)
