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

People returning from custody or hospital on a known date join the week their first visit
falls due (the first-visit window after their return), and new registrations join at the
growth rate, spread evenly over the days, in the team's present mix of risk levels and
intervals, each owing a first visit within the window. Growth is net (new registrations
less people who left), so nobody is taken out one by one: a person whose registration ends
is among those the net rate already counts.

A week *fits* when its whole pool can be attempted: less than half a visit is left waiting
for capacity. What is still overdue then is only the attempts that failed, tried again the
next week. The backlog *clears* in the first week from which 13 weeks in a row fit: it is
worked off and stays so for a quarter (a single quiet week between busy ones is not a
cleared backlog).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

from monitor.core.durations import Duration
from monitor.rules.obligations import RISK_ORDER

#: A week fits when less than this much of its pool waits for capacity.
FIT_TOLERANCE = 0.5
#: The backlog has cleared when this many weeks in a row fit (it clears and stays clear).
STAY_WEEKS = 13


class Group(NamedTuple):
    """People the model treats alike (a tuple: a national forecast looks one up per person)."""

    risk_level: str
    interval: Duration


@dataclass(frozen=True)
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


def clearing_week(weeks: list[Week], stay: int = STAY_WEEKS) -> int | None:
    """The first week from which ``stay`` weeks in a row fit (fewer at the run's end do not count)."""
    streak = 0
    for w in weeks:
        streak = streak + 1 if w.fits else 0
        if streak >= stay:
            return w.index - stay + 1
    return None


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

    def add_arrivals(self, g: Group, per_week: float) -> None:
        index = self.group(g)
        self.arrivals[index] = self.arrivals.get(index, 0.0) + per_week

    def run(self, capacity: list[float], *, until: int, stop_after: int | None = None) -> list[Week]:
        """Weeks 0 to ``until - 1`` (capacity[k] for week k). With ``stop_after``, the run
        ends once it has that many weeks and the backlog has cleared (:func:`clearing_week`)."""
        groups = self.groups
        n = len(groups)
        over = list(self.over)
        due = [dict(d) for d in self.due]
        levels: dict[str, list[int]] = {}
        for i in sorted(range(n), key=lambda i: RISK_ORDER[groups[i].risk_level]):
            levels.setdefault(groups[i].risk_level, []).append(i)
        p = self.success_rate
        weeks: list[Week] = []
        streak = 0
        cleared = False
        falling = [0.0] * n
        for k in range(until):
            if self.arrivals:
                spread = _spread(self.window, self.as_of, k, k)
                for i, per_week in self.arrivals.items():
                    bucket = due[i]
                    for week, share in spread:
                        bucket[week] = bucket.get(week, 0.0) + per_week * share
            by_risk = dict.fromkeys(RISK_ORDER, 0.0)
            for i in range(n):
                falling[i] = due[i].pop(k, 0.0)
                by_risk[groups[i].risk_level] += over[i]
            overdue = sum(by_risk.values())
            pool = overdue + sum(falling)
            cap = capacity[k]
            remaining = cap
            attempts = [0.0] * n
            for members in levels.values():
                for share_of in (over, falling):
                    if remaining <= 0.0:
                        break
                    total = sum(share_of[i] for i in members)
                    if total <= 0.0:
                        continue
                    take = min(remaining, total)
                    remaining -= take
                    scale = take / total
                    for i in members:
                        attempts[i] += share_of[i] * scale
            completed = 0.0
            for i in range(n):
                done = p * attempts[i]
                left = over[i] + falling[i] - done
                over[i] = left if left > 1e-12 else 0.0
                if done > 0.0:
                    completed += done
                    bucket = due[i]
                    for week, share in _spread(groups[i].interval, self.as_of, k, k + 1):
                        bucket[week] = bucket.get(week, 0.0) + done * share
            fits = pool - cap < FIT_TOLERANCE
            weeks.append(
                Week(
                    k,
                    self.as_of + timedelta(days=7 * k),
                    overdue,
                    by_risk,
                    sum(falling),
                    cap,
                    cap - remaining,
                    completed,
                    fits,
                )
            )
            streak = streak + 1 if fits else 0
            cleared = cleared or streak >= STAY_WEEKS
            if stop_after is not None and cleared and k + 1 >= stop_after:
                break
        return weeks


#: Per (interval, as-of, week, earliest): where something done on each of the week's days is
#: next due, as (week index, share). Shared by every team and run: a national forecast asks
#: the same few intervals over the same weeks thousands of times.
_SPREAD: dict[tuple[Duration, date, int, int], list[tuple[int, float]]] = {}
_SPREAD_MAX = 100_000


def _spread(interval: Duration, as_of: date, k: int, earliest: int) -> list[tuple[int, float]]:
    """Where ``interval`` after each day of week ``k`` falls, by week (never before ``earliest``)."""
    key = (interval, as_of, k, earliest)
    spread = _SPREAD.get(key)
    if spread is None:
        counts: dict[int, int] = {}
        first = as_of + timedelta(days=7 * k)
        for j in range(7):
            week = max(earliest, (interval.after(first + timedelta(days=j)) - as_of).days // 7)
            counts[week] = counts.get(week, 0) + 1
        spread = [(week, c / 7) for week, c in sorted(counts.items())]
        if len(_SPREAD) >= _SPREAD_MAX:
            _SPREAD.clear()
        _SPREAD[key] = spread
    return spread
