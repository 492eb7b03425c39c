"""The timetable: which jobs are on, in which order, and which scheduled time is due now.

APScheduler's ``CronTrigger`` (built in :mod:`monitor.core.cron`) computes fire times in
the configured timezone, so "Monday 07:00 London" is 07:00 UTC in winter and 06:00 UTC in
summer. What is due at a moment is, for each enabled job, the **latest fire time at or
before it**: several missed times collapse into that one, and an older one is never run
once a newer one has come (the catch-up rule). The runner claims these times and
``health`` judges them late or not, so both read them from here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from monitor.core.cron import cron_trigger, latest_fire_time

if TYPE_CHECKING:
    from monitor.core.config import Config

# Fresh data first, then the snapshot, then digests, then whatever is left to send.
JOB_ORDER: tuple[str, ...] = (
    "import",
    "snapshot",
    "officer_digest",
    "team_digest",
    "force_report",
    "escalation",
    "deliver",
)


def enabled_jobs(config: Config) -> dict[str, str]:
    """Job name -> cron expression for jobs that are on, in :data:`JOB_ORDER`.

    ``import`` needs somewhere to import from, so it is on only with ``import.drop_dir``.
    """
    jobs: dict[str, str] = {}
    for job in JOB_ORDER:
        expr = config.schedule.get(job, "off")
        if expr == "off" or (job == "import" and config.import_drop_dir is None):
            continue
        jobs[job] = expr
    return jobs


def due_times(config: Config, now: datetime) -> list[tuple[str, datetime]]:
    """(job, latest fire time <= now) for each enabled job, in :data:`JOB_ORDER`."""
    out = []
    for job, expr in enabled_jobs(config).items():
        fire = latest_fire_time(cron_trigger(expr, config.timezone), now)
        if fire is not None:
            out.append((job, fire))
    return out


def scheduled_date(scheduled_for: datetime, config: Config) -> date:
    """The calendar date of a scheduled time in the configured timezone (digests' as_of)."""
    return scheduled_for.astimezone(config.tz).date()
