"""The forecast's model of one team: expected overdue visits week by week.

A deterministic expected-value model (no random draws, so the same facts always give the
same forecast), in whole weeks counted from the as-of date: week k runs from day
``as_of + 7k`` for seven days, and its figures are those on its first day (week 0's are
today's, the scan's own). Each person belongs to a *group*: their risk level and their visit
interval. For each group the model holds
the expected number overdue now and the expected number falling due in each future week.

Each week, in this order:

1. The week's *pool* is what is overdue plus what falls due in the week.
2. The team's capacity for the week (its officers' visits a week less time away, plus any
   extra a what-if adds) is spent on the pool most urgent first, as the plan spends it:
   risk level by risk level, within each level the overdue before those falling due.
   Within one level and kind the groups share alike.
3. Each attempt succeeds with the team's success rate; a completed visit is next due one
   interval after the day it was made (the week's completions are spread evenly over its
   seven days, and each day's due date is the calendar's own: P1M after 31 Jan is 28 Feb).
4. What was attempted and failed, and what was due and not attempted, is overdue when the
   next week begins.

People in custody with an expected release date (on or after the as-of date) join the
caseload the week they return and owe a first visit the first-visit window after it, like a
new registration; after it they are due at their own interval. New registrations join at the
growth rate, spread evenly over the days, in the team's present mix of risk levels and
intervals, each owing a first visit within the window. Growth is net (new registrations
less people who left), so nobody is taken out one by one: a person whose registration ends
is among those the net rate already counts.

A week *fits* when its whole pool can be attempted: less than half a visit is left waiting
for capacity. What is still overdue then is only the attempts that failed, tried again the
next week. The backlog *clears* in the first week that fits: the first week nothing waits
for capacity (the queue first empties). Should it build up again later (growing demand, an
officer away), the forecast says so beside the clearing week. These are expected numbers:
whether an attempt finds someone in is chance, so a team playing the weeks out clears a
little sooner or later; tests/planning/test_planning_forecast.py holds the clearing week within 2
weeks or 15 % of the median of simulated runs of the same team.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from monitor.core.durations import Duration
from monitor.core.slots import stores_through_slots
from monitor.rules.obligations import RISK_ORDER

#: A week fits when less than this much of its pool waits for capacity.
FIT_TOLERANCE = 0.5


class Group(NamedTuple):
    """People the model treats alike (a tuple: a national forecast looks one up per person)."""

    risk_level: str
    interval: Duration


@stores_through_slots
@dataclass(frozen=True, slots=True)
class Week:
    """One week of a run: figures on its first day, and what happened in it."""

    index: int
    on: date
    overdue: float
    overdue_by_risk: dict[str, float]
    due: float
    capacity: float
    attempted: float
    completed: float
    fits: bool
    #: People expected back from custody in the week (they join the caseload that week).
    returning: int = 0


def clearing_week(weeks: list[Week]) -> int | None:
    """The first week that fits, or None."""
    return next((w.index for w in weeks if w.fits), None)


@dataclass
class TeamModel:
    """One team's starting state; :meth:`run` projects it with a capacity per week."""

    as_of: date
    success_rate: float
    groups: list[Group] = field(default_factory=list)
    over: list[float] = field(default_factory=list)
    #: Per group: expected number falling due, by week index.
    due: list[dict[int, float]] = field(default_factory=list)
    #: New registrations a week per group, each owing a first visit ``window`` after joining.
    arrivals: dict[int, float] = field(default_factory=dict)
    window: Duration = field(default_factory=lambda: Duration(days=28))
    #: People expected back from custody, by the week they return in.
    returning: dict[int, int] = field(default_factory=dict)
    _index: dict[Group, int] = field(default_factory=dict)

    def group(self, g: Group) -> int:
        index = self._index.get(g)
        if index is None:
            index = self._index[g] = len(self.groups)
            self.groups.append(g)
            self.over.append(0.0)
            self.due.append({})
        return index

    def add_overdue(self, g: Group, count: float = 1.0) -> None:
        self.over[self.group(g)] += count

    def add_due(self, g: Group, day: date, count: float = 1.0) -> None:
        """``count`` falling due on ``day`` (on or after the as-of date)."""
        week = (day - self.as_of).days // 7
        bucket = self.due[self.group(g)]
        bucket[week] = bucket.get(week, 0.0) + count

    def add_return(self, g: Group, day: date) -> None:
        """Someone expected back from custody on ``day`` (on or after the as-of date): in the
        caseload from that week, owing a first visit the first-visit window after ``day``."""
        week = (day - self.as_of).days // 7
        self.returning[week] = self.returning.get(week, 0) + 1
        self.add_due(g, self.window.after(day))

    def add_arrivals(self, g: Group, per_week: float) -> None:
        index = self.group(g)
        self.arrivals[index] = self.arrivals.get(index, 0.0) + per_week

    def run(self, capacity: list[float], *, until: int, stop_after: int | None = None) -> list[Week]:
        """Weeks 0 to ``until - 1`` (capacity[k] for week k). With ``stop_after``, the run
        ends once it has that many weeks and a week has fitted (:func:`clearing_week`).

        The loops are over a team's groups (a national forecast: 286 teams of about 15, for
        up to 53 weeks each), so they are written for that: falling due is held by week (a
        week's list is its groups' figures), each risk level's groups are a slice when they
        are next to each other (as :func:`monitor.planning.forecast.team_starts` orders them),
        and a level's overdue total is added up once for ``overdue_by_risk`` and the capacity.
        Every figure is added up in the same order as one group at a time would, so the
        numbers are the same to the last bit.
        """
        groups = self.groups
        n = len(groups)
        as_of, p = self.as_of, self.success_rate
        over = list(self.over)
        # Falling due per week and group (a national forecast runs 286 teams).
        due = [[0.0] * n for _ in range(until + 1)]
        for i, buckets in enumerate(self.due):
            for week, count in buckets.items():
                if week < until:
                    due[week][i] += count
        order = sorted(range(n), key=lambda i: RISK_ORDER[groups[i].risk_level])
        levels: list[list[int]] = []
        for i in order:
            if levels and groups[levels[-1][0]].risk_level == groups[i].risk_level:
                levels[-1].append(i)
            else:
                levels.append([i])
        # Per level: its risk, its groups, and the slice they fill when they are next to each
        # other (else None: added up one by one, in the same order).
        tiers = [
            (
                groups[members[0]].risk_level,
                members,
                slice(members[0], members[-1] + 1) if members == list(range(members[0], members[-1] + 1)) else None,
            )
            for members in levels
        ]
        spreads = [_spreads(g.interval, as_of, until) for g in groups]
        joining = _spreads(self.window, as_of, until, after=0)
        arrivals = sorted(self.arrivals.items())
        returning = self.returning
        weeks: list[Week] = []
        cleared = False
        for k in range(until):
            if arrivals:
                for week, share in joining[k]:
                    if week < until:
                        row = due[week]
                        for i, per_week in arrivals:
                            row[i] += per_week * share
            falling = due[k]
            by_risk = dict.fromkeys(RISK_ORDER, 0.0)
            overdue = sum(over)
            demand = sum(falling)
            pool = overdue + demand
            cap = capacity[k]
            remaining = cap
            attempts = [0.0] * n
            for risk, members, span in tiers:
                late = sum(over[i] for i in members) if span is None else sum(over[span])
                by_risk[risk] = late
                if remaining <= 0.0:
                    continue
                for share_of, total in ((over, late), (falling, None)):
                    if remaining <= 0.0:
                        break
                    if total is None:
                        total = sum(share_of[i] for i in members) if span is None else sum(share_of[span])
                    if total <= 0.0:
                        continue
                    take = remaining if remaining < total else total
                    remaining -= take
                    scale = take / total
                    for i in members:
                        attempts[i] += share_of[i] * scale
            done = [p * a for a in attempts]
            over = [left if (left := o + f - d) > 1e-12 else 0.0 for o, f, d in zip(over, falling, done, strict=True)]
            completed = 0.0
            for i, made in enumerate(done):
                if made > 0.0:
                    completed += made
                    for week, share in spreads[i][k]:
                        if week < until:
                            due[week][i] += made * share
            fits = pool - cap < FIT_TOLERANCE
            on = as_of + timedelta(days=7 * k)
            back = returning.get(k, 0)
            weeks.append(Week(k, on, overdue, by_risk, demand, cap, cap - remaining, completed, fits, back))
            cleared = cleared or fits
            if stop_after is not None and cleared and k + 1 >= stop_after:
                break
        return weeks


#: Per (interval, as-of, weeks, after): for each week k, where something done on each of
#: its days is next due, as (week index, share), never before week k + after. Shared by
#: every team and run: a national forecast asks the same few intervals thousands of times.
_SPREADS: dict[tuple[int, int, date, int, int], list[list[tuple[int, float]]]] = {}
_SPREADS_MAX = 1_000


def _spreads(interval: Duration, as_of: date, weeks: int, after: int = 1) -> list[list[tuple[int, float]]]:
    """For each of ``weeks`` weeks, where ``interval`` after each of its days falls, by week."""
    key = (interval.months, interval.days, as_of, weeks, after)
    found = _SPREADS.get(key)
    if found is None:
        found = []
        for k in range(weeks):
            counts: dict[int, int] = {}
            first = as_of + timedelta(days=7 * k)
            for j in range(7):
                week = max(k + after, (interval.after(first + timedelta(days=j)) - as_of).days // 7)
                counts[week] = counts.get(week, 0) + 1
            found.append([(week, c / 7) for week, c in sorted(counts.items())])
        if len(_SPREADS) >= _SPREADS_MAX:
            _SPREADS.clear()
        _SPREADS[key] = found
    return found
