"""Prometheus text exposition on loopback (``[metrics] listen = "127.0.0.1:PORT"``).

No client library: the text format is a few lines, and the standard library's
``http.server`` in a daemon thread is enough for one scraper. Every scrape reads the
database (cheap aggregate queries), so any replica reports the same numbers:

* overdue visits by team and risk level, from the latest backlog snapshot (the snapshot
  job refreshes it daily, so a scrape never runs the full scan);
* job runs by job and outcome, failures by job, last success time per job (job_runs);
* messages by outbox status, disclosures by outcome (what was sent and what failed);
* how many daemons have a fresh heartbeat.

Only counts and codes (team codes, job names) are exposed: never a case reference.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select

from monitor.core.clock import now_utc

if TYPE_CHECKING:
    from monitor.core.config import Config

log = logging.getLogger("monitor.daemon.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: dict[str, object]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class _Family:
    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name, self.kind, self.help = name, kind, help_text
        self.samples: list[tuple[dict[str, object], float]] = []

    def add(self, value: float, **labels: object) -> None:
        self.samples.append((labels, value))

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} {self.kind}"
        for labels, value in self.samples:
            number = repr(float(value)) if not float(value).is_integer() else str(int(value))
            yield f"{self.name}{_labels(labels)} {number}"


def collect(engine: Engine, config: Config, now: datetime | None = None) -> list[_Family]:
    """Read the current figures from the database."""
    from monitor.daemon.runs import heartbeat_is_fresh
    from monitor.register.db import reading
    from monitor.register.models import BacklogSnapshot, Disclosure, Heartbeat, JobRun, OutboxMessage

    now = now or now_utc()
    overdue = _Family(
        "visit_monitor_overdue_visits", "gauge", "Overdue home visits by team and risk level (latest snapshot)."
    )
    caseload = _Family("visit_monitor_caseload", "gauge", "Active caseload by team and risk level (latest snapshot).")
    snapshot_at = _Family(
        "visit_monitor_snapshot_date_timestamp_seconds",
        "gauge",
        "Start (in the configured timezone) of the day the latest snapshot describes.",
    )
    runs = _Family("visit_monitor_job_runs_total", "counter", "Scheduled job runs by job and outcome.")
    failures = _Family("visit_monitor_job_failures_total", "counter", "Scheduled job runs that failed, by job.")
    last_ok = _Family(
        "visit_monitor_job_last_success_timestamp_seconds", "gauge", "When each job last finished successfully."
    )
    outbox = _Family("visit_monitor_outbox_messages", "gauge", "Messages in the outbox by status.")
    sent = _Family("visit_monitor_messages_sent_total", "counter", "Messages sent (outbox status sent).")
    failed = _Family(
        "visit_monitor_messages_failed_total", "counter", "Messages that failed for good (outbox status failed)."
    )
    disclosures = _Family("visit_monitor_disclosures_total", "counter", "Disclosure log entries by outcome.")
    daemons = _Family("visit_monitor_daemons_alive", "gauge", "Daemons with a fresh heartbeat.")

    with reading(engine) as session:
        latest = session.scalar(select(func.max(BacklogSnapshot.taken_on)))
        if latest is not None:
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
                overdue.add(n_overdue or 0, team=team, risk_level=risk)
                caseload.add(n_caseload or 0, team=team, risk_level=risk)
            snapshot_at.add(datetime.combine(latest, time(0), tzinfo=config.tz).timestamp())

        failed_by_job: dict[str, int] = {}
        for job, outcome, n in session.execute(
            select(JobRun.job, JobRun.outcome, func.count()).group_by(JobRun.job, JobRun.outcome).order_by(JobRun.job)
        ):
            runs.add(n, job=job, outcome=outcome)
            if outcome == "failed":
                failed_by_job[job] = failed_by_job.get(job, 0) + n
        for job in sorted(config.schedule):
            failures.add(failed_by_job.get(job, 0), job=job)
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
                last_ok.add(finished.timestamp(), job=job)

        by_status: dict[str, int] = {
            status: n
            for status, n in session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        }
        for status in sorted(set(by_status) | {"pending", "sending", "sent", "failed", "blocked"}):
            outbox.add(by_status.get(status, 0), status=status)
        sent.add(by_status.get("sent", 0))
        failed.add(by_status.get("failed", 0))
        for outcome, n in session.execute(
            select(Disclosure.outcome, func.count()).group_by(Disclosure.outcome).order_by(Disclosure.outcome)
        ):
            disclosures.add(n, outcome=outcome)

        alive = sum(
            1
            for hb in session.scalars(select(Heartbeat))
            if heartbeat_is_fresh(hb, now, config.daemon.stale_after_seconds)
        )
        daemons.add(alive)

    return [overdue, caseload, snapshot_at, runs, failures, last_ok, outbox, sent, failed, disclosures, daemons]


def render_metrics(engine: Engine, config: Config, now: datetime | None = None) -> str:
    """The Prometheus text exposition of :func:`collect`."""
    lines: list[str] = []
    for family in collect(engine, config, now):
        lines.extend(family.render())
    return "\n".join(lines) + "\n"


class MetricsServer:
    """``GET /metrics`` on a loopback address, served from a daemon thread."""

    def __init__(self, engine: Engine, config: Config, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        self.engine, self.config = engine, config
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                    self.send_error(404)
                    return
                try:
                    body = render_metrics(server.engine, server.config).encode()
                    status = 200
                except Exception as exc:
                    from monitor.daemon.runs import safe_error

                    log.error("metrics scrape failed: %s", safe_error(exc))
                    body, status = b"# scrape failed: see the daemon log\n", 500
                self.send_response(status)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: scrapes are routine
                pass

        host = host.strip("[]")

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

        self._httpd = Server((host, int(port)), Handler)
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
