"""Weeks as the planner counts them: Monday to Sunday, in the configured timezone's dates.

Why a module of its own: every part of the planner (the week's plan, capacity after time
away, the forecast's weeks, the backtest) must agree on which week a date falls in and how
much of a week an absence takes, and those are the edges the tests hold fixed (Sunday 23:30
against Monday 00:30 in London, the clock changes, a week across New Year). Dates here are
already London dates (``monitor.core.clock.today``), so no time zone is needed.

An absence takes its share of the *working* days (Monday to Friday) it covers: a day away
on a Saturday costs nothing, a whole working week away is the whole week.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

#: Working days in a week, the unit an absence is counted in.
WORKING_DAYS = 5


def week_start(day: date) -> date:
    """The Monday of the week holding ``day``."""
    return day - timedelta(days=day.weekday())


def week_end(day: date) -> date:
    """The Sunday of the week holding ``day``."""
    return week_start(day) + timedelta(days=6)


def iso_week(day: date) -> str:
    """The ISO week holding ``day``, as ``2026-W53`` (the year the week belongs to)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def working_days(first: date, last: date) -> int:
    """Monday-to-Friday days from ``first`` to ``last`` inclusive (0 when ``last < first``)."""
    if last < first:
        return 0
    days = (last - first).days + 1
    weeks, rest = divmod(days, 7)
    count = weeks * WORKING_DAYS
    weekday = first.weekday()
    for offset in range(rest):
        if (weekday + offset) % 7 < WORKING_DAYS:
            count += 1
    return count


def share_away(spans: Iterable[tuple[date, date, float]], first: date, last: date) -> float:
    """The share (0 to 1) of the working days from ``first`` to ``last`` that absences take.

    ``spans`` are ``(starts_on, ends_on, fraction)``; overlapping absences never take more
    than every working day. A span with no working days in it takes nothing.
    """
    total = working_days(first, last)
    if total == 0:
        return 0.0
    away = 0.0
    for starts_on, ends_on, fraction in spans:
        away += fraction * working_days(max(first, starts_on), min(last, ends_on))
    return min(1.0, away / total)


def weeks_away(spans: Iterable[tuple[date, date, float]], first: date, last: date) -> float:
    """Absences from ``first`` to ``last`` in weeks of working days (5 working days = 1)."""
    days = working_days(first, last)
    return share_away(spans, first, last) * days / WORKING_DAYS
