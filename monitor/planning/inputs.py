"""The one place the planner's facts are put together: for a scope on a date.

Everything the engine knows comes through :func:`read_facts` (and, for the backtest,
:func:`monitor.planning.history.read_history`, which uses the same helpers), asked of a
:class:`monitor.planning.source.Source`. A new column that changes a plan is read here:
:func:`person_interval` is the only place a person's interval is chosen (their risk
management plan's ``visit_interval`` when the practice measures are on, as the scan
chooses it, else their risk level's) and :func:`next_due` / :func:`due_after` the only
places their due date is worked out, over the calendar's own memo tables. Each
person's next due date is the scan's own: the same rows (the scan's) and the same calendar
(:class:`monitor.rules.calendar.Calendar`), so a plan lists exactly the overdue visits a
report does.

The home visits that capacity and the success rate need (26 weeks of them) come as plain
rows and are counted here, with each person's team already known: a national register's
100,000 of them cost less so than joined to the register and grouped by the database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from monitor.core.durations import Duration, add_months
from monitor.core.gcpause import paused_gc
from monitor.planning.capacity import PACE_WEEKS, officer_teams, teams_from_pairs
from monitor.planning.facts import Absence, Case, Facts, OfficerFacts
from monitor.planning.forecast import GROWTH_YEARS, RUN_WEEKS
from monitor.planning.source import Attempt, Source
from monitor.planning.weeks import week_start
from monitor.rules.calendar import DATES, Calendar
from monitor.rules.case_tags import measures_on

if TYPE_CHECKING:
    from monitor.core.config import Policy

#: The scan rows' columns the planner reads (:func:`cases_from`): the practice columns follow.
_SCAN_COLUMNS = 18
#: The weeks of visits the success rate is measured over.
SUCCESS_WEEKS = 26
_OFFICER_TEAM = attrgetter("officer", "team")


def person_interval(policy: Policy, risk_level: str, plan: str | None = None) -> tuple[Duration, str]:
    """A person's visit interval and where it came from: their risk management plan's
    (``plan``, the register's canonical ISO text, given only when the practice measures are
    on, as the scan reads it), else the policy's for their risk level."""
    if plan is not None:
        return _plan_duration(plan), "plan"
    return policy.intervals[risk_level], "risk_level"


_PLAN_DURATIONS: dict[str, Duration] = {}


def _plan_duration(text: str) -> Duration:
    found = _PLAN_DURATIONS.get(text)
    if found is None:
        if len(_PLAN_DURATIONS) > 10_000:  # hostile data cannot grow it
            _PLAN_DURATIONS.clear()
        found = _PLAN_DURATIONS[text] = Duration.parse(text)
    return found


def next_due(cal: Calendar, risk_level: str, start: int, last_visit: int | None, plan: str | None = None) -> int:
    """A person's next home visit (day ordinals), by the rules' own calendar."""
    if last_visit:
        return due_after(cal, risk_level, plan)[last_visit]
    return cal.window[start]


def due_after(cal: Calendar, risk_level: str, plan: str | None = None) -> Mapping[int, int]:
    """A person's interval as a table: ``due_after(...)[visit]`` is the day the next visit
    is due after one made on ``visit`` (day ordinals; :func:`next_due` with a last visit).
    The calendar's own memo tables: the plan's (``Calendar.plans``) or the risk level's."""
    return cal.plans[plan] if plan is not None else cal.intervals[risk_level]


def first_due(cal: Calendar) -> Mapping[int, int]:
    """``first_due(cal)[start]``: the first visit's due day after S (:func:`next_due` with none)."""
    return cal.window


def plans_on(policy: Policy, source: Source) -> bool:
    """Whether people's own plan intervals apply: the practice measures are on for this
    register, exactly as the scan decides (:func:`monitor.rules.case_tags.measures_on`)."""
    return measures_on(policy.practice, source.recorded())


