"""Cron expressions as crontab(5) means them, evaluated by APScheduler 3.x.

It lives in core because configuration validates every schedule when the file is read, and
the daemon computes fire times from the same code: neither may import the other.

Cron day-of-week: APScheduler 3.x numbers weekdays 0 = Monday, while cron (and this
config file) uses 0 or 7 = Sunday. :func:`translate_cron` rewrites the day-of-week field
into names before APScheduler sees it, so "0 7 * * 1" means Monday as in crontab(5).
One more difference from Vixie cron: when both day-of-month and day-of-week are
restricted, APScheduler requires *both* to match (cron fires when *either* does).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # APScheduler is imported when a trigger is first built, not by --help
    from apscheduler.triggers.cron import CronTrigger

_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron numbering: 0 = Sunday


def _dow_value(token: str, expr: str) -> int:
    token = token.strip().lower()
    if token in _DOW_NAMES:
        return _DOW_NAMES.index(token)
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise ValueError(f"day of week {token!r} in {expr!r}: expected 0-7 (0 or 7 = Sunday) or sun..sat")


def _translate_dow(field_text: str) -> str:
    """Expand a cron day-of-week field into explicit names (cron numbering)."""
    if field_text in ("*", "?"):
        return "*"
    days: set[int] = set()
    for item in field_text.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"step {step_text!r} in day of week {field_text!r}")
            step = int(step_text)
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = _dow_value(a, field_text), _dow_value(b, field_text)
            if b.strip() == "7":
                last = 7  # "5-7" is Friday to Sunday
            if last < first:
                raise ValueError(f"range {base!r} in day of week {field_text!r} runs backwards")
        else:
            first = _dow_value(base, field_text)
            last = 6 if step_text else first  # "1/2" = from Monday, every other day
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_DOW_NAMES[d] for d in sorted(days))


def translate_cron(expr: str) -> str:
    """Rewrite a 5-field cron expression so APScheduler 3.x reads day-of-week as cron does."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month day-of-week), got {len(fields)}")
    fields[4] = _translate_dow(fields[4])
    return " ".join(fields)


@lru_cache(maxsize=256)
def cron_trigger(expr: str, timezone: str) -> CronTrigger:
    """An APScheduler CronTrigger for a crontab(5) expression in ``timezone`` (a zone name)."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(translate_cron(expr), timezone=timezone)


def next_fire_time(trigger: CronTrigger, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after``, as aware UTC."""
    fire = trigger.get_next_fire_time(None, after.astimezone(UTC) + timedelta(microseconds=1))
    return fire.astimezone(UTC) if fire is not None else None


_MAX_LOOKBACK = timedelta(days=366 * 8 + 2)  # "29 Feb" fires at least once in 8 years


def latest_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The most recent fire time at or before ``now`` (aware UTC), or None.

    CronTrigger only looks forward, so look back from a short window that grows until it
    contains a fire time, then walk forward to the last one not after ``now``.
    """
    now = now.astimezone(UTC)
    window = timedelta(minutes=2)
    while window <= _MAX_LOOKBACK * 4:
        first = trigger.get_next_fire_time(None, now - window)
        if first is not None and first.astimezone(UTC) <= now:
            last = first.astimezone(UTC)
            while True:
                following = next_fire_time(trigger, last)
                if following is None or following > now:
                    return last
                last = following
        window *= 4
    return None
