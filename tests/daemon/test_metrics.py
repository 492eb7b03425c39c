"""The Prometheus endpoint: figures from the database, served over loopback."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from builders import add_offender, add_officer
from sqlalchemy import Engine

from monitor.daemon.loop import Daemon
from monitor.daemon.metrics import CONTENT_TYPE, MetricsServer, render_metrics
from monitor.register.db import transaction
from monitor.register.models import BacklogSnapshot, Disclosure, Heartbeat, JobRun, OutboxMessage
from monitor.reports.snapshot import take_snapshot

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value, ignoring comments."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def seed(engine: Engine) -> None:
    with transaction(engine) as s:
        for day, overdue in ((date(2026, 11, 25), 9), (date(2026, 11, 26), 3)):
            s.add(
                BacklogSnapshot(
                    taken_on=day, team="T1", risk_level="high", caseload=10, overdue_visits=overdue, created_at=NOW
                )
            )
        s.add(BacklogSnapshot(taken_on=date(2026, 11, 26), team='T"2', risk_level="low", caseload=4, created_at=NOW))
        for i, (job, outcome) in enumerate(
            [("deliver", "ok"), ("deliver", "ok"), ("deliver", "failed"), ("snapshot", "ok"), ("snapshot", "running")]
        ):
            fire = NOW - timedelta(minutes=5 * (10 - i))
            s.add(
                JobRun(
                    job=job,
                    scheduled_for=fire,
                    started_at=fire,
                    finished_at=None if outcome == "running" else fire + timedelta(seconds=2),
                    outcome=outcome,
                    counts={},
                    worker="w:1:x",
                )
            )
        for i, status in enumerate(["sent", "sent", "failed", "pending"]):
            s.add(
                OutboxMessage(
                    kind="officer",
                    recipient=f"OM{i}",
                    email=f"om{i}@police.example",
                    period="2026-W48",
                    message_id=f"<fake-{i}@monitor.police.example>",
                    subject="Overdue visits",
                    content=b"fake",
                    case_refs=["FAKE-1"],
                    status=status,
                    created_at=NOW,
                )
            )
        for outcome in ("sent", "sent", "failed"):
            s.add(
                Disclosure(
                    at=NOW,
                    message_id="<x>",
                    kind="officer",
                    recipient="OM0",
                    email="om0@police.example",
                    case_refs=["FAKE-1"],
                    transport="maildir",
                    outcome=outcome,
                )
            )
        s.add(Heartbeat(worker="w:1:x", host="w", pid=1, started_at=NOW, beat_at=NOW, version="0"))


def test_metrics_reflect_the_database(engine: Engine, db_url: str, make_config: Any) -> None:
    seed(engine)
    text = render_metrics(engine, make_config(db_url), NOW)
    got = samples(text)  # prometheus_client writes label names in sorted order
    assert got['visit_monitor_overdue_visits{risk_level="high",team="T1"}'] == 3  # the latest day only
    assert got['visit_monitor_overdue_visits{risk_level="low",team="T\\"2"}'] == 0  # label escaped
    assert got['visit_monitor_caseload{risk_level="high",team="T1"}'] == 10
    assert got['visit_monitor_job_runs_total{job="deliver",outcome="ok"}'] == 2
    assert got['visit_monitor_job_runs_total{job="deliver",outcome="failed"}'] == 1
    assert got['visit_monitor_job_failures_total{job="deliver"}'] == 1
    assert got['visit_monitor_job_failures_total{job="officer_digest"}'] == 0
    last_deliver = NOW - timedelta(minutes=5 * 9) + timedelta(seconds=2)
    assert got['visit_monitor_job_last_success_timestamp_seconds{job="deliver"}'] == last_deliver.timestamp()
    assert got["visit_monitor_messages_sent_total"] == 2
    assert got["visit_monitor_messages_failed_total"] == 1
    assert got['visit_monitor_outbox_messages{status="pending"}'] == 1
    assert got['visit_monitor_disclosures_total{outcome="sent"}'] == 2
    assert got["visit_monitor_daemons_alive"] == 1
    assert "# TYPE visit_monitor_job_runs_total counter" in text
    assert "FAKE-1" not in text and "police.example" not in text  # no case refs, no addresses


def test_overdue_counts_come_from_the_snapshot_job(sqlite_engine: Engine, sqlite_url: str, make_config: Any) -> None:
    with transaction(sqlite_engine) as s:
        add_officer(s, "OM1")
        for i in range(3):
            add_offender(s, f"FAKE-{i}", risk_level="high", team="T9", offender_manager="OM1")
    cfg = make_config(sqlite_url)
    take_snapshot(sqlite_engine, cfg, date(2026, 11, 26))
    got = samples(render_metrics(sqlite_engine, cfg, NOW))
    assert got['visit_monitor_overdue_visits{risk_level="high",team="T9"}'] == 3


def fetch(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        return response.status, response.headers["Content-Type"], response.read().decode()


def test_served_over_loopback(sqlite_engine: Engine, sqlite_url: str, make_config: Any) -> None:
    seed(sqlite_engine)
    server = MetricsServer(sqlite_engine, make_config(sqlite_url), "127.0.0.1:0")
    server.start()
    try:
        status, ctype, body = fetch(f"http://127.0.0.1:{server.port}/metrics")
        assert status == 200 and ctype == CONTENT_TYPE
        assert samples(body)["visit_monitor_messages_sent_total"] == 2
        for path in ("/admin", "/", "/metrics/", "/favicon.ico"):  # only /metrics answers
            with pytest.raises(urllib.error.HTTPError) as missing:
                fetch(f"http://127.0.0.1:{server.port}{path}")
            assert missing.value.code == 404, path
            assert b"/metrics" in missing.value.read()
    finally:
        server.stop()


def test_daemon_serves_metrics_while_running(sqlite_engine: Engine, sqlite_url: str, make_config: Any) -> None:
    cfg = make_config(
        sqlite_url,
        metrics={"listen": "127.0.0.1:0"},
        schedule=dict.fromkeys(cfg_jobs(), "off"),
        daemon={"tick_seconds": 1, "heartbeat_seconds": 1},
    )
    daemon = Daemon(sqlite_engine, cfg, registry={})
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(daemon.run(install_signals=False)))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while daemon._metrics is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert daemon._metrics is not None
        _status, _ctype, body = fetch(f"http://127.0.0.1:{daemon._metrics.port}/metrics")
        assert samples(body)["visit_monitor_daemons_alive"] == 1
    finally:
        daemon.request_stop()
        thread.join(timeout=20)
    assert result == [0]


def cfg_jobs() -> tuple[str, ...]:
    from monitor.core.config import JOB_NAMES

    return JOB_NAMES


def test_listen_must_be_loopback(make_config: Any) -> None:
    from monitor.core.config import ConfigError

    with pytest.raises(ConfigError, match=r"metrics\.listen"):
        make_config(metrics={"listen": "0.0.0.0:9465"})
