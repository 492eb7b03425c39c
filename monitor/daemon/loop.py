"""The long-running daemon (``visit-monitor run``): ticks, signals, reload and its endpoints.

What it adds to the :class:`~monitor.daemon.runs.Runner` is the life of a service:

* APScheduler's ``BackgroundScheduler`` runs two interval jobs, the *tick*
  (``daemon.tick_seconds``: claim what is due and hand it to a worker thread) and the
  *heartbeat* (``daemon.heartbeat_seconds``). Correctness does not rest on APScheduler's
  memory: what is due and who runs it live in the database (see :mod:`monitor.daemon.runs`).
* The main thread owns signals and only sets flags: SIGTERM/SIGINT start no new work and
  let running jobs finish (up to ``daemon.shutdown_timeout_seconds``); SIGHUP re-reads the
  configuration and keeps the old one when the new one is bad.
* Under systemd it reports READY/RELOADING/STOPPING and pings the watchdog only while the
  scheduler thread is ticking (:mod:`monitor.daemon.systemd`), and it serves the metrics
  endpoint when ``[metrics] listen`` is set (:mod:`monitor.daemon.metrics`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from monitor.core.clock import now_utc
from monitor.core.config import Config, ConfigError
from monitor.daemon.failures import safe_error, traceback_frames
from monitor.daemon.heartbeats import beat
from monitor.daemon.jobs import JobFunc
from monitor.daemon.metrics import MetricsServer
from monitor.daemon.runs import Claim, Runner
from monitor.daemon.systemd import sd_notify, watchdog_interval
from monitor.daemon.timetable import enabled_jobs

# The logger name the daemon's messages have always carried (operators filter on it).
log = logging.getLogger("monitor.daemon.schedule")


@dataclass
class _State:
    stopping: bool = False
    active: set[str] = field(default_factory=set)
    threads: list[threading.Thread] = field(default_factory=list)


class Daemon:
    """``visit-monitor run``: ticks, heartbeats, signals, metrics and systemd notifications.

    The main thread owns signals and only sets flags; APScheduler's background thread
    runs the tick and heartbeat jobs; each tick's claimed runs go to one worker thread
    (in :data:`~monitor.daemon.timetable.JOB_ORDER`), so a long import never holds up
    the next tick's deliveries.
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
        self._scheduler: BackgroundScheduler | None = None
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
            log.error("tick failed: %s\n%s", safe_error(exc), traceback_frames(exc))
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
        try:
            self.runner.hand_back(claim, "not started: the daemon was stopping")
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