@paused_gc()  # a national read makes 100,000 cases from as many rows (see core.gcpause)
def read_facts(
    source: Source,
    policy: Policy,
    as_of: date,
    *,
    team: str | None = None,
    officer: str | None = None,
    for_forecast: bool = True,
    due_by: date | None = None,
    rows: Iterable[Sequence[Any]] | None = None,
) -> Facts:
    """The planner's facts for the force, one team or one officer's caseload, on ``as_of``.

    Without ``for_forecast`` (a plan, which needs neither) the success rate's 26 weeks of
    visits and the register's growth are not read: ``Facts.outcomes`` is then empty and
    ``registrations``, ``leavers`` and ``caseload`` are 0. With ``due_by`` too (a plan's
    Sunday), ``Facts.cases`` holds only the people whose home visit is due on or before it
    (the plan's candidates; everyone else costs a plan only a count, and building their
    cases was a tenth of a national plan) and ``Facts.managers`` every officer who manages
    someone in scope: the same plan as without it. ``rows``: the scan's rows of this scope
    on ``as_of`` when the caller has read them already in this transaction (the digests scan
    the force first), in :func:`monitor.rules.rows.scan_rows`' form; the practice columns
    after its first 18 are not read.
    """
    if due_by is not None and for_forecast:
        raise ValueError("due_by is for a plan's facts (for_forecast=False)")
    extras = {ref: (plan, release) for ref, plan, release in source.person_extras(team, officer)}
    rows = source.scan_rows(as_of, team, officer) if rows is None else (row[:_SCAN_COLUMNS] for row in rows)
    if due_by is None:
        cases = cases_from(rows, policy, as_of, extras, plans_on(policy, source))
        return assemble(source, policy, as_of, cases, team=team, officer=officer, for_forecast=for_forecast)
    everyone: Everyone = ({}, [])
    cases = cases_from(rows, policy, as_of, extras, plans_on(policy, source), due_by=due_by, everyone=everyone)
    return assemble(source, policy, as_of, cases, team=team, officer=officer, for_forecast=False, everyone=everyone)


#: Everyone in scope when a plan's facts keep only the cases due (:func:`read_facts` with
#: ``due_by``): each person's team by reference, and each person's (officer, team).
Everyone = tuple[dict[str, str], list[tuple[str, str]]]


def cases_from(
    rows: Iterable[Sequence[Any]],
    policy: Policy,
    as_of: date,
    extras: Mapping[str, tuple[str | None, int | None]] | None = None,
    with_plans: bool = False,
    *,
    due_by: date | None = None,
    everyone: Everyone | None = None,
) -> list[Case]:
    """Everyone in the scan's rows, with their next home visit by the rules.

    ``extras``: ref -> (plan interval, expected release day) for the people with either;
    the plan interval counts only ``with_plans`` (the practice measures on, as the scan).
    With ``due_by``: only those whose visit is due on or before it, and everyone's team
    and (officer, team) added to ``everyone`` (see :func:`read_facts`)."""
    cal = Calendar(policy)
    today = as_of.toordinal()
    day = DATES
    extras = extras or {}
    intervals = {risk: person_interval(policy, risk) for risk in policy.intervals}
    after = {risk: due_after(cal, risk) for risk in policy.intervals}  # next_due, as tables
    # Per plan interval (a register has a few dozen): its table, its Duration and source.
    plans: dict[str, tuple[Mapping[int, int], Duration, str]] = {}
    window = first_due(cal)
    cases: list[Case] = []
    add = cases.append
    last = due_by.toordinal() if due_by is not None else None
    if last is not None and everyone is None:
        raise ValueError("due_by needs everyone (see read_facts)")
    teams, pairs = everyone if everyone is not None else ({}, [])
    pair = pairs.append
    for (
        ref,
        risk,
        status,
        team_code,
        manager,
        registered_on,
        status_since,
        management,
        _assessed,
        _notified,
        _nfa,
        _absent,
        _surname,
        _forenames,
        _born,
        last_visit,
        _last_any,
        failed,
    ) in rows:
        start: int = status_since or registered_on
        due_day = None
        if status == "community" and management == "active" and start <= today:
            due_day = -1  # worked out below, by the person's interval
        if last is not None:
            teams[ref] = team_code
            pair((manager, team_code))
            if due_day is None:
                continue
        extra = extras.get(ref)
        release = None
        if extra is None or not with_plans or extra[0] is None:
            table = after[risk]
            interval, source = intervals[risk]
        else:
            plan = extra[0]
            found = plans.get(plan)
            if found is None:
                found = plans[plan] = (due_after(cal, risk, plan), *person_interval(policy, risk, plan))
            table, interval, source = found
        if extra is not None:
            release = extra[1]
        due = None
        if due_day is not None:
            due_day = table[last_visit] if last_visit else window[start]
            if last is not None and due_day > last:
                continue
            due = day[due_day]
        add(
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
                interval,
                source,
                day[release],
            )
        )
    return cases


