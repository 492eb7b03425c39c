"""The week's plan: for each offender manager, the home visits to attempt this week.

The rule, in order (docs/planning.md says it in plain words):

1. The week is Monday to Sunday holding the as-of date (London dates).
2. An officer's candidates are their cases in the community, actively managed, whose home
   visit is overdue or falls due by Sunday. Nobody in custody, in hospital, abroad or
   missing is ever a candidate (they owe no visit), nor a reactively managed person.
3. Most urgent first: risk level (very high first), then due date (the earliest due is the
   most overdue), then reference. So no lower-risk case is ever planned while a
   higher-risk candidate of the same officer is left out, and within a risk level the
   plan's worst lateness is the least any plan of that size can have.
4. Filled up to the officer's capacity for the week (their visits a week, less the share
   of the working days they are away, rounded to a whole visit, less the home visits they
   have already led this week). Never more.
5. The rest "did not fit": listed with the shortfall, for the supervisor (and the team's
   reallocation suggestions, :mod:`monitor.planning.reallocate`).

Advice only: nothing here is done to anyone; a supervisor and the officers decide. The
result types are in :mod:`monitor.planning.plan_results`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from monitor.core.gcpause import paused_gc
from monitor.planning.capacity import Capacity, capacities
from monitor.planning.facts import Case, Facts
from monitor.planning.plan_results import OfficerPlan, Plan, PlanItem
from monitor.planning.reallocate import suggest
from monitor.planning.weeks import week_end, week_start
from monitor.planning.words import reason
from monitor.rules.obligations import RISK_ORDER


def candidates(cases: list[Case], as_of: date) -> dict[str, list[Case]]:
    """Each officer's cases whose home visit is overdue or due by the week's Sunday, most urgent first."""
    last = week_end(as_of)
    out: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        if case.due is not None and case.due <= last and case.status == "community":
            out[case.officer].append(case)
    for items in out.values():
        items.sort(key=lambda c: (RISK_ORDER[c.risk_level], c.due, c.ref))
    return out


def week_capacity(capacity: Capacity, as_of: date, attempted: int) -> int:
    """Visits that can still be planned this week: capacity less time away, rounded, less attempts."""
    first = week_start(as_of)
    whole = int(capacity.available(first, first + timedelta(days=6)) + 0.5)
    return max(0, whole - attempted)


@paused_gc()  # tens of thousands of items, none of them cyclic (see core.gcpause)
def make_plan(facts: Facts, default_per_week: float) -> Plan:
    """The week's plan for ``facts``' scope; see the module docstring for the rule."""
    as_of = facts.as_of
    caps = capacities(facts, default_per_week)
    wanted = candidates(facts.cases, as_of)
    first = week_start(as_of)
    officers: list[OfficerPlan] = []
    for officer_id, cap in sorted(caps.items(), key=lambda kv: (kv[1].team, kv[0])):
        known = facts.officers.get(officer_id)
        attempted = known.attempts_this_week if known is not None else 0
        room = week_capacity(cap, as_of, attempted)
        items = [_item(case, as_of, facts.failed_attempts_flag) for case in wanted.get(officer_id, ())]
        officers.append(
            OfficerPlan(
                officer_id=officer_id,
                team=cap.team,
                capacity=room,
                capacity_source=cap.source,
                visits_per_week=cap.per_week,
                unavailable=cap.unavailable(first, first + timedelta(days=6)),
                attempted=attempted,
                planned=items[:room],
                did_not_fit=items[room:],
            )
        )
    reallocations = suggest(officers) if facts.officer is None else []
    return Plan(as_of=as_of, officers=officers, reallocations=reallocations, team=facts.team, officer=facts.officer)


def _item(case: Case, as_of: date, flag: int) -> PlanItem:
    assert case.due is not None
    days = (as_of - case.due).days
    first_visit = case.last_visit is None
    # The plan's interval said in words only after a visit: a first visit's window is everyone's.
    plan = case.interval if case.interval_source == "plan" and not first_visit else None
    return PlanItem(
        ref=case.ref,
        risk_level=case.risk_level,
        team=case.team,
        officer=case.officer,
        due_date=case.due,
        days_overdue=days,
        failed_attempts=case.failed_attempts,
        first_visit=first_visit,
        reason=reason(case.risk_level, days, case.due, case.failed_attempts, flag, first_visit, plan),
        interval=str(case.interval),
        interval_source=case.interval_source,
    )
