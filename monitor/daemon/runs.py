"""Who runs a scheduled time: claims in ``job_runs``, the run itself, and ``run --once``.

Correctness does not rest on APScheduler's in-memory misfire handling (it forgets
everything when the process stops, and knows nothing of other replicas). Instead:

* Every tick takes, for each enabled job, the latest fire time at or before now
  (:mod:`monitor.daemon.timetable`).
* A process *claims* that scheduled time by inserting ``job_runs(job, scheduled_for,
  outcome='running', worker)``. The unique key lets exactly one process win, however
  many replicas share the database (SQLite file or PostgreSQL). The winner runs the job
  and records the outcome, counts and a personal-data-free error text.
* Each process upserts a heartbeat (:mod:`monitor.daemon.heartbeats`). A ``running`` row
  whose worker's heartbeat is stale (``daemon.stale_after_seconds``), stopped or missing,
  or whose worker ran on this host and its process is gone (killed), is marked
  ``abandoned`` by another process and re-claimed, as long as it is still the latest
  fire time.

The daemon loop (:mod:`monitor.daemon.loop`) and ``run --once`` (:func:`run_once`) share
the :class:`Runner`; every write to ``job_runs`` is here.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from monitor.core.clock import now_utc
from monitor.daemon.failures import JobFailed, safe_error, traceback_frames
from monitor.daemon.heartbeats import beat, make_worker_id, worker_alive
from monitor.daemon.jobs import JobFunc, default_registry
from monitor.daemon.timetable import due_times
from monitor.register.db import reading, transaction
from monitor.register.models import Heartbeat, JobRun

if TYPE_CHECKING:
    from monitor.core.config import Config

# The logger name the daemon's messages have always carried (operators filter on it).
log = logging.getLogger("monitor.daemon.schedule")


@dataclass(frozen=True)
class Claim:
    job: str
    scheduled_for: datetime
    run_id: int
    takeover: bool = False


@dataclass
class RunResult:
    job: str
    scheduled_for: datetime
    outcome: str  # ok | failed | lost (another worker took the row over)
    counts: dict[str, Any]
    error: str | None
    duration_s: float


class Runner:
    """Claims due scheduled times and runs them; shared by the daemon and ``run --once``."""

    def __init__(
        self,
        engine: Engine,
        config: Config,
        *,
        worker: str | None = None,
        registry: dict[str, JobFunc] | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.worker = worker or make_worker_id()
        self.registry = registry if registry is not None else default_registry()
        self.started_at = now_utc()

    # -- which times are due

    def due(self, now: datetime) -> list[tuple[str, datetime]]:
        """(job, latest fire time <= now) for each enabled job, in run order."""
        return due_times(self.config, now)

    # -- claiming

    def claim(self, job: str, scheduled_for: datetime, now: datetime) -> Claim | None:
        """Claim one scheduled time: insert its row, or take over an abandoned one.

        Returns None when the time is already done, or running in a live process, or
        another process won the race.
        """
        with reading(self.engine) as session:
            row = session.scalar(select(JobRun).where(JobRun.job == job, JobRun.scheduled_for == scheduled_for))
            if row is not None and row.outcome == "running":
                hb = session.get(Heartbeat, row.worker)
                stale_worker = row.worker != self.worker and not worker_alive(
                    row.worker, hb, now, self.config.daemon.stale_after_seconds
                )
            else:
                stale_worker = False
        if row is None:
            try:
                with transaction(self.engine) as session:
                    # Checked again inside the write transaction (SQLite: BEGIN IMMEDIATE
                    # serialises writers); on PostgreSQL the unique key decides a race.
                    if session.scalar(
                        select(JobRun.id).where(JobRun.job == job, JobRun.scheduled_for == scheduled_for)
                    ):
                        return None
                    new = JobRun(
                        job=job,
                        scheduled_for=scheduled_for,
                        started_at=now,
                        outcome="running",
                        counts={},
                        worker=self.worker,
                    )
                    session.add(new)
                    session.flush()
                    return Claim(job, scheduled_for, new.id)
            except IntegrityError:
                return None
        if row.outcome == "running" and stale_worker:
            with transaction(self.engine) as session:
                marked = _rowcount(
                    session,
                    update(JobRun)
                    .where(JobRun.id == row.id, JobRun.outcome == "running", JobRun.worker == row.worker)
                    .values(
                        outcome="abandoned",
                        finished_at=now,
                        error=f"abandoned: worker {row.worker} stopped heartbeating during the run",
                    ),
                )
            if marked:
                log.warning(
                    "%s run for %s abandoned by a stale worker; re-running it",
                    job,
                    scheduled_for.isoformat(),
                    extra={"job": job, "scheduled_for": scheduled_for.isoformat(), "outcome": "abandoned"},
                )
            row.outcome = "abandoned"
        if row.outcome == "abandoned":
            counts = dict(row.counts or {})
            counts["abandoned_attempts"] = int(counts.get("abandoned_attempts", 0)) + 1
            with transaction(self.engine) as session:
                taken = _rowcount(
                    session,
                    update(JobRun)
                    .where(JobRun.id == row.id, JobRun.outcome == "abandoned")
                    .values(outcome="running", worker=self.worker, started_at=now, finished_at=None, counts=counts),
                )
            return Claim(job, scheduled_for, row.id, takeover=True) if taken else None
        return None

    # -- running

    def execute(self, claim: Claim) -> RunResult:
        """Run a claimed job and record how it went (never raises for a job's failure)."""
        fields = {"job": claim.job, "scheduled_for": claim.scheduled_for.isoformat(), "worker": self.worker}
        log.info("%s started (scheduled for %s)", claim.job, claim.scheduled_for.isoformat(), extra=fields)
        func = self.registry[claim.job]
        t0 = time.monotonic()
        counts: dict[str, Any] = {}
        error: str | None = None
        try:
            counts = dict(func(self.engine, self.config, claim.scheduled_for) or {})
            outcome = "ok"
        except JobFailed as exc:
            counts, outcome, error = dict(exc.counts), "failed", safe_error(exc)
        except Exception as exc:
            outcome, error = "failed", safe_error(exc)
            log.error("%s raised %s\n%s", claim.job, error, traceback_frames(exc), extra=fields)
        duration = time.monotonic() - t0
        if claim.takeover:
            counts.setdefault("abandoned_attempts", 1)
        with transaction(self.engine) as session:
            recorded = _rowcount(
                session,
                update(JobRun)
                .where(JobRun.id == claim.run_id, JobRun.worker == self.worker, JobRun.outcome == "running")
                .values(outcome=outcome, finished_at=now_utc(), counts=_jsonable(counts), error=error),
            )
        if not recorded:
            outcome = "lost"
            log.warning("%s: another worker took over this run while it was going", claim.job, extra=fields)
        level = logging.INFO if outcome == "ok" else logging.ERROR
        log.log(
            level,
            "%s %s in %.1fs",
            claim.job,
            outcome,
            duration,
            extra={**fields, "outcome": outcome, "counts": counts, "duration_s": round(duration, 3), "error": error},
        )
        return RunResult(claim.job, claim.scheduled_for, outcome, counts, error, duration)

    def hand_back(self, claim: Claim, reason: str) -> bool:
        """Give a claimed run that never started back: ``abandoned``, for another worker.

        Only while the row is still ours and still ``running``; True when it was.
        """
        with transaction(self.engine) as session:
            return bool(
                _rowcount(
                    session,
                    update(JobRun)
                    .where(JobRun.id == claim.run_id, JobRun.worker == self.worker, JobRun.outcome == "running")
                    .values(outcome="abandoned", finished_at=now_utc(), error=reason),
                )
            )

    def run_due(self, now: datetime | None = None, *, stop: threading.Event | None = None) -> list[RunResult]:
        """Claim and run, one after another, whatever is due at ``now`` (``run --once``)."""
        now = now or now_utc()
        beat(self.engine, self.worker, started_at=self.started_at)
        results = []
        for job, fire in self.due(now):
            if stop is not None and stop.is_set():
                break
            claim = self.claim(job, fire, now)
            if claim is not None:
                results.append(self.execute(claim))
        return results


def _rowcount(session: Any, statement: Any) -> int:
    """Rows matched by a conditional UPDATE (the claim protocol's yes/no)."""
    result: CursorResult[Any] = session.execute(statement)
    return int(result.rowcount)


def _jsonable(counts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in counts.items():
        if isinstance(value, bool | int | float | str) or value is None:
            out[str(key)] = value
        elif isinstance(value, dict):
            out[str(key)] = _jsonable(value)
        else:
            out[str(key)] = str(value)
    return out


def run_once(
    engine: Engine,
    config: Config,
    *,
    registry: dict[str, JobFunc] | None = None,
    now: datetime | None = None,
) -> list[RunResult]:
    """``run --once``: claim and run what is due now, with a heartbeat while it runs.

    The heartbeat matters even for one shot: without it a daemon replica would see the
    claimed row's worker as missing and take the run over while it is still going.
    SIGTERM/SIGINT let the current job finish and skip the rest.
    """
    runner = Runner(engine, config, registry=registry)
    stop = threading.Event()
    done = threading.Event()

    def _beats() -> None:
        while not done.wait(config.daemon.heartbeat_seconds):
            try:
                beat(engine, runner.worker, started_at=runner.started_at)
            except Exception as exc:
                log.error("heartbeat failed: %s", safe_error(exc))

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s: finishing the current job", signal.Signals(signum).name)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, _stop)
    thread = threading.Thread(target=_beats, name="heartbeat", daemon=True)
    thread.start()
    try:
        return runner.run_due(now, stop=stop)
    finally:
        done.set()
        thread.join(timeout=5)
        try:
            beat(engine, runner.worker, started_at=runner.started_at, stopped=True)
        except Exception as exc:
            log.error("heartbeat failed: %s", safe_error(exc))
        for signum, handler in previous.items():
            signal.signal(signum, handler)
