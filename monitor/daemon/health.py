"""``visit-monitor health``: is a daemon alive, and is every job on time?

Healthy (exit 0) when **all** of these hold:

1. a daemon heartbeat is fresh: not stopped, ``beat_at`` within
   ``daemon.stale_after_seconds`` (skipped with ``--no-daemon`` for deployments that run
   ``run --once`` from cron or a systemd timer);
2. no enabled job is **late**: its latest fire time is more than
   ``daemon.late_after_seconds`` ago and has no finished run (no row, an ``abandoned``
   row, or a ``running`` row whose worker's heartbeat is stale);
3. no enabled job's **latest run failed**. A failure stays visible until the job's next
   scheduled run succeeds: a missed Monday digest is something a person must look at,
   not something a probe should forget after the next tick.

Otherwise exit 1 with one line per reason. The report also lists each job's last run
(scheduled time in the configured timezone, outcome, duration, counts) and next run, and
``unrouted``: per digest job, how many digests of its latest run had no mailable
recipient and went to the force lead(s) instead (a directory gap someone must fix; it
does not fail the probe, while a digest routed to nobody fails its job and so does).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select

from monitor.core.clock import now_utc
from monitor.core.config import JOB_NAMES
from monitor.core.cron import cron_trigger, latest_fire_time
from monitor.core.cron import next_fire_time as next_fire
from monitor.core.redact import redact
from monitor.daemon.heartbeats import heartbeat_is_fresh
from monitor.daemon.timetable import JOB_ORDER, enabled_jobs
from monitor.register.db import reading
from monitor.register.models import Heartbeat, JobRun

if TYPE_CHECKING:
    from monitor.core.config import Config


@dataclass
class LastRun:
    scheduled_for: datetime
    outcome: str
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    counts: dict[str, Any]
    error: str | None
    worker: str


@dataclass
class JobStatus:
    job: str
    schedule: str
    enabled: bool
    state: str  # ok | late | failed | running | waiting | never | off
    latest_due: datetime | None
    next_run: datetime | None
    last_run: LastRun | None
    problem: str | None = None


@dataclass
class DaemonStatus:
    worker: str
    started_at: datetime
    beat_at: datetime
    stopped_at: datetime | None
    fresh: bool
    version: str


@dataclass
class HealthReport:
    ok: bool
    reasons: list[str]
    checked_at: datetime
    timezone: str
    daemons: list[DaemonStatus] = field(default_factory=list)
    jobs: list[JobStatus] = field(default_factory=list)
    #: Digest job -> digests of its latest run that went to the force lead(s) instead.
    unrouted: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        def _default(value: object) -> str:
            if isinstance(value, datetime):
                return value.isoformat()
            return str(value)

        return json.dumps(asdict(self), default=_default, indent=2)


def _local(value: datetime | None, config: Config) -> str:
    if value is None:
        return "-"
    return value.astimezone(config.tz).strftime("%a %d %b %Y %H:%M %Z")


def _ago(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}min"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def check_health(
    engine: Engine,
    config: Config,
    now: datetime | None = None,
    *,
    require_daemon: bool = True,
) -> HealthReport:
    """Evaluate the rules in the module docstring at ``now``."""
    now = now or now_utc()
    stale = config.daemon.stale_after_seconds
    late_after = timedelta(seconds=config.daemon.late_after_seconds)
    reasons: list[str] = []
    report = HealthReport(ok=True, reasons=reasons, checked_at=now, timezone=config.timezone)
    enabled = enabled_jobs(config)

    with reading(engine) as session:
        heartbeats = {hb.worker: hb for hb in session.scalars(select(Heartbeat).order_by(Heartbeat.beat_at.desc()))}
        for hb in heartbeats.values():
            if hb.stopped_at is None or hb.beat_at >= now - timedelta(days=1):
                report.daemons.append(
                    DaemonStatus(
                        worker=hb.worker,
                        started_at=hb.started_at,
                        beat_at=hb.beat_at,
                        stopped_at=hb.stopped_at,
                        fresh=heartbeat_is_fresh(hb, now, stale),
                        version=hb.version,
                    )
                )
        if require_daemon and not any(d.fresh for d in report.daemons):
            newest = next(iter(heartbeats.values()), None)
            if newest is None:
                reasons.append("no daemon has ever started (no heartbeat)")
            elif newest.stopped_at is not None:
                reasons.append(
                    f"no daemon running: the last one ({newest.worker}) stopped {_ago_at(newest.stopped_at, now)}"
                )
            else:
                reasons.append(
                    f"no fresh heartbeat: the newest ({newest.worker}) beat {_ago_at(newest.beat_at, now)} "
                    f"(limit {stale}s)"
                )

        order = [j for j in JOB_ORDER if j in JOB_NAMES] + [j for j in JOB_NAMES if j not in JOB_ORDER]
        for job in order:
            expr = config.schedule.get(job, "off")
            last = session.scalar(
                select(JobRun).where(JobRun.job == job).order_by(JobRun.scheduled_for.desc(), JobRun.id.desc()).limit(1)
            )
            last_run = None
            if last is not None:
                duration = (last.finished_at - last.started_at).total_seconds() if last.finished_at else None
                last_run = LastRun(
                    scheduled_for=last.scheduled_for,
                    outcome=last.outcome,
                    started_at=last.started_at,
                    finished_at=last.finished_at,
                    duration_s=duration,
                    counts=dict(last.counts or {}),
                    error=redact(last.error) if last.error else None,
                    worker=last.worker,
                )
            if last_run is not None and int(last_run.counts.get("unrouted", 0) or 0):
                report.unrouted[job] = int(last_run.counts["unrouted"])
            if job not in enabled:
                why = "off" if expr == "off" else "off (no import.drop_dir)"
                report.jobs.append(JobStatus(job, why, False, "off", None, None, last_run))
                continue
            trigger = cron_trigger(expr, config.timezone)
            due = latest_fire_time(trigger, now)
            status = JobStatus(job, expr, True, "ok", due, next_fire(trigger, now), last_run)
            report.jobs.append(status)
            if due is None:
                status.state = "never" if last_run is None else "ok"
                continue
            row = last if last is not None and last.scheduled_for == due else None
            if row is None:
                row = session.scalar(select(JobRun).where(JobRun.job == job, JobRun.scheduled_for == due))
            overdue = now - due > late_after
            if row is None or row.outcome == "abandoned":
                status.state = "late" if overdue else "waiting"
                if overdue:
                    status.problem = (
                        f"{job}: the run scheduled for {_local(due, config)} has not happened "
                        f"({_ago((now - due).total_seconds())} late)"
                    )
            elif row.outcome == "running":
                worker_alive = heartbeat_is_fresh(heartbeats.get(row.worker), now, stale)
                status.state = "running" if worker_alive or not overdue else "late"
                if status.state == "late":
                    status.problem = (
                        f"{job}: the run scheduled for {_local(due, config)} is stuck (its worker {row.worker} is gone)"
                    )
            elif row.outcome == "failed":
                status.state = "failed"
                status.problem = (
                    f"{job}: the run scheduled for {_local(due, config)} failed: {redact(row.error or 'no detail')}"
                )
            if status.problem:
                reasons.append(status.problem)

    report.ok = not reasons
    return report


def _ago_at(when: datetime, now: datetime) -> str:
    return f"{_ago((now - when).total_seconds())} ago"


def render_text(report: HealthReport, config: Config) -> str:
    """The human report: verdict, reasons, daemons, then one block per job."""
    lines = [f"visit-monitor health: {'OK' if report.ok else 'FAILING'} ({_local(report.checked_at, config)})"]
    lines += [f"  ! {reason}" for reason in report.reasons]
    lines += [
        f"  unrouted: {job}: {n} digest(s) had no mailable recipient and went to the force lead(s)"
        for job, n in report.unrouted.items()
    ]
    lines.append("daemons:")
    if not report.daemons:
        lines.append("  (none)")
    for d in report.daemons:
        if d.stopped_at is not None:
            state = f"stopped {_ago_at(d.stopped_at, report.checked_at)}"
        else:
            state = ("alive" if d.fresh else "STALE") + f", last beat {_ago_at(d.beat_at, report.checked_at)}"
        lines.append(f"  {d.worker}  {state}  (started {_local(d.started_at, config)}, version {d.version})")
    lines.append("jobs:")
    width = max(len(j.job) for j in report.jobs) if report.jobs else 10
    for j in report.jobs:
        lines.append(f"  {j.job:<{width}}  {j.schedule:<16}  {j.state}")
        if j.last_run is not None:
            r = j.last_run
            duration = f"{r.duration_s:.1f}s" if r.duration_s is not None else "-"
            counts = " ".join(f"{k}={v}" for k, v in r.counts.items()) or "-"
            lines.append(f"  {'':<{width}}  last: {_local(r.scheduled_for, config)}  {r.outcome}  {duration}  {counts}")
            if r.error:
                lines.append(f"  {'':<{width}}  error: {r.error}")
        elif j.enabled:
            lines.append(f"  {'':<{width}}  last: never")
        if j.enabled:
            lines.append(f"  {'':<{width}}  next: {_local(j.next_run, config)}")
    return "\n".join(lines)
