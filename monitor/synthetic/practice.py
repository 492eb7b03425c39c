"""The practice-quality columns of a synthetic register (``generate(..., practice=True)``).

What inspectors look at besides the backlog needs data to show: plans that set a person's
own visit frequency (a few of them much longer than the risk level's default), MAPPA
categories and levels, supervisor reviews (some never done, some long ago), second
officers (about a third of visits made alone), announced visits, and visit times (mostly
in the day, some in the evening; a few people visited out of habit at the same time, or
always on the same weekday).

These draws come from a generator of their own, so a register with the practice columns
is the register without them (same people, same visit dates, same seed) plus these
columns: the demo register and every test that relies on a seed's bytes are unchanged.
A person's visit dates already exist when their habit is drawn, so a habit of the same
time of day is kept exactly; one of the same weekday moves no date and so arises only by
chance (or in a hand-made register).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from monitor.synthetic.people import Person, months_back

#: Plan frequencies per risk level: mostly near the default, a few far longer (flagged).
PLAN_INTERVALS: dict[str, tuple[str, ...]] = {
    "very_high": ("P2W", "P1M", "P6W", "P1M", "P3M"),
    "high": ("P6W", "P2M", "P3M", "P4M", "P8M"),
    "medium": ("P3M", "P4M", "P6M", "P9M", "P18M"),
    "low": ("P6M", "P9M", "P12M", "P18M", "P3Y"),
}
#: Minutes after midnight of the working day and of the evening (visits at 18:00 or later).
DAY = (8 * 60, 17 * 60 + 59)
EVENING = (18 * 60, 21 * 60 + 30)


@dataclass(frozen=True, slots=True)
class PersonPractice:
    """One person's practice columns, and how their visits are made."""

    visit_interval: str
    mappa_category: str
    mappa_level: str
    supervisor_reviewed_on: int | None
    #: The time of day (minutes) this person is always visited at, or None.
    habit_minute: int | None
    #: Chance that a completed home visit is made alone.
    lone_rate: float


def person_practice(rng: random.Random, p: Person, a: int) -> PersonPractice:
    """Draw one person's practice columns (``a``: the as-of day ordinal)."""
    plan = ""
    if p.status == "community" and p.management == "active" and rng.random() < 0.15:
        plan = rng.choice(PLAN_INTERVALS[p.risk])
    category = "" if rng.random() < 0.03 else ("1" if rng.random() < 0.97 else rng.choice("234"))
    r = rng.random()
    level = "" if r < 0.05 else "3" if r < 0.06 else "2" if r < 0.14 else "1"
    reviewed: int | None
    r = rng.random()
    if r < 0.07:
        reviewed = None  # never reviewed
    elif r < 0.25:
        reviewed = months_back(a, 3) - rng.randint(1, 300)  # overdue at the default P3M
    else:
        reviewed = a - rng.randint(0, 88)
    if reviewed is not None:
        reviewed = min(max(reviewed, p.registered), a)
    habit = rng.randint(*DAY) if rng.random() < 0.06 else None
    lone_rate = rng.choice((0.05, 0.2, 0.3, 0.6))
    return PersonPractice(plan, category, level, reviewed, habit, lone_rate)


def expected_release(seed: int, p: Person, a: int) -> int | None:
    """When someone in custody is expected back (``a``: the as-of day ordinal), or None.

    About two in three have a date, mostly within the next year and a few already past (a
    release that has not happened yet). Drawn from a generator of the person's own, so the
    practice columns' draws are what they were before this column.
    """
    if p.status != "custody":
        return None
    rng = random.Random(f"{seed}-{p.ref}-release")
    if rng.random() < 1 / 3:
        return None
    return a + (rng.randint(-30, -1) if rng.random() < 0.05 else rng.randint(0, 365))


def visit_practice(
    rng: random.Random, pp: PersonPractice, outcome: str, vtype: str, officer: str, om_ids: list[str]
) -> tuple[int | None, str, bool]:
    """One visit's time of day (None: the extract gives none), second officer and whether it
    was announced."""
    minute: int | None
    if rng.random() < 0.15:
        minute = None
    elif pp.habit_minute is not None:
        minute = pp.habit_minute + rng.randint(-25, 25)
    else:
        minute = rng.randint(*EVENING) if rng.random() < 0.25 else rng.randint(*DAY)
    second = ""
    if outcome != "completed" or vtype != "home" or rng.random() >= pp.lone_rate:
        candidates = [
            o for o in (om_ids[rng.randrange(len(om_ids))], om_ids[rng.randrange(len(om_ids))]) if o != officer
        ]
        second = candidates[0] if candidates else ""
    announced = rng.random() < 0.08
    return minute, second, announced
