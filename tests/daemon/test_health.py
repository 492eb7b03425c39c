"""``visit-monitor health``: fresh / stale / stopped heartbeats, late and failed jobs.

Frozen at Thu 26 Nov 2026 09:00 UTC (= London, GMT). With the default schedule the
latest fire times are: snapshot 06:00, escalation 07:30, officer/team digests Mon 23 Nov
07:00, force report 1 Nov 08:00, deliver 09:00 (just now).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import Engine, delete, update

from monitor.cli.app import cli
from monitor.daemon.health import check_health, render_text
from monitor.register.db import transaction
from monitor.register.models import Heartbeat, JobRun

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LATEST = {
    "snapshot": datetime(2026, 11, 26, 6, tzinfo=UTC),
    "escalation": datetime(2026, 11, 26, 7, 30, tzinfo=UTC),
    "officer_digest": datetime(2026, 11, 23, 7, tzinfo=UTC),
    "team_digest": datetime(2026, 11, 23, 7, tzinfo=UTC),
    "force_report": datetime(2026, 11, 1, 8, tzinfo=UTC),
    "deliver": datetime(2026, 11, 26, 9, tzinfo=UTC),
}
WORKER = "host:100:abcdef"


def all_on_time(engine: Engine, *, beat_ago: int = 10, stopped: bool = False) -> None:
    with transaction(engine) as s:
        s.add(
            Heartbeat(
                worker=WORKER,
                host="host",
                pid=100,
                started_at=NOW - timedelta(hours=3),
                beat_at=NOW - timedelta(seconds=beat_ago),
                stopped_at=NOW - timedelta(seconds=beat_ago) if stopped else None,
                version="0.1.0",
            )
        )
        for job, fire in LATEST.items():
            s.add(
                JobRun(
                    job=job,
                    scheduled_for=fire,
                    started_at=fire + timedelta(seconds=1),
                    finished_at=fire + timedelta(seconds=3),
                    outcome="ok",
                    counts={"queued": 2, "sent": 2},
                    worker=WORKER,
                )
            )


def set_run(engine: Engine, job: str, **values: Any) -> None:
    with transaction(engine) as s:
        s.execute(update(JobRun).where(JobRun.job == job).values(**values))


def drop_run(engine: Engine, job: str) -> None:
    with transaction(engine) as s:
        s.execute(delete(JobRun).where(JobRun.job == job))


@pytest.fixture
def cfg(make_config: Any, db_url: str) -> Any:
    return make_config(db_url)


def test_fresh_heartbeat_and_everything_on_time_is_healthy(engine: Engine, cfg: Any) -> None:
    all_on_time(engine)
    report = check_health(engine, cfg, NOW)
    assert report.ok, report.reasons
    states = {j.job: j.state for j in report.jobs}
    assert states == {
        "import": "off",
        "snapshot": "ok",
        "officer_digest": "ok",
        "team_digest": "ok",
        "force_report": "ok",
        "escalation": "ok",
        "deliver": "ok",
    }
    assert [d.fresh for d in report.daemons] == [True]


@pytest.mark.parametrize(
    ("beat_ago", "stopped", "reason"),
    [(61, False, "no fresh heartbeat"), (5, True, "no daemon running")],
)
def test_stale_or_stopped_heartbeat_is_unhealthy(
    engine: Engine, cfg: Any, beat_ago: int, stopped: bool, reason: str
) -> None:
    all_on_time(engine, beat_ago=beat_ago, stopped=stopped)
    report = check_health(engine, cfg, NOW)
    assert not report.ok
    assert len(report.reasons) == 1 and reason in report.reasons[0]
    assert check_health(engine, cfg, NOW, require_daemon=False).ok


def test_no_heartbeat_at_all(engine: Engine, cfg: Any) -> None:
    report = check_health(engine, cfg, NOW)
    assert not report.ok and "no daemon has ever started" in report.reasons[0]


def test_a_run_missing_beyond_the_late_window_is_late(engine: Engine, cfg: Any) -> None:
    all_on_time(engine)
    drop_run(engine, "escalation")  # due 07:30, 90 minutes ago (window: 900 s)
    report = check_health(engine, cfg, NOW)
    assert not report.ok
    assert report.reasons == [
        "escalation: the run scheduled for Thu 26 Nov 2026 07:30 GMT has not happened (90min late)"
    ]


def test_a_run_missing_within_the_late_window_is_only_waiting(engine: Engine, db_url: str, make_config: Any) -> None:
    all_on_time(engine)
    drop_run(engine, "escalation")  # due 07:30, 5400 s ago
    patient = make_config(db_url, daemon={"late_after_seconds": 5401})
    report = check_health(engine, patient, NOW)
    assert report.ok, report.reasons
    assert {j.job: j.state for j in report.jobs}["escalation"] == "waiting"
    assert not check_health(engine, make_config(db_url, daemon={"late_after_seconds": 5399}), NOW).ok


def test_a_failed_latest_run_is_unhealthy_until_the_next_run_succeeds(engine: Engine, cfg: Any) -> None:
    all_on_time(engine)
    set_run(engine, "officer_digest", outcome="failed", error="JobFailed: 1 message(s) failed permanently")
    report = check_health(engine, cfg, NOW)
    assert not report.ok
    assert report.reasons == [
        "officer_digest: the run scheduled for Mon 23 Nov 2026 07:00 GMT failed: "
        "JobFailed: 1 message(s) failed permanently"
    ]


def test_running_job_is_fine_while_its_worker_lives_and_stuck_when_it_is_gone(engine: Engine, cfg: Any) -> None:
    all_on_time(engine)
    set_run(engine, "escalation", outcome="running", finished_at=None)
    assert check_health(engine, cfg, NOW).ok
    set_run(engine, "escalation", worker="gone:1:000000")
    report = check_health(engine, cfg, NOW)
    assert not report.ok and "stuck" in report.reasons[0]


def test_text_report_shows_last_and_next_runs_in_london_time(engine: Engine, cfg: Any) -> None:
    all_on_time(engine)
    text = render_text(check_health(engine, cfg, NOW), cfg)
    assert "visit-monitor health: OK" in text
    assert "last: Mon 23 Nov 2026 07:00 GMT  ok  2.0s  queued=2 sent=2" in text
    assert "next: Mon 30 Nov 2026 07:00 GMT" in text
    assert "next: Tue 01 Dec 2026 08:00 GMT" in text  # force report
    with freeze_time("2026-06-10 12:00:00"):
        summer = render_text(check_health(engine, cfg), cfg)
    assert "next: Mon 15 Jun 2026 07:00 BST" in summer


def test_cli_exit_codes_and_json(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    runner = CliRunner()
    with freeze_time(NOW):
        assert runner.invoke(cli, ["health"]).exit_code == 1  # nothing ever ran
        all_on_time(engine)
        ok = runner.invoke(cli, ["health"])
        assert ok.exit_code == 0, ok.output
        as_json = runner.invoke(cli, ["health", "--json"])
        drop_run(engine, "snapshot")
        late = runner.invoke(cli, ["health"])
        no_daemon = runner.invoke(cli, ["health", "--no-daemon"])
    assert as_json.exit_code == 0
    data = json.loads(as_json.output)
    assert data["ok"] is True and data["reasons"] == []
    jobs = {j["job"]: j for j in data["jobs"]}
    assert jobs["officer_digest"]["last_run"]["scheduled_for"] == "2026-11-23T07:00:00+00:00"
    assert jobs["officer_digest"]["next_run"] == "2026-11-30T07:00:00+00:00"
    assert late.exit_code == 1 and "snapshot: the run scheduled for Thu 26 Nov 2026 06:00 GMT" in late.output
    assert no_daemon.exit_code == 1  # --no-daemon skips the heartbeat, not lateness
