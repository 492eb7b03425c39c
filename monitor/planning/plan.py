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

Advice only: nothing here is done to anyone; a supervisor and the officers decide.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from monitor.planning.capacity import Capacity, capacities
from monitor.planning.facts import Case, Facts
from monitor.planning.weeks import iso_week, week_end, week_start
from monitor.planning.words import ADVICE, reason
from monitor.rules.obligations import RISK_ORDER


@dataclass(frozen=True)
class PlanItem:
    """One home visit in a plan (planned or not fitted), with its reason in words."""

    ref: str
    risk_level: str
    team: str
    officer: str
    due_date: date
    days_overdue: int
    failed_attempts: int
    first_visit: bool
    reason: str

    @property
    def sort_key(self) -> tuple[int, date, str]:
        return (RISK_ORDER[self.risk_level], self.due_date, self.ref)

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "risk_level": self.risk_level,
            "due_date": self.due_date.isoformat(),
            "days_overdue": self.days_overdue,
            "failed_attempts": self.failed_attempts,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Reallocation:
    """A suggestion: move one case this week from an officer over capacity to one with room."""

    ref: str
    risk_level: str
    team: str
    from_officer: str
    to_officer: str
    due_date: date
    days_overdue: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "risk_level": self.risk_level,
            "team": self.team,
            "from": self.from_officer,
            "to": self.to_officer,
            "due_date": self.due_date.isoformat(),
            "days_overdue": self.days_overdue,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class OfficerPlan:
    """One officer's week: capacity (and where it came from), planned, did not fit."""

    officer_id: str
    team: str
    #: Visits that can still be planned this week: capacity after time away, less attempts made.
    capacity: int
    capacity_source: str
    #: Home visits in a normal week.
    visits_per_week: float
    #: Share of this week's working days away (shown only as "unavailable").
    unavailable: float
    #: Home visits already led this week, up to the as-of date.
    attempted: int
    planned: list[PlanItem] = field(default_factory=list)
    did_not_fit: list[PlanItem] = field(default_factory=list)

    @property
    def shortfall(self) -> int:
        return len(self.did_not_fit)

    @property
    def room(self) -> int:
        """Visits more this officer could make this week."""
        return self.capacity - len(self.planned)

    def to_json(self) -> dict[str, Any]:
        return {
            "officer_id": self.officer_id,
            "team": self.team,
            "capacity": self.capacity,
            "capacity_source": self.capacity_source,
            "visits_per_week": round(self.visits_per_week, 1),
            "unavailable": round(self.unavailable, 2),
            "attempted_this_week": self.attempted,
            "shortfall": self.shortfall,
            "planned": [i.to_json() for i in self.planned],
            "did_not_fit": [i.to_json() for i in self.did_not_fit],
        }


@dataclass(frozen=True)
class Plan:
    """The week's plan for a scope (force, one team or one officer)."""

    as_of: date
    officers: list[OfficerPlan]
    reallocations: list[Reallocation]
    team: str | None = None
    officer: str | None = None

    @property
    def week_start(self) -> date:
        return week_start(self.as_of)

    @property
    def week_end(self) -> date:
        return week_end(self.as_of)

    @property
    def scope(self) -> str:
        if self.officer is not None:
            return f"officer:{self.officer}"
        return f"team:{self.team}" if self.team is not None else "force"

    def summary(self) -> dict[str, int]:
        planned = sum(len(o.planned) for o in self.officers)
        did_not_fit = sum(o.shortfall for o in self.officers)
        return {
            "officers": len(self.officers),
            "capacity": sum(o.capacity for o in self.officers),
            "planned": planned,
            "did_not_fit": did_not_fit,
            "officers_over_capacity": sum(1 for o in self.officers if o.shortfall),
            "reallocations": len(self.reallocations),
            "left_over": did_not_fit - len(self.reallocations),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "scope": self.scope,
            "week_start": self.week_start.isoformat(),
            "week_end": self.week_end.isoformat(),
            "iso_week": iso_week(self.as_of),
            "officers": [o.to_json() for o in self.officers],
            "reallocations": [r.to_json() for r in self.reallocations],
            "summary": self.summary(),
            "advice": ADVICE,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per visit (planned first, then did not fit), officer by officer: CSV and tables."""
        moved = {r.ref: r.to_officer for r in self.reallocations}
        out: list[dict[str, Any]] = []
        for officer in self.officers:
            for kind, items in (("planned", officer.planned), ("did not fit", officer.did_not_fit)):
                for item in items:
                    out.append(
                        {
                            "team": officer.team,
                            "officer_id": officer.officer_id,
                            "plan": kind,
                            "ref": item.ref,
                            "risk_level": item.risk_level,
                            "due_date": item.due_date,
                            "days_overdue": item.days_overdue,
                            "reason": item.reason,
                            "suggested_to": moved.get(item.ref, ""),
                        }
                    )
        return out

    def officer_rows(self) -> list[dict[str, Any]]:
        """One row per officer: capacity against what the week asks of them."""
        return [
            {
                "team": o.team,
                "officer_id": o.officer_id,
                "capacity": o.capacity,
                "capacity_source": o.capacity_source,
                "visits_per_week": o.visits_per_week,
                "unavailable": o.unavailable,
                "attempted": o.attempted,
                "must_do": len(o.planned) + o.shortfall,
                "planned": len(o.planned),
                "did_not_fit": o.shortfall,
            }
            for o in self.officers
        ]


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


def make_plan(facts: Facts, default_per_week: float) -> Plan:
    """The week's plan for ``facts``' scope; see the module docstring for the rule."""
    from monitor.planning.reallocate import suggest

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
    return PlanItem(
        ref=case.ref,
        risk_level=case.risk_level,
        team=case.team,
        officer=case.officer,
        due_date=case.due,
        days_overdue=days,
        failed_attempts=case.failed_attempts,
        first_visit=first_visit,
        reason=reason(case.risk_level, days, case.due, case.failed_attempts, flag, first_visit),
    )
