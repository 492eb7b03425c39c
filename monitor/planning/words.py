"""The planner's sentences: why a visit is planned, and what a forecast says.

Kept in one place so the CLI, reports and (later) digests and web pages say the same thing
in the same words. Words, never colour alone; no personal data (a case is its reference);
time away is never a reason.
"""

from __future__ import annotations

from datetime import date

from monitor.core.durations import Duration

RISK_WORDS: dict[str, str] = {"very_high": "very high", "high": "high", "medium": "medium", "low": "low"}

#: Shown on every plan and forecast, in every format.
ADVICE = (
    "Advice only: a person decides. These are suggestions for the supervisor and officers, not decisions "
    "(Data Protection Act 2018, Part 3, s.49: no significant decision based solely on automated processing)."
)


def day_words(day: date) -> str:
    """ "Thu 10 Dec"."""
    return f"{day:%a} {day.day} {day:%b}"


def date_words(day: date) -> str:
    """ "1 Feb 2027"."""
    return f"{day.day} {day:%b %Y}"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def every_words(interval: Duration) -> str:
    """ "every 6 weeks", "every 2 months", "every year", "every 10 days"."""
    months, days = interval.months, interval.days
    if months and not days:
        if months % 12 == 0:
            return "every year" if months == 12 else f"every {months // 12} years"
        return "every month" if months == 1 else f"every {months} months"
    if days and not months:
        if days % 7 == 0:
            return "every week" if days == 7 else f"every {days // 7} weeks"
        return f"every {plural(days, 'day')}"
    return f"every {plural(months, 'month')} {plural(days, 'day')}"


def reason(
    risk_level: str,
    days_overdue: int,
    due_date: date,
    failed_attempts: int,
    flag: int,
    first_visit: bool,
    plan: Duration | None = None,
) -> str:
    """Why a visit is in the plan, most important first.

    "very high; 12 days overdue", "high; plan every 6 weeks; due Thu 10 Dec; 2 failed
    attempts: consider a s.96B warrant", "medium; due today; first visit". ``plan``: the
    person's own interval, from their risk management plan (none: their risk level's).
    """
    parts = [RISK_WORDS.get(risk_level, risk_level)]
    if plan is not None:
        parts.append(f"plan {every_words(plan)}")
    if days_overdue > 0:
        parts.append(f"{plural(days_overdue, 'day')} overdue")
    elif days_overdue == 0:
        parts.append("due today")
    else:
        parts.append(f"due {day_words(due_date)}")
    if first_visit:
        parts.append("first visit")
    if failed_attempts:
        attempts = plural(failed_attempts, "failed attempt")
        parts.append(f"{attempts}: consider a s.96B warrant" if failed_attempts >= flag else attempts)
    return "; ".join(parts)


def weeks_words(weeks: int) -> str:
    return "this week" if weeks == 0 else f"in {plural(weeks, 'week')}"
