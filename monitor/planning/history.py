"""What the register knew weeks ago, what it knows now, and the overdue counts between: in one pass.

The backtest (:mod:`monitor.planning.backtest`) needs the planner's facts as of a day N
weeks back, the scan's overdue count on that day and each week since, and (to set beside
it) the forecast from today. Asked of the scan date by date, a national register took a
minute (each past date computes every person's visit facts afresh). This reads the register
once and works all three out:

* the people in scope on any of the days (registered by the last, registration not ended
  before the first, not deceased or deregistered), with their status, management, risk
  level, status start S and plan interval, exactly as the scan reads them (the plan
  interval only when the practice measures are on); the register keeps no history of
  plans, so today's applies to every day replayed;
* every completed home visit after the *cutoff*, the day before the first day by the
  longest interval (the policy's, any person's plan interval, and the first-visit window):
  a person with no visit counted after it is overdue on every one of the days, whatever
  their earlier history, so nothing older is needed;
* the home visits attempted from 26 weeks before the first day to the last (capacity and
  success rate on each).

The overdue count on day d follows the rules: in scope and in the community, actively
managed, S on or before d; due is the last completed home visit on or after S and on or
before d, plus their interval (their plan's, else their risk level's), else S plus the
first-visit window; overdue when d is after the due date.
tests/planning/test_planning_history.py holds these counts equal to the scan's, day by
day, on both databases, and the forecast from these facts equal to the forecast from
:func:`monitor.planning.inputs.read_facts`. Each person adds their overdue stretches
(between one visit's due date and the next visit) to a running count over the days, so the
cost is a step per visit, not one per person and day.

What the forecast does not read is left out of these facts: a person's last visit and
failed attempts (the plan's words), and the exact due date of someone overdue since before
the cutoff, who carries S plus the first-visit window (a date before the first day): the
forecast reads only that they are overdue.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from monitor.core.durations import Duration
from monitor.core.gcpause import paused_gc
from monitor.planning.facts import Case, Facts
from monitor.planning.inputs import SUCCESS_WEEKS, assemble, due_after, next_due, person_interval, plans_on
from monitor.planning.source import Source
from monitor.rules.calendar import DATES, Calendar

if TYPE_CHECKING:
    from monitor.core.config import Policy

#: A day ordinal before any date.
NEVER = 0


@dataclass(frozen=True)
class History:
    """The facts on the first and the last day, and the scan's overdue count each week between."""

    then: Facts
    now: Facts
    actual: list[tuple[date, int]]


def cutoff(policy: Policy, first: date, plans: Iterable[Duration] = ()) -> date:
    """The last day a visit may fall on and still leave its person overdue on ``first``
    whatever came before (the longest interval, plan interval or window, months taken at
    31 days)."""
    spans = [*policy.intervals.values(), policy.first_visit_within, *plans]
    longest = max(d.months * 31 + d.days for d in spans)
    return first - timedelta(days=longest + 1)


@paused_gc()  # a national read makes 200,000 cases from as many rows (see core.gcpause)
def read_history(source: Source, policy: Policy, first: date, last: date, team: str | None = None) -> History:
    """The facts as of ``first`` (visits up to that day) and as of ``last``, and the scan's
    overdue count on ``first`` and every 7 days after it up to ``last`` (which must be a
    whole number of weeks later)."""
    if last < first or (last - first).days % 7:
        raise ValueError("the backtest's last day must be a whole number of weeks after its first")
    cal = Calendar(policy)
    days = [first + timedelta(days=7 * k) for k in range((last - first).days // 7 + 1)]
    origin, end = first.toordinal(), last.toordinal()
    people = source.people(first, last, team)
    # Today's plan intervals are all the register knows of the past: each person's applies
    # throughout (docs/planning.md), when the practice measures are on, as the scan reads it.
    with_plans = plans_on(policy, source)
    plans = {row[9] for row in people if row[9] is not None} if with_plans else set()
    since = cutoff(policy, first, (person_interval(policy, "low", p)[0] for p in plans))
    old = since.toordinal()
    # Rows come by reference then day: each person's run of rows becomes their list.
    visits = {
        ref: [day for _ref, day in run] for ref, run in groupby(source.completed_since(since, team), key=itemgetter(0))
    }
    counts = [0] * (len(days) + 1)
    then: list[Case] = []
    now: list[Case] = []
    intervals = {risk: person_interval(policy, risk) for risk in policy.intervals}
    tables = {risk: due_after(cal, risk) for risk in policy.intervals}
    empty: list[int] = []
    for ref, risk, status, team_code, manager, registered_on, status_since, management, ends, plan, release in people:
        start: int = status_since or registered_on
        if not with_plans:
            plan = None
        seen = visits.get(ref, empty)
        if seen and seen[0] < start:
            seen = seen[bisect_left(seen, start) :]
        active = status == "community" and management == "active"
        after = tables[risk] if plan is None else due_after(cal, risk, plan)
        if active:
            _add_overdue(
                counts,
                next_due(cal, risk, start, None, plan) if start > old else NEVER,
                after,
                start,
                ends,
                seen,
                origin,
                end,
            )
        interval, chosen = intervals[risk] if plan is None else person_interval(policy, risk, plan)
        for on, out in ((origin, then), (end, now)):
            if registered_on > on or (ends is not None and ends < on):
                continue  # not in scope on that day
            due = None
            if active and start <= on:
                made = bisect_right(seen, on)
                due = DATES[after[seen[made - 1]] if made else next_due(cal, risk, start, None, plan)]
            out.append(
                Case(
                    ref,
                    risk,
                    team_code,
                    manager,
                    status,
                    DATES[registered_on],
                    DATES[start],
                    due,
                    None,
                    0,
                    interval,
                    chosen,
                    DATES[release],
                )
            )
    running, actual = 0, []
    for k, day in enumerate(days):
        running += counts[k]
        actual.append((day, running))
    if team is None:
        attempts = source.attempts(first - timedelta(days=7 * SUCCESS_WEEKS - 1), last, None, None)
        return History(
            then=assemble(source, policy, first, then, attempts=attempts),
            now=assemble(source, policy, last, now, attempts=attempts),
            actual=actual,
        )
    return History(
        then=assemble(source, policy, first, then, team=team),
        now=assemble(source, policy, last, now, team=team),
        actual=actual,
    )


def _add_overdue(
    counts: list[int],
    due: int,
    after: Any,
    start: int,
    ends: int | None,
    seen: list[int],
    origin: int,
    end: int,
) -> None:
    """Add one person's overdue days among the weekly days to ``counts`` (a difference array).

    ``due`` is their due date before the first visit in ``seen`` (S + window when S is
    after the cutoff, as no earlier visit counts; else NEVER: overdue throughout).
    """
    low, high = max(start, origin), end if ends is None else min(ends, end)
    if low > high:
        return
    stretch_from = low
    for visit in seen:
        if visit > high:
            break
        if visit >= low:
            _stretch(counts, max(stretch_from, due + 1), visit - 1, origin)
            stretch_from = visit
        due = after[visit]
    _stretch(counts, max(stretch_from, due + 1), high, origin)


def _stretch(counts: list[int], a: int, b: int, origin: int) -> None:
    """+1 on every weekly day from ``a`` to ``b`` inclusive (day ordinals)."""
    if a > b:
        return
    k_from = -((origin - a) // 7) if a > origin else 0  # ceil((a - origin) / 7)
    k_to = (b - origin) // 7
    if k_from <= k_to:
        counts[k_from] += 1
        counts[k_to + 1] -= 1
