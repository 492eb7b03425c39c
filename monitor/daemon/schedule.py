"""When jobs are due, who runs them, and the long-running daemon (``visit-monitor run``).

Correctness does not rest on APScheduler's in-memory misfire handling (it forgets
everything when the process stops, and knows nothing of other replicas). Instead:

* APScheduler's ``CronTrigger`` computes fire times in the configured timezone, so
  "Monday 07:00 London" is 07:00 UTC in winter and 06:00 UTC in summer.
* Every tick (an APScheduler interval job, ``daemon.tick_seconds``) takes, for each
  enabled job, the **latest fire time at or before now**. Several missed times collapse
  into that one; an older one is never run once a newer one has come.
* A process *claims* that scheduled time by inserting ``job_runs(job, scheduled_for,
  outcome='running', worker)``. The unique key lets exactly one process win, however
  many replicas share the database (SQLite file or PostgreSQL). The winner runs the job
  and records the outcome, counts and a personal-data-free error text.
* Each process upserts a ``heartbeats`` row every ``daemon.heartbeat_seconds``. A
  ``running`` row whose worker's heartbeat is stale (``daemon.stale_after_seconds``),
  stopped or missing is marked ``abandoned`` by another process and re-claimed, as long
  as it is still the latest fire time.

Cron expressions follow crontab(5); the translation for APScheduler lives in
:mod:`monitor.core.cron`.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from monitor.core.clock import now_utc
from monitor.core.cron import cron_trigger, latest_fire_time
from monitor.core.redact import redact

if TYPE_CHECKING:
    from monitor.core.config import Config
    from monitor.daemon.jobs import JobFunc
    from monitor.daemon.metrics import MetricsServer

log = logging.getLogger("monitor.daemon.schedule")

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


def scheduled_date(scheduled_for: datetime, config: Config) -> date:
    """The calendar date of a scheduled time in the configured timezone (digests' as_of)."""
    return scheduled_for.astimezone(config.tz).date()


# --------------------------------------------------------------------------- heartbeats


def make_worker_id() -> str:
    """host:pid:random, so a restarted process never inherits its predecessor's claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def beat(engine: Engine, worker: str, *, started_at: datetime, stopped: bool = False) -> None:
    """Upsert this process's heartbeat (only this process writes its row, so no race)."""
    from monitor import __version__
    from monitor.register.db import transaction
    from monitor.register.models import Heartbeat

    now = now_utc()
    host, pid, _ = worker.rsplit(":", 2)
    with transaction(engine) as session:
        row = session.get(Heartbeat, worker)
        if row is None:
            row = Heartbeat(worker=worker, host=host, pid=int(pid), started_at=started_at, version=__version__)
            session.add(row)
        row.beat_at = now
        row.stopped_at = now if stopped else None


def heartbeat_is_fresh(row: Any, now: datetime, stale_after_seconds: int) -> bool:
    """A heartbeat counts when it is not stopped and beat within ``stale_after_seconds``."""
    return row is not None and row.stopped_at is None and row.beat_at >= now - timedelta(seconds=stale_after_seconds)


# --------------------------------------------------------------------------- claims and runs


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


def safe_error(exc: BaseException) -> str:
    """An error text for job_runs and logs that carries no personal data.

    Our own exceptions (config, schema, import failures, JobFailed) are written to name a
    file, line or key, never a value. Database driver messages can quote row values, and
    arbitrary exceptions can carry anything, so for those only the type is kept.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.core.config import ConfigError
    from monitor.daemon.jobs import JobFailed
    from monitor.register.db import SchemaError
    from monitor.register.importer import ImportFailure

    trusted = (JobFailed, ConfigError, SchemaError, ImportFailure, OSError, TimeoutError)
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        inner = f" ({type(orig).__name__})" if orig is not None else ""
        return f"database error: {type(exc).__name__}{inner}"
    if isinstance(exc, trusted):
        text = redact(str(exc).splitlines()[0]) if str(exc) else ""
        return f"{type(exc).__name__}: {text[:500]}" if text else type(exc).__name__
    return f"{type(exc).__name__} (details withheld; see the traceback in the log)"


def _traceback_frames(exc: BaseException) -> str:
    """Where it failed (file, line, code) without the exception message (may hold data)."""
    import traceback

    return "".join(traceback.format_tb(exc.__traceback__))


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
        from monitor.daemon.jobs import default_registry

        self.engine = engine
        self.config = config
        self.worker = worker or make_worker_id()
        self.registry = registry if registry is not None else default_registry()
        self.started_at = now_utc()

    # -- which times are due

    def due(self, now: datetime) -> list[tuple[str, datetime]]:
        """(job, latest fire time <= now) for each enabled job, in :data:`JOB_ORDER`."""
        out = []
        for job, expr in enabled_jobs(self.config).items():
            fire = latest_fire_time(cron_trigger(expr, self.config.timezone), now)
            if fire is not None:
                out.append((job, fire))
        return out

    # -- claiming

    def claim(self, job: str, scheduled_for: datetime, now: datetime) -> Claim | None:
        """Claim one scheduled time: insert its row, or take over an abandoned one.

        Returns None when the time is already done, or running in a live process, or
        another process won the race.
        """
        from monitor.register.db import reading, transaction
        from monitor.register.models import Heartbeat, JobRun

        with reading(self.engine) as session:
            row = session.scalar(select(JobRun).where(JobRun.job == job, JobRun.scheduled_for == scheduled_for))
            if row is not None and row.outcome == "running":
                hb = session.get(Heartbeat, row.worker)
                stale_worker = row.worker != self.worker and not heartbeat_is_fresh(
                    hb, now, self.config.daemon.stale_after_seconds
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
        from monitor.daemon.jobs import JobFailed
        from monitor.register.db import transaction
        from monitor.register.models import JobRun

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
            log.error("%s raised %s\n%s", claim.job, error, _traceback_frames(exc), extra=fields)
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


# --------------------------------------------------------------------------- systemd


def sd_notify(state: str) -> bool:
    """Send ``state`` to systemd over $NOTIFY_SOCKET (a unix datagram socket); False if none.

    The protocol is one datagram of newline-separated KEY=VALUE lines; a leading "@" in
    the path means the Linux abstract namespace.
    """
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
        return True
    except OSError as exc:
        log.warning("sd_notify failed: %s", type(exc).__name__)
        return False


def watchdog_interval() -> float | None:
    """Half of systemd's WatchdogSec (from $WATCHDOG_USEC), if this process is watched."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000


# --------------------------------------------------------------------------- the daemon


@dataclass
class _State:
    stopping: bool = False
    active: set[str] = field(default_factory=set)
    threads: list[threading.Thread] = field(default_factory=list)


class Daemon:
    """``visit-monitor run``: ticks, heartbeats, signals, metrics and systemd notifications.

    The main thread owns signals and only sets flags; APScheduler's background thread
    runs the tick and heartbeat jobs; each tick's claimed runs go to one worker thread
    (in :data:`JOB_ORDER`), so a long import never holds up the next tick's deliveries.
    """

    def __init__(
        self,
        engine: Engine,
        config: Config,
        *,
        loader: Callable[[], Config] | None = None,
        registry: dict[str, JobFunc] | None = None,
        worker: str | None = None,
        on_reload: Callable[[Config], None] | None = None,
    ) -> None:
        self.runner = Runner(engine, config, worker=worker, registry=registry)
        self.loader = loader
        self.on_reload = on_reload
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._state = _State()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._last_tick = time.monotonic()
        self._metrics: MetricsServer | None = None
        self._scheduler: Any = None
        self._previous_handlers: dict[int, Any] = {}

    @property
    def config(self) -> Config:
        return self.runner.config

    @property
    def worker(self) -> str:
        return self.runner.worker

    # -- signals (main thread)

    def install_signal_handlers(self) -> None:
        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s: finishing running jobs, starting no new ones", signal.Signals(signum).name)
            self._stop.set()

        def _hup(_signum: int, _frame: FrameType | None) -> None:
            self._reload.set()  # handled by the main loop within a second

        for signum, handler in ((signal.SIGTERM, _stop), (signal.SIGINT, _stop), (signal.SIGHUP, _hup)):
            self._previous_handlers[signum] = signal.signal(signum, handler)

    def restore_signal_handlers(self) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()

    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        self._reload.set()

    # -- scheduled jobs (APScheduler thread)

    def _tick(self) -> None:
        self._last_tick = time.monotonic()
        now = now_utc()
        claims: list[Claim] = []
        try:
            for job, fire in self.runner.due(now):
                with self._lock:
                    if self._state.stopping or self._stop.is_set():
                        break
                    if job in self._state.active:
                        continue
                    self._state.active.add(job)
                try:
                    claim = self.runner.claim(job, fire, now)
                except Exception as exc:
                    claim = None
                    log.error("claiming %s failed: %s", job, safe_error(exc), extra={"job": job})
                if claim is None:
                    self._release([job])
                else:
                    claims.append(claim)
        except Exception as exc:
            log.error("tick failed: %s\n%s", safe_error(exc), _traceback_frames(exc))
        if claims:
            thread = threading.Thread(target=self._run_claims, args=(claims,), name="jobs", daemon=True)
            with self._lock:
                self._state.threads.append(thread)
            thread.start()
        self._last_tick = time.monotonic()

    def _run_claims(self, claims: list[Claim]) -> None:
        try:
            for claim in claims:
                if self._stop.is_set():
                    self._hand_back(claim)
                    self._release([claim.job])
                    continue
                try:
                    self.runner.execute(claim)
                except Exception as exc:  # recording the outcome failed (database gone?)
                    log.error("%s: could not record the run: %s", claim.job, safe_error(exc), extra={"job": claim.job})
                finally:
                    self._release([claim.job])
        finally:
            with self._lock:
                self._state.threads = [t for t in self._state.threads if t is not threading.current_thread()]

    def _hand_back(self, claim: Claim) -> None:
        """A claimed run not started before shutdown: mark it abandoned for another worker."""
        from monitor.register.db import transaction
        from monitor.register.models import JobRun

        try:
            with transaction(self.runner.engine) as session:
                _rowcount(
                    session,
                    update(JobRun)
                    .where(JobRun.id == claim.run_id, JobRun.worker == self.worker, JobRun.outcome == "running")
                    .values(outcome="abandoned", finished_at=now_utc(), error="not started: the daemon was stopping"),
                )
            log.info("%s not started (stopping); left for another worker", claim.job, extra={"job": claim.job})
        except Exception as exc:
            log.error("%s: could not hand back the claim: %s", claim.job, safe_error(exc), extra={"job": claim.job})

    def _release(self, jobs: Iterable[str]) -> None:
        with self._lock:
            self._state.active.difference_update(jobs)
            self._idle.notify_all()

    def _beat(self, stopped: bool = False) -> None:
        try:
            beat(self.runner.engine, self.worker, started_at=self.runner.started_at, stopped=stopped)
        except Exception as exc:
            log.error("heartbeat failed: %s", safe_error(exc))

    # -- reload (main thread)

    def reload(self) -> bool:
        """Re-read and re-validate the config; keep the old one if the new one is bad."""
        if self.loader is None:
            return False
        from monitor.core.config import ConfigError

        try:
            new = self.loader()
        except ConfigError as exc:
            log.error("reload refused, keeping the running configuration: %s", exc)
            return False
        old = self.config
        if new.database_url != old.database_url:
            log.warning("database.url changed: that needs a restart; keeping the current database")
            new = replace(new, database_url=old.database_url)
        self.runner.config = new
        if self._scheduler is not None:
            from apscheduler.triggers.interval import IntervalTrigger

            if new.daemon.tick_seconds != old.daemon.tick_seconds:
                self._scheduler.reschedule_job("tick", trigger=IntervalTrigger(seconds=new.daemon.tick_seconds))
            if new.daemon.heartbeat_seconds != old.daemon.heartbeat_seconds:
                self._scheduler.reschedule_job(
                    "heartbeat", trigger=IntervalTrigger(seconds=new.daemon.heartbeat_seconds)
                )
        if new.metrics_listen != old.metrics_listen:
            self._stop_metrics()
            self._start_metrics()
        if self.on_reload is not None:
            self.on_reload(new)
        log.info("configuration reloaded", extra={"worker": self.worker})
        return True

    # -- metrics

    def _start_metrics(self) -> None:
        if not self.config.metrics_listen:
            return
        from monitor.daemon.metrics import MetricsServer

        try:
            self._metrics = MetricsServer(self.runner.engine, self.config, self.config.metrics_listen)
            self._metrics.start()
            log.info("metrics on http://%s/metrics", self.config.metrics_listen)
        except OSError as exc:
            self._metrics = None
            log.error("metrics endpoint not started: %s", safe_error(exc))

    def _stop_metrics(self) -> None:
        if self._metrics is not None:
            self._metrics.stop()
            self._metrics = None

    # -- main loop

    def run(self, *, install_signals: bool = True) -> int:
        """Run until SIGTERM/SIGINT (or :meth:`request_stop`); 0 on a clean stop.

        Returns 1 when a running job was still going after
        ``daemon.shutdown_timeout_seconds``: its row stays ``running`` and, with this
        process's heartbeat marked stopped, another replica (or the next start) marks it
        abandoned and runs it again.
        """
        if install_signals:
            self.install_signal_handlers()
        try:
            return self._run()
        finally:
            self.restore_signal_handlers()

    def _run(self) -> int:
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        self._beat()
        self._start_metrics()
        scheduler = BackgroundScheduler(timezone=self.config.timezone)
        self._scheduler = scheduler
        scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.config.daemon.tick_seconds),
            id="tick",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.add_job(
            self._beat,
            IntervalTrigger(seconds=self.config.daemon.heartbeat_seconds),
            id="heartbeat",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.start()
        log.info(
            "daemon started: %d jobs enabled, timezone %s",
            len(enabled_jobs(self.config)),
            self.config.timezone,
            extra={"worker": self.worker},
        )
        sd_notify(f"READY=1\nSTATUS=running as {self.worker}\nMAINPID={os.getpid()}")
        wd = watchdog_interval()
        last_ping = 0.0
        while not self._stop.is_set():
            self._stop.wait(min(1.0, wd) if wd else 1.0)
            if self._reload.is_set():
                self._reload.clear()
                sd_notify("RELOADING=1")
                self.reload()
                sd_notify("READY=1")
            # Ping only while the scheduler thread is alive and ticking.
            ticking = time.monotonic() - self._last_tick < max(60.0, 4 * self.config.daemon.tick_seconds)
            if wd and ticking and time.monotonic() - last_ping >= wd:
                sd_notify("WATCHDOG=1")
                last_ping = time.monotonic()
        return self._shutdown(scheduler)

    def _shutdown(self, scheduler: Any) -> int:
        sd_notify("STOPPING=1")
        with self._lock:
            self._state.stopping = True
        scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self.config.daemon.shutdown_timeout_seconds
        with self._lock:
            while self._state.active and time.monotonic() < deadline:
                self._idle.wait(timeout=max(0.05, min(1.0, deadline - time.monotonic())))
            unfinished = sorted(self._state.active)
        self._beat(stopped=True)
        self._stop_metrics()
        if unfinished:
            log.error(
                "stopped with jobs still running after %ss: %s (another worker will re-run them)",
                self.config.daemon.shutdown_timeout_seconds,
                ", ".join(unfinished),
                extra={"worker": self.worker},
            )
            return 1
        log.info("daemon stopped", extra={"worker": self.worker})
        return 0


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
