"""An independent simulation of a team clearing its backlog, for checking the forecast.

It imports nothing from ``monitor``: it is written from the forecast's definition in
docs/planning.md, not from the code, and it simulates people one by one with random
outcomes where the product's model keeps expected numbers. Given a team's people (risk
level, interval in months, next due date), its home visits a week, its success rate and its
growth, it plays weeks out:

* week k runs from ``as_of + 7k`` for seven days; its pool is everyone overdue on its
  first day or falling due during it;
* the team attempts up to its capacity, most urgent first (risk level, then due date, then
  reference), one attempt per person a week, the attempts spread over the week's days;
* each attempt succeeds with the success rate (a seeded random draw); a completed visit is
  next due one interval (calendar months, clamped to the month's end, then days: a plan's
  interval may be in weeks) after the day made;
* someone in custody expected back on a known date joins the people in the week holding
  that date, due a first visit 28 days after it;
* new people join at the growth rate (fractions carried over from week to week), in the
  team's mix of risk levels, each due a first visit 28 days after joining;
* the backlog has cleared in the first week that leaves nobody in the pool unattempted.

The clearing week of several seeds is compared with the forecast's (tests/
test_planning_forecast.py).
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

RISKS = ("very_high", "high", "medium", "low")
FIRST_VISIT_DAYS = 28


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass
class Person:
    ref: str
    risk: str
    months: int
    due: date
    days: int = 0


@dataclass
class Return:
    """Someone in custody, back in the community on ``release``."""

    ref: str
    risk: str
    months: int
    release: date
    days: int = 0


@dataclass
class Team:
    as_of: date
    people: list[Person]
    capacity: int
    success: float
    growth_per_year: float = 0.0
    #: Extra people counted in the caseload for growth (in custody, say): they owe nothing.
    others: int = 0
    weeks_run: int = 80
    returns: list[Return] = field(default_factory=list)
    log: list[tuple[int, int, int]] = field(default_factory=list)  # (week, overdue, unattempted)

    def run(self, seed: int, visits: list[tuple[str, date, str]] | None = None) -> int | None:
        """Play the weeks out; the clearing week, or None within the run. With ``visits``,
        every week of the run is played and each attempt is recorded there as (ref, day,
        "completed" or "no_access"), joiners as (ref, day joined, "joined:RISK")."""
        rng = random.Random(seed)
        people = [Person(p.ref, p.risk, p.months, p.due, p.days) for p in self.people]
        mix = [p for p in self.people]
        caseload = len(self.people) + self.others
        carry = 0.0
        joined = 0
        self.log = []
        for k in range(self.weeks_run):
            first = self.as_of + timedelta(days=7 * k)
            end = first + timedelta(days=7)
            for r in self.returns:
                if first <= r.release < end:
                    people.append(Person(r.ref, r.risk, r.months, r.release + timedelta(days=FIRST_VISIT_DAYS), r.days))
            overdue = sum(1 for p in people if p.due < first)
            pool = sorted(
                (p for p in people if p.due < end),
                key=lambda p: (RISKS.index(p.risk), p.due, p.ref),
            )
            attempted = pool[: self.capacity]
            for n, person in enumerate(attempted):
                made = first + timedelta(days=n % 7)
                if rng.random() < self.success:
                    person.due = add_months(made, person.months) + timedelta(days=person.days)
                    if visits is not None:
                        visits.append((person.ref, made, "completed"))
                elif visits is not None:
                    visits.append((person.ref, made, "no_access"))
            unattempted = len(pool) - len(attempted)
            self.log.append((k, overdue, unattempted))
            if unattempted == 0 and visits is None:
                return k
            carry += self.growth_per_year * caseload * 7 / 365.2425
            while carry >= 1.0 and mix:
                carry -= 1.0
                model = mix[joined % len(mix)]
                joined += 1
                day = first + timedelta(days=joined % 7)
                people.append(
                    Person(
                        f"NEW-{joined:05d}",
                        model.risk,
                        model.months,
                        day + timedelta(days=FIRST_VISIT_DAYS),
                        model.days,
                    )
                )
                if visits is not None:
                    visits.append((f"NEW-{joined:05d}", day, f"joined:{model.risk}"))
        return None


def median_clearing_week(team: Team, seeds: range) -> float | None:
    """The median clearing week over ``seeds`` (None counts as never: if most never clear, None)."""
    found = sorted((team.run(seed) for seed in seeds), key=lambda k: (k is None, k or 0))
    middle = found[len(found) // 2]
    return None if middle is None else float(middle)
