"""Prometheus metrics on loopback (``[metrics] listen = "127.0.0.1:PORT"``), via prometheus_client.

The figures live in the database, not in process memory, so any replica reports the same
numbers and a restart loses nothing: a custom collector (:class:`DatabaseCollector`) runs a
few cheap aggregate queries at scrape time, registered on a private ``CollectorRegistry``
(never the library's global one, which would also export this process's internals) and
served by prometheus_client's WSGI app from a daemon thread:

* overdue visits and caseload by team and risk level, from the latest backlog snapshot
  (the snapshot job refreshes it daily, so a scrape never runs the full scan);
* job runs by job and outcome, failures by job, last success time per job (job_runs);
* messages by outbox status, disclosures by outcome (what was sent and what failed),
  digests re-routed to a force lead because their own recipient could not be mailed
  (``unrouted``, by kind);
* how many daemons have a fresh heartbeat.

Only counts and codes (team codes, job names) are exposed: never a case reference. The
endpoint binds to loopback only (the config refuses anything else, and so does
:class:`MetricsServer`); other paths answer 404, and a failed scrape answers 500 with the
reason in the daemon log, not in the response.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime, time
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, generate_latest, make_wsgi_app
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from monitor.core.clock import now_utc
from monitor.daemon.failures import safe_error
from monitor.daemon.heartbeats import heartbeat_is_fresh
from monitor.register.db import reading
from monitor.register.models import BacklogSnapshot, Disclosure, Heartbeat, JobRun, OutboxMessage

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from monitor.core.config import Config

log = logging.getLogger("monitor.daemon.metrics")

#: The classic text format, which prometheus_client answers a scraper that asks for no other.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: The one path that answers: a scraper pointed at "/" by mistake gets a 404 that says where
#: the metrics are, rather than a 200 that looks like a working but empty target.
PATHS = ("/metrics",)


@dataclass
class _Families:
    """Every family the endpoint exports, empty until :meth:`DatabaseCollector.collect` fills it."""

    overdue: GaugeMetricFamily
    caseload: GaugeMetricFamily
    snapshot_at: GaugeMetricFamily
    runs: CounterMetricFamily
    failures: CounterMetricFamily
    last_ok: GaugeMetricFamily
    outbox: GaugeMetricFamily
    sent: CounterMetricFamily
    failed: CounterMetricFamily
    disclosures: CounterMetricFamily
    unrouted: CounterMetricFamily
    daemons: GaugeMetricFamily

    @classmethod
    def empty(cls) -> _Families:
        team_risk = ["team", "risk_level"]
        return cls(
            overdue=GaugeMetricFamily(
                "visit_monitor_overdue_visits",
                "Overdue home visits by team and risk level (latest snapshot).",
                labels=team_risk,
            ),
            caseload=GaugeMetricFamily(
                "visit_monitor_caseload", "Active caseload by team and risk level (latest snapshot).", labels=team_risk
            ),
            snapshot_at=GaugeMetricFamily(
                "visit_monitor_snapshot_date_timestamp_seconds",
                "Start (in the configured timezone) of the day the latest snapshot describes.",
                labels=[],
            ),
            runs=CounterMetricFamily(
                "visit_monitor_job_runs_total", "Scheduled job runs by job and outcome.", labels=["job", "outcome"]
            ),
            failures=CounterMetricFamily(
                "visit_monitor_job_failures_total", "Scheduled job runs that failed, by job.", labels=["job"]
            ),
            last_ok=GaugeMetricFamily(
                "visit_monitor_job_last_success_timestamp_seconds",
                "When each job last finished successfully.",
                labels=["job"],
            ),
            outbox=GaugeMetricFamily(
                "visit_monitor_outbox_messages", "Messages in the outbox by status.", labels=["status"]
            ),
            sent=CounterMetricFamily(
                "visit_monitor_messages_sent_total", "Messages sent (outbox status sent).", labels=[]
            ),
            failed=CounterMetricFamily(
                "visit_monitor_messages_failed_total",
                "Messages that failed for good (outbox status failed).",
                labels=[],
            ),
            disclosures=CounterMetricFamily(
                "visit_monitor_disclosures_total", "Disclosure log entries by outcome.", labels=["outcome"]
            ),
            unrouted=CounterMetricFamily(
                "visit_monitor_messages_unrouted_total",
                "Digests sent to a force lead because their own recipient could not be mailed, by kind.",
                labels=["kind"],
            ),
            daemons=GaugeMetricFamily("visit_monitor_daemons_alive", "Daemons with a fresh heartbeat.", labels=[]),
        )

    def all(self) -> list[Metric]:
        return [getattr(self, f.name) for f in fields(self)]


def families() -> list[Metric]:
    """Every family the endpoint exports, empty (names, types, help and labels: the reference)."""
    return _Families.empty().all()


class DatabaseCollector(Collector):
    """Reads the current figures from the database on every scrape.

    ``now`` is fixed only by tests (heartbeat freshness); the daemon leaves it unset.
    """

    def __init__(self, engine: Engine, config: Config, now: datetime | None = None) -> None:
        self.engine, self.config, self.now = engine, config, now

    def describe(self) -> Iterable[Metric]:
        """The families without samples, so the registry knows the names without a query."""
        return _Families.empty().all()

    def collect(self) -> Iterator[Metric]:
        families = _Families.empty()
        with reading(self.engine) as session:
            self._snapshot(session, families)
            self._job_runs(session, families)
            self._messages(session, families)
            now = self.now or now_utc()
            alive = sum(
                1
                for hb in session.scalars(select(Heartbeat))
                if heartbeat_is_fresh(hb, now, self.config.daemon.stale_after_seconds)
            )
            families.daemons.add_metric([], alive)
        return iter(families.all())

    def _snapshot(self, session: Session, families: _Families) -> None:
        latest = session.scalar(select(func.max(BacklogSnapshot.taken_on)))
        if latest is None:
            return
        rows = session.execute(
            select(
                BacklogSnapshot.team,
                BacklogSnapshot.risk_level,
                BacklogSnapshot.overdue_visits,
                BacklogSnapshot.caseload,
            )
            .where(BacklogSnapshot.taken_on == latest)
            .order_by(BacklogSnapshot.team, BacklogSnapshot.risk_level)
        )
        for team, risk, n_overdue, n_caseload in rows:
            families.overdue.add_metric([team, risk], n_overdue or 0)
            families.caseload.add_metric([team, risk], n_caseload or 0)
        families.snapshot_at.add_metric([], datetime.combine(latest, time(0), tzinfo=self.config.tz).timestamp())

    def _job_runs(self, session: Session, families: _Families) -> None:
        failed_by_job: dict[str, int] = {}
        for job, outcome, n in session.execute(
            select(JobRun.job, JobRun.outcome, func.count()).group_by(JobRun.job, JobRun.outcome).order_by(JobRun.job)
        ):
            families.runs.add_metric([job, outcome], n)
            if outcome == "failed":
                failed_by_job[job] = failed_by_job.get(job, 0) + n
        for job in sorted(self.config.schedule):
            families.failures.add_metric([job], failed_by_job.get(job, 0))
        for job, finished in session.execute(
            select(JobRun.job, func.max(JobRun.finished_at))
            .where(JobRun.outcome == "ok")
            .group_by(JobRun.job)
            .order_by(JobRun.job)
        ):
            if finished is not None:
                if isinstance(finished, str):  # func.max bypasses the type decorator on SQLite
                    finished = datetime.fromisoformat(finished)
                if finished.tzinfo is None:
                    finished = finished.replace(tzinfo=UTC)
                families.last_ok.add_metric([job], finished.timestamp())

    def _messages(self, session: Session, families: _Families) -> None:
        by_status: dict[str, int] = {
            status: n
            for status, n in session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        }
        for status in sorted(set(by_status) | {"pending", "sending", "sent", "failed", "blocked"}):
            families.outbox.add_metric([status], by_status.get(status, 0))
        families.sent.add_metric([], by_status.get("sent", 0))
        families.failed.add_metric([], by_status.get("failed", 0))
        for outcome, n in session.execute(
            select(Disclosure.outcome, func.count()).group_by(Disclosure.outcome).order_by(Disclosure.outcome)
        ):
            families.disclosures.add_metric([outcome], n)
        unrouted = dict(
            session.execute(
                select(OutboxMessage.kind, func.count())
                .where(OutboxMessage.routed_because.is_not(None))
                .group_by(OutboxMessage.kind)
            ).all()
        )
        for kind in ("team", "escalation", "force"):
            families.unrouted.add_metric([kind], unrouted.get(kind, 0))


def metrics_registry(engine: Engine, config: Config, now: datetime | None = None) -> CollectorRegistry:
    """A private registry holding only :class:`DatabaseCollector` (no process or GC metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(engine, config, now))
    return registry


