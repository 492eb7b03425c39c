"""The practice measures inside the scan's one pass over the people (see :mod:`monitor.rules.scan`).

Why a class of its own: with the measures off the scan's loop must cost what it did, so
all it does for them is one test per person; with them on it hands each person to
:class:`PracticeTrack`, which applies the person's own visit interval (their plan's, else
the risk level's: a memo table per distinct interval, a handful in a register), keeps
supervisor reviews, patterns of the last visits and long plan intervals, and at the end
tallies the look-back's visits (lone and announced) and the caseloads. Nothing here reads
the database or imports SQLAlchemy: the rows come from either way of reading them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from monitor.register.import_warnings import long_plan
from monitor.rules.calendar import DATES, Calendar
from monitor.rules.obligations import Item, Obligations, Personal
from monitor.rules.practice import (
    ANNOUNCED,
    ANNOUNCING,
    HOME,
    LONE,
    PAIRING,
    TAGS,
    CaseTags,
    LoneVisit,
    LongPlanInterval,
    PracticeFigures,
    Predictable,
    caseloads,
    lookback_start,
    pattern_of,
)

if TYPE_CHECKING:
    from monitor.core.config import Policy
    from monitor.rules.scan import PracticeInput

_SORT_KEY = attrgetter("sort_key")
#: Statuses whose cases a supervisor reviews (the people police manage in the community,
#: whereabouts unknown included); none is owed while in custody, hospital or abroad.
SUPERVISED = frozenset({"community", "missing"})


class PracticeTrack:
    """What the scan keeps for the practice measures, person by person (see the module docstring)."""

    def __init__(self, policy: Policy, cal: Calendar) -> None:
        self.policy = policy
        self.cal = cal
        self.n = policy.practice.predictable_visits_last
        self.defaults = {risk: str(d) for risk, d in policy.intervals.items()}
        self.multiple = policy.practice.plan_interval_warn_multiple
        self.long: dict[tuple[str, str], bool] = {}
        self.predictable: list[Predictable] = []
        self.supervision: list[Item] = []
        self.long_plans: list[LongPlanInterval] = []
        self.people: Counter[tuple[str, str, int | None, int | None]] = Counter()
        self.plan_count = 0

    def person(
        self,
        ref: str,
        risk: str,
        status: str,
        team: str,
        manager: str,
        start: int,
        today: int,
        in_status: bool,
        tags: CaseTags,
        extra: Sequence[Any],
        personal: Personal | None,
    ) -> None:
        """Everyone in scope: MAPPA counts, a long plan interval, an overdue supervisor review."""
        plan, category, level, reviewed, review_recorded = extra[0], extra[1], extra[2], extra[3], extra[4]
        self.people[team, risk, category, level] += 1
        if plan is not None and self._long(plan, risk):
            self.long_plans.append(LongPlanInterval(ref, risk, team, manager, status, plan, self.defaults[risk], tags))
        if review_recorded and in_status and status in SUPERVISED:
            due = self.cal.supervisor_review_due(risk, start, reviewed)
            if today > due:
                late = today - due
                last = DATES[reviewed]
                self.supervision.append(
                    Item(
                        "supervisor_review", ref, risk, team, manager, DATES[due], late, last, 0, False, personal, tags
                    )
                )

    def visit(
        self,
        ref: str,
        risk: str,
        team: str,
        manager: str,
        start: int,
        last_visit: int | None,
        tags: CaseTags,
        extra: Sequence[Any],
    ) -> tuple[int, CaseTags]:
        """Someone owing home visits: their due day (by their own interval) and their visit's tags."""
        plan = extra[0]
        cal = self.cal
        if plan is None:
            due = cal.intervals[risk][last_visit] if last_visit else cal.window[start]
            visit_tags = TAGS[self.defaults[risk], "risk_level", tags.mappa_category, tags.mappa_level]
        else:
            due = cal.plans[plan][last_visit] if last_visit else cal.window[start]
            visit_tags = TAGS[plan, "plan", tags.mappa_category, tags.mappa_level]
            self.plan_count += 1
        found = pattern_of(self.n, extra[5], extra[6], extra[7], extra[8], extra[9], extra[10], extra[11])
        if found is not None:
            self.predictable.append(Predictable(ref, risk, team, manager, self.n, *found, tags=tags))
        return due, visit_tags

    def _long(self, plan: str, risk: str) -> bool:
        key = (plan, risk)
        found = self.long.get(key)
        if found is None:
            found = self.long[key] = long_plan(plan, self.policy.intervals[risk], self.multiple)
        return found

    def finish(
        self,
        result: Obligations,
        practice: PracticeInput,
        as_of: date,
        caseload: dict[tuple[str, str, str], int],
    ) -> Obligations:
        """``result`` with the practice measures: the look-back's visits tallied (lone and
        announced), every list in contract order, and the figures."""
        tallies: dict[tuple[str, str, str], list[int]] = {}
        lone: list[LoneVisit] = []
        for (
            visit_id,
            ref,
            visit_day,
            officer,
            paired,
            announced,
            risk,
            team,
            manager,
            category,
            level,
        ) in practice.visits:
            who = officer or manager
            counts = tallies.get((team, risk, who))
            if counts is None:
                counts = tallies[team, risk, who] = [0, 0, 0, 0, 0]
            counts[HOME] += 1
            if paired is not None:
                counts[PAIRING] += 1
                if not paired:
                    counts[LONE] += 1
                    tags = TAGS[None, None, category, level]
                    lone.append(LoneVisit(visit_id, ref, risk, team, manager, DATES[visit_day], who, tags))
            if announced is not None:
                counts[ANNOUNCING] += 1
                if announced:
                    counts[ANNOUNCED] += 1
        pp = self.policy.practice
        late: dict[str, int] = {}
        for item in result.overdue_visits:
            level = item.tags.mappa_level if item.tags is not None else None
            key = "none" if level is None else str(level)
            late[key] = late.get(key, 0) + 1
        figures = PracticeFigures(
            recorded=practice.recorded,
            policy=pp,
            lookback_start=lookback_start(as_of, pp.lone_visit_lookback),
            visits=tallies,
            people=dict(self.people),
            plan_intervals=self.plan_count,
            caseloads=caseloads(caseload, pp.caseload_weights, pp.caseload_ceiling),
            counts={
                "lone_visits": len(lone),
                "predictable_visits": len(self.predictable),
                "overdue_supervisor_reviews": len(self.supervision),
                "long_plan_intervals": len(self.long_plans),
            },
            overdue_by_level=late,
        )
        for entries in (lone, self.predictable, self.supervision, self.long_plans):
            entries.sort(key=_SORT_KEY)
        return replace(
            result,
            practice=figures,
            lone_visits=lone if figures.lone_recorded else [],
            predictable_visits=self.predictable,
            overdue_supervisor_reviews=self.supervision if figures.reviews_recorded else [],
            long_plan_intervals=self.long_plans,
        )