def assemble(
    source: Source,
    policy: Policy,
    as_of: date,
    cases: list[Case],
    *,
    team: str | None = None,
    officer: str | None = None,
    attempts: list[Attempt] | None = None,
    for_forecast: bool = True,
    everyone: Everyone | None = None,
) -> Facts:
    """The facts around ``cases``: officers and their pace, success, growth, absences.

    ``attempts`` (read here when None) must hold the home visits attempted in the 26 weeks
    to ``as_of`` (more is fine: they are counted by date); without ``for_forecast``, the 12
    (see :func:`read_facts`). ``everyone``: when ``cases`` holds only a plan's candidates,
    everyone in scope (:func:`cases_from` with ``due_by``).
    """
    pairs = Counter(map(_OFFICER_TEAM, cases)) if everyone is None else Counter(everyone[1])
    managers = {o for o, _team in pairs}
    officers = {o: OfficerFacts(o, t, r, a, v) for o, t, r, a, v in source.officers(team, officer, managers)}
    for manager in managers:
        officers.setdefault(manager, OfficerFacts(manager, None, None, True, None))
    homes = teams_from_pairs(officers, pairs)
    teams: set[str] | None = None
    if team is not None or officer is not None:
        teams = {homes[o] for o in officers if o in homes} | ({team} if team is not None else set())
    if attempts is None:
        weeks = SUCCESS_WEEKS if for_forecast else PACE_WEEKS
        attempts = source.attempts(as_of - timedelta(days=7 * weeks - 1), as_of, teams, officer)
    people = {c.ref: c.team for c in cases} if everyone is None else everyone[0]
    officers, outcomes = tally(attempts, as_of, people, homes, officers)
    registrations = leavers = caseload = 0
    if for_forecast:
        registrations, leavers = source.growth(add_months(as_of, -12 * GROWTH_YEARS), as_of)
        caseload = len(cases) if team is None and officer is None else source.caseload(as_of)
    else:
        outcomes = {}
    absences = [
        Absence(o, s, e, f)
        for o, s, e, f in source.absences(as_of - timedelta(days=7 * PACE_WEEKS), as_of + timedelta(days=7 * RUN_WEEKS))
        if teams is None or o in officers
    ]
    return Facts(
        as_of=as_of,
        cases=cases,
        officers=officers,
        absences=absences,
        outcomes={} if officer is not None else {t: c for t, c in outcomes.items() if team is None or t == team},
        registrations=registrations,
        leavers=leavers,
        caseload=caseload,
        first_visit_within=policy.first_visit_within,
        failed_attempts_flag=policy.failed_attempts_flag,
        team=team,
        officer=officer,
        homes=homes,
        managers=frozenset(managers) if everyone is not None else frozenset(),
    )


def home_teams(officers: Mapping[str, OfficerFacts], cases: Iterable[Case]) -> dict[str, str]:
    """Each officer's team: the directory's, else the team most of their cases are in."""
    return officer_teams(officers, cases)


def tally(
    attempts: list[Attempt],
    as_of: date,
    people: dict[str, str],
    homes: dict[str, str],
    officers: dict[str, OfficerFacts],
) -> tuple[dict[str, OfficerFacts], dict[str, tuple[int, int]]]:
    """Officers with their visits counted, and each team's completed and no-access visits.

    Only visits to people in scope (``people``: ref -> team) in the 26 weeks to ``as_of``
    count. An officer's pace counts the visits they led to people of their own team
    (``homes``), in the 12 weeks to ``as_of``; "this week" those from its Monday.
    """
    last = as_of.toordinal()
    first = last - 7 * SUCCESS_WEEKS + 1
    pace_from = (as_of - timedelta(days=7 * PACE_WEEKS - 1)).toordinal()
    week_from = week_start(as_of).toordinal()
    paced: dict[str, int] = {}
    this_week: dict[str, int] = {}
    outcomes: dict[str, list[int]] = {}
    for ref, led_by, outcome, day in attempts:
        team = people.get(ref)
        if team is None or not first <= day <= last:
            continue
        counts = outcomes.get(team)
        if counts is None:
            counts = outcomes[team] = [0, 0]
        counts[0 if outcome == "completed" else 1] += 1
        if led_by is not None and day >= pace_from and homes.get(led_by) == team:
            paced[led_by] = paced.get(led_by, 0) + 1
            if day >= week_from:
                this_week[led_by] = this_week.get(led_by, 0) + 1
    counted = {
        officer_id: OfficerFacts(
            officer_id,
            o.team,
            o.role,
            o.active,
            o.visits_per_week,
            paced.get(officer_id, 0),
            this_week.get(officer_id, 0),
        )
        for officer_id, o in officers.items()
    }
    return counted, {t: (c[0], c[1]) for t, c in sorted(outcomes.items())}
