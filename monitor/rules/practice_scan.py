"""The practice measures inside the scan's one pass over the people (see :mod:`monitor.rules.scan`).

Why a class of its own: with the measures off the scan's loop must cost what it did, so
all it does for them is one test per person. With them on, the scan inlines the common
cases (a person's own interval, from a memo table per distinct interval, a handful in a
register; their case line's tags, one shared object per MAPPA combination; a supervisor
review not yet due) and hands :class:`PracticeTrack` the rest: a plan's interval to check
against the default, an overdue supervisor review, a pattern of the last visits. At the end
the track tallies the look-back's visits (lone and announced), the caseloads, and sorts its
lists. Nothing here reads the database or imports SQLAlchemy: the rows come from either way
of reading them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from monitor.core.memo import Memo
from monitor.register.import_warnings import long_plan
from monitor.rules.calendar import DATES, Calendar
from monitor.rules.obligations import RISK_ORDER, Item, Obligations, Personal
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
    decode_pattern,
    lookback_start,
    mappa_of,
)

if TYPE_CHECKING:
    from monitor.core.config import Policy
    from monitor.rules.case_tags import PracticeInput

_REF = attrgetter("ref")
_MAPPA = attrgetter("tags.mappa_rank")
_DAYS = attrgetter("days_overdue")


def _risk_rank(entry: Any) -> int:
    return RISK_ORDER[entry.risk_level]


def _newest(visit: LoneVisit) -> int:
    return -visit.visit_date.toordinal()


def sort_entries(entries: list[Any], *, days: bool = False) -> None:
    """Contract order (``sort_key``: risk, MAPPA level 2 and 3 first, then most overdue when
    ``days``, then ref) as stable sorts by attribute keys that run in C, least significant
    first (tests/reports/test_practice_outputs.py holds the two orders equal)."""
    entries.sort(key=_REF)
    if days:
        entries.sort(key=_DAYS, reverse=True)
    entries.sort(key=_MAPPA)
    entries.sort(key=_risk_rank)


class PracticeTrack:
    """What the scan keeps for the practice measures (see the module docstring)."""

    def __init__(self, policy: Policy, cal: Calendar, count_only: frozenset[str] = frozenset()) -> None:
        self.policy = policy
        self.cal = cal
        self.n = policy.practice.predictable_visits_last
        self.defaults = {risk: str(d) for risk, d in policy.intervals.items()}
        self.multiple = policy.practice.plan_interval_warn_multiple
        #: A case line's tags by MAPPA (as one number, rules.rows.MAPPA_CODE); a visit's by
        #: (risk level, MAPPA) or (plan, MAPPA).
        self.case_tags: Memo[int, CaseTags] = Memo(lambda code: TAGS[(None, None, *mappa_of(code))])
        self.risk_tags: Memo[tuple[str, int], CaseTags] = Memo(
            lambda k: TAGS[(self.defaults[k[0]], "risk_level", *mappa_of(k[1]))]
        )
        self.plan_tags: Memo[tuple[str, int], CaseTags] = Memo(lambda k: TAGS[(k[0], "plan", *mappa_of(k[1]))])
        self.mappa_people: Counter[int] = Counter()
        #: Everyone in scope by ref: (risk, team, offender manager, tags), for the look-back's visits.
        self.who: dict[str, tuple[str, str, str, CaseTags]] = {}
        self.long: dict[tuple[str, str], bool] = {}
        self.predictable: list[Predictable] = []
        self.supervision: list[Item] = []
        self.long_plans: list[LongPlanInterval] = []
        self.plan_count = 0
        #: The practice lists only counted (``scan(count_only=...)``: a report of other lists
        #: still counts them in its summary), and how many entries each had.
        self.count_only = count_only
        self.counted: Counter[str] = Counter()

    def plan(self, ref: str, risk: str, status: str, team: str, manager: str, plan: str, tags: CaseTags) -> None:
        """A person whose plan sets their interval: listed when it is long for the risk level."""
        key = (plan, risk)
        found = self.long.get(key)
        if found is None:
            found = self.long[key] = long_plan(plan, self.policy.intervals[risk], self.multiple)
        if found and "long_plan_intervals" in self.count_only:
            self.counted["long_plan_intervals"] += 1
        elif found:
            self.long_plans.append(LongPlanInterval(ref, risk, team, manager, status, plan, self.defaults[risk], tags))

    def supervise(
        self,
        ref: str,
        risk: str,
        team: str,
        manager: str,
        due: int,
        today: int,
        reviewed: int | None,
        personal: Personal | None,
        tags: CaseTags,
    ) -> None:
        """An overdue supervisor review."""
        if "overdue_supervisor_reviews" in self.count_only:
            self.counted["overdue_supervisor_reviews"] += 1
            return
        late = today - due
        item = Item(
            "supervisor_review", ref, risk, team, manager, DATES[due], late, DATES[reviewed], 0, False, personal, tags
        )
        self.supervision.append(item)

    def pattern(self, ref: str, risk: str, team: str, manager: str, tags: CaseTags | None, code: int) -> None:
        """Someone owing visits whose last N visits make a pattern (their stored pattern's code)."""
        if "predictable_visits" in self.count_only:
            self.counted["predictable_visits"] += 1
            return
        self.predictable.append(Predictable(ref, risk, team, manager, self.n, *decode_pattern(code), tags=tags))

    def finish(
        self,
        result: Obligations,
        practice: PracticeInput,
        as_of: date,
        caseload: dict[tuple[str, str, str], int],
    ) -> Obligations:
        """``result`` with the practice measures: the look-back's visits tallied (lone and
        announced), every list in contract order, and the figures."""
        tallies, lone, lone_count = self._tally(practice)
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
            people={mappa_of(code): count for code, count in self.mappa_people.items()},
            plan_intervals=self.plan_count,
            caseloads=caseloads(caseload, pp.caseload_weights, pp.caseload_ceiling),
            counts={
                "lone_visits": lone_count,
                "predictable_visits": len(self.predictable) + self.counted["predictable_visits"],
                "overdue_supervisor_reviews": len(self.supervision) + self.counted["overdue_supervisor_reviews"],
                "long_plan_intervals": len(self.long_plans) + self.counted["long_plan_intervals"],
            },
            overdue_by_level=late,
        )
        lone.sort(key=attrgetter("visit_id"))
        lone.sort(key=_REF)
        lone.sort(key=_newest)
        lone.sort(key=_MAPPA)
        lone.sort(key=_risk_rank)
        sort_entries(self.predictable)
        sort_entries(self.supervision, days=True)
        sort_entries(self.long_plans)
        return replace(
            result,
            practice=figures,
            lone_visits=lone if figures.lone_recorded else [],
            predictable_visits=self.predictable,
            overdue_supervisor_reviews=self.supervision if figures.reviews_recorded else [],
            long_plan_intervals=self.long_plans,
        )

    def _tally(self, practice: PracticeInput) -> tuple[dict[tuple[str, str, str], list[int]], list[LoneVisit], int]:
        """The look-back's tallies per (team, risk, visiting officer: the visit's officer,
        else the case's offender manager), as :data:`rules.practice.HOME`..., and its lone
        visits (listed unless only counted) and their number, of the people in scope (the
        others' visits, read force-wide without the register, are skipped here)."""
        tallies: dict[tuple[str, str, str], list[int]] = {}
        lone: list[LoneVisit] = []
        listing = "lone_visits" not in self.count_only
        lone_count = 0
        who = self.who
        for visit_id, ref, visit_day, officer, paired, announced in practice.visits:
            found = who.get(ref)
            if found is None:  # not in scope on the as-of date
                continue
            risk, team, manager, tags = found
            key = (team, risk, manager if officer is None else officer)
            counts = tallies.get(key)
            if counts is None:
                counts = tallies[key] = [0, 0, 0, 0, 0]
            counts[HOME] += 1
            if paired is not None:
                counts[PAIRING] += 1
                if not paired:
                    counts[LONE] += 1
                    lone_count += 1
                    if listing:
                        day = DATES[visit_day]
                        lone.append(LoneVisit(visit_id, ref, risk, team, manager, day, officer or manager, tags))
            if announced is not None:
                counts[ANNOUNCING] += 1
                if announced:
                    counts[ANNOUNCED] += 1
        return tallies, lone, lone_count