def render_metrics(engine: Engine, config: Config, now: datetime | None = None) -> str:
    """The Prometheus text exposition of the current figures."""
    return generate_latest(metrics_registry(engine, config, now)).decode()


def guarded(app: WSGIApplication) -> WSGIApplication:
    """``app`` on :data:`PATHS` only (404 elsewhere), and a failed scrape as a bare 500.

    prometheus_client answers any path, and an exception in a collector would reach
    wsgiref, which prints the traceback with its message (which may quote a row) to stderr.
    """

    def guarded_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "/") not in PATHS:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found: the metrics are at /metrics\n"]
        try:
            return app(environ, start_response)
        except Exception as exc:
            log.error("metrics scrape failed: %s", safe_error(exc))
            start_response("500 Internal Server Error", [("Content-Type", CONTENT_TYPE)])
            return [b"# scrape failed: see the daemon log\n"]

    return guarded_app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet: scrapes are routine
        pass


class MetricsServer:
    """``GET /metrics`` on a loopback address, served from a daemon thread."""

    def __init__(self, engine: Engine, config: Config, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        if host not in LOOPBACK_HOSTS:
            raise ValueError("metrics.listen must be a loopback address")
        app = guarded(make_wsgi_app(metrics_registry(engine, config)))

        class Server(ThreadingMixIn, WSGIServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

        self._httpd = make_server(host, int(port), app, server_class=Server, handler_class=_QuietHandler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
