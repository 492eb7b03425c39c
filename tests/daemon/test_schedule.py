"""Cron math (timezone, DST, cron day-of-week numbering), catch-up and claims.

Times that matter: Monday 07:00 London is 07:00 UTC in winter and 06:00 UTC in summer;
the UK clocks change on Sun 29 Mar 2026 (forward) and Sun 25 Oct 2026 (back).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import Engine, func, select

from monitor.core import config as config_module
from monitor.core.cron import cron_trigger, latest_fire_time, next_fire_time, translate_cron
from monitor.daemon.runs import Runner
from monitor.daemon.timetable import enabled_jobs, scheduled_date
from monitor.register.db import make_engine, reading, transaction
from monitor.register.models import Heartbeat, JobRun

LONDON = "Europe/London"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- cron day-of-week


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("1", "mon"),
        ("0", "sun"),
        ("7", "sun"),
        ("mon", "mon"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("5-7", "sun,fri,sat"),
        ("0,6", "sun,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("1-5/2", "mon,wed,fri"),
        ("*", "*"),
    ],
)
def test_day_of_week_uses_cron_numbering(field: str, expected: str) -> None:
    assert translate_cron(f"0 7 * * {field}") == f"0 7 * * {expected}"


@pytest.mark.parametrize("expr", ["0 7 * * 8", "0 7 * * 5-1", "0 7 * * funday", "0 7 * *"])
def test_bad_cron_is_refused(expr: str) -> None:
    with pytest.raises(ValueError):
        cron_trigger(expr, LONDON)


def test_config_accepts_cron_sunday_numbers_and_rejects_nonsense() -> None:
    cfg = config_module.load(overrides={"schedule": {"snapshot": "0 6 * * 7", "import": "0 5 * * 0-3"}})
    assert cfg.schedule["snapshot"] == "0 6 * * 7"
    with pytest.raises(config_module.ConfigError, match=r"schedule\.deliver"):
        config_module.load(overrides={"schedule": {"deliver": "61 * * * *"}})


def test_numeric_one_fires_on_monday_not_tuesday() -> None:
    # APScheduler 3.x alone would read day_of_week=1 as Tuesday.
    trigger = cron_trigger("0 7 * * 1", LONDON)
    fire = next_fire_time(trigger, utc(2026, 11, 21, 12))  # Saturday
    assert fire == utc(2026, 11, 23, 7)
    assert fire.astimezone(UTC).weekday() == 0
    sunday = next_fire_time(cron_trigger("0 7 * * 0", LONDON), utc(2026, 11, 21, 12))
    assert sunday == utc(2026, 11, 22, 7)


# --------------------------------------------------------------------------- London time and DST


@pytest.mark.parametrize(
    ("monday", "fire_utc_hour"),
    [
        (date(2026, 3, 23), 7),  # last winter Monday
        (date(2026, 3, 30), 6),  # the day after clocks go forward (29 Mar)
        (date(2026, 6, 15), 6),  # summer
        (date(2026, 10, 19), 6),  # last summer Monday
        (date(2026, 10, 26), 7),  # the day after clocks go back (25 Oct)
        (date(2026, 11, 23), 7),  # winter
    ],
)
def test_monday_0700_london_in_utc(monday: date, fire_utc_hour: int) -> None:
    trigger = cron_trigger("0 7 * * mon", LONDON)
    expected = datetime(monday.year, monday.month, monday.day, fire_utc_hour, tzinfo=UTC)
    assert next_fire_time(trigger, expected - timedelta(days=3)) == expected
    with freeze_time(expected + timedelta(minutes=1)):
        assert latest_fire_time(trigger, datetime.now(UTC)) == expected
    with freeze_time(expected - timedelta(seconds=1)):
        assert latest_fire_time(trigger, datetime.now(UTC)) == expected - timedelta(days=7, hours=_shift(monday))


def _shift(monday: date) -> int:
    """UTC hour difference between this Monday's fire time and the previous Monday's."""
    before = datetime(monday.year, monday.month, monday.day, 7) - timedelta(days=7)
    offsets = {d: 1 if date(2026, 3, 29) <= d < date(2026, 10, 25) else 0 for d in (monday, before.date())}
    return offsets[before.date()] - offsets[monday]


def test_daily_time_across_spring_forward() -> None:
    trigger = cron_trigger("0 6 * * *", LONDON)
    # 29 Mar 2026: 06:00 BST is 05:00 UTC; the day before, 06:00 GMT is 06:00 UTC.
    assert latest_fire_time(trigger, utc(2026, 3, 29, 4, 59)) == utc(2026, 3, 28, 6)
    assert latest_fire_time(trigger, utc(2026, 3, 29, 5, 0)) == utc(2026, 3, 29, 5)
    assert next_fire_time(trigger, utc(2026, 3, 29, 5)) == utc(2026, 3, 30, 5)


def test_daily_time_across_fall_back() -> None:
    trigger = cron_trigger("0 6 * * *", LONDON)
    assert latest_fire_time(trigger, utc(2026, 10, 25, 5, 59)) == utc(2026, 10, 24, 5)
    assert latest_fire_time(trigger, utc(2026, 10, 25, 6, 0)) == utc(2026, 10, 25, 6)


def test_latest_fire_time_finds_rare_schedules() -> None:
    assert latest_fire_time(cron_trigger("0 8 1 * *", LONDON), utc(2026, 11, 26, 9)) == utc(2026, 11, 1, 8)
    assert latest_fire_time(cron_trigger("0 0 29 2 *", "UTC"), utc(2026, 11, 26)) == utc(2024, 2, 29)
    assert latest_fire_time(cron_trigger("*/5 * * * *", LONDON), utc(2026, 11, 26, 9, 7, 30)) == utc(2026, 11, 26, 9, 5)


def test_scheduled_date_is_the_london_date(make_config: Any) -> None:
    cfg = make_config()
    # 00:30 London on 1 July is 23:30 UTC on 30 June.
    assert scheduled_date(utc(2026, 6, 30, 23, 30), cfg) == date(2026, 7, 1)


def test_enabled_jobs_skip_off_and_import_without_drop_dir(make_config: Any, tmp_path: Any) -> None:
    cfg = make_config(schedule={"escalation": "off"})
    jobs = enabled_jobs(cfg)
    assert "escalation" not in jobs and "import" not in jobs and "deliver" in jobs
    assert "import" in enabled_jobs(make_config(**{"import": {"drop_dir": str(tmp_path)}}))


# --------------------------------------------------------------------------- catch-up and claims


class FakeJobs:
    """A registry whose jobs record (job, scheduled_for) and return counts."""

    def __init__(self, fail: set[str] | None = None, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, datetime]] = []
        self.lock = threading.Lock()
        self.fail = fail or set()
        self.delay = delay

    def registry(self) -> dict[str, Any]:
        def make(name: str) -> Any:
            def job(engine: Engine, config: Any, scheduled_for: datetime) -> dict[str, Any]:
                with self.lock:
                    self.calls.append((name, scheduled_for))
                if self.delay:
                    threading.Event().wait(self.delay)
                if name in self.fail:
                    raise ValueError("Surname Smith in a message")  # must not reach job_runs
                return {"as_of": scheduled_date(scheduled_for, config).isoformat(), "n": 1}

            return job

        return {name: make(name) for name in config_module.JOB_NAMES}


def weekly_only(make_config: Any, db_url: str, **extra: Any) -> Any:
    schedule = dict.fromkeys(config_module.JOB_NAMES, "off")
    schedule["officer_digest"] = "0 7 * * mon"
    return make_config(db_url, schedule=schedule, **extra)


def runs(engine: Engine, job: str = "officer_digest") -> list[JobRun]:
    with reading(engine) as s:
        return list(s.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.scheduled_for)))


def seed_run(engine: Engine, job: str, scheduled_for: datetime, outcome: str = "ok", worker: str = "old:1:aaa") -> None:
    with transaction(engine) as s:
        s.add(
            JobRun(
                job=job,
                scheduled_for=scheduled_for,
                started_at=scheduled_for,
                finished_at=None if outcome == "running" else scheduled_for + timedelta(seconds=3),
                outcome=outcome,
                counts={},
                worker=worker,
            )
        )


def test_missed_monday_runs_once_on_start(engine: Engine, db_url: str, make_config: Any) -> None:
    cfg = weekly_only(make_config, db_url)
    seed_run(engine, "officer_digest", utc(2026, 11, 16, 7))
    fake = FakeJobs()
    with freeze_time("2026-11-24 10:00:00"):  # Tuesday: Monday 23 Nov 07:00 was missed
        results = Runner(engine, cfg, registry=fake.registry()).run_due()
        again = Runner(engine, cfg, registry=fake.registry()).run_due()
    assert [(r.job, r.scheduled_for, r.outcome) for r in results] == [("officer_digest", utc(2026, 11, 23, 7), "ok")]
    assert results[0].counts == {"as_of": "2026-11-23", "n": 1}
    assert again == []
    assert fake.calls == [("officer_digest", utc(2026, 11, 23, 7))]
    rows = runs(engine)
    assert [r.scheduled_for for r in rows] == [utc(2026, 11, 16, 7), utc(2026, 11, 23, 7)]
    assert rows[-1].outcome == "ok" and rows[-1].finished_at is not None and rows[-1].counts["n"] == 1


def test_three_missed_weeks_collapse_into_one_run_for_the_latest(engine: Engine, db_url: str, make_config: Any) -> None:
    cfg = weekly_only(make_config, db_url)
    seed_run(engine, "officer_digest", utc(2026, 11, 2, 7))
    fake = FakeJobs()
    with freeze_time("2026-11-26 12:00:00"):  # 9, 16 and 23 Nov missed
        Runner(engine, cfg, registry=fake.registry()).run_due()
    assert fake.calls == [("officer_digest", utc(2026, 11, 23, 7))]
    assert len(runs(engine)) == 2


def test_no_catch_up_of_an_older_time_once_the_next_has_come(engine: Engine, db_url: str, make_config: Any) -> None:
    cfg = weekly_only(make_config, db_url)
    seed_run(engine, "officer_digest", utc(2026, 11, 16, 7))
    fake = FakeJobs()
    with freeze_time("2026-11-30 07:00:30"):  # 23 Nov was missed, and 30 Nov has now come
        Runner(engine, cfg, registry=fake.registry()).run_due()
    assert fake.calls == [("officer_digest", utc(2026, 11, 30, 7))]
    assert utc(2026, 11, 23, 7) not in [r.scheduled_for for r in runs(engine)]


def test_summer_monday_runs_at_0600_utc_and_passes_the_london_date(
    engine: Engine, db_url: str, make_config: Any
) -> None:
    cfg = weekly_only(make_config, db_url)
    fake = FakeJobs()
    with freeze_time("2026-03-30 05:59:59"):  # Monday after the clocks went forward: not yet
        Runner(engine, cfg, registry=fake.registry()).run_due()
    assert fake.calls == [("officer_digest", utc(2026, 3, 23, 7))]  # the winter one before it
    with freeze_time("2026-03-30 06:00:01"):
        results = Runner(engine, cfg, registry=fake.registry()).run_due()
    assert [r.scheduled_for for r in results] == [utc(2026, 3, 30, 6)]
    assert results[0].counts["as_of"] == "2026-03-30"


def test_failed_job_is_recorded_without_its_message(engine: Engine, db_url: str, make_config: Any) -> None:
    cfg = weekly_only(make_config, db_url)
    fake = FakeJobs(fail={"officer_digest"})
    with freeze_time("2026-11-23 07:00:05"):
        results = Runner(engine, cfg, registry=fake.registry()).run_due()
    assert results[0].outcome == "failed"
    row = runs(engine)[0]
    assert row.outcome == "failed" and row.finished_at is not None
    assert row.error is not None and "ValueError" in row.error and "Smith" not in row.error


def test_every_job_runs_in_order_with_its_own_row(engine: Engine, db_url: str, make_config: Any, tmp_path: Any) -> None:
    cfg = make_config(db_url, **{"import": {"drop_dir": str(tmp_path)}})
    fake = FakeJobs()
    with freeze_time("2026-12-01 09:00:00"):
        Runner(engine, cfg, registry=fake.registry()).run_due()
    assert [c[0] for c in fake.calls] == [
        "import",
        "snapshot",
        "officer_digest",
        "team_digest",
        "force_report",
        "escalation",
        "deliver",
    ]
    assert dict(fake.calls)["force_report"] == utc(2026, 12, 1, 8)
    with reading(engine) as s:
        assert s.scalar(select(func.count()).select_from(JobRun)) == 7


@pytest.mark.parametrize("n", [2, 4])
def test_schedulers_ticking_at_the_same_instant_run_each_time_once(db_url: str, make_config: Any, n: int) -> None:
    """n schedulers, each with its own engine (connection pool), on one database."""
    cfg = make_config(db_url)
    fake = FakeJobs(delay=0.05)
    engines = [make_engine(db_url) for _ in range(n)]
    barrier = threading.Barrier(n)
    results: list[list[Any]] = [[] for _ in range(n)]
    errors: list[BaseException] = []

    def tick(i: int) -> None:
        try:
            runner = Runner(engines[i], cfg, registry=fake.registry())
            barrier.wait()
            results[i] = runner.run_due(utc(2026, 11, 23, 7, 30, 10))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()
    assert not errors
    jobs = [c[0] for c in fake.calls]
    assert sorted(jobs) == sorted(set(jobs)), "a scheduled time ran twice"
    assert set(jobs) == set(enabled_jobs(cfg))
    assert sum(len(r) for r in results) == len(jobs)
    check = make_engine(db_url)
    with reading(check) as s:
        rows = s.execute(select(JobRun.job, JobRun.outcome)).all()
        beats = s.scalar(select(func.count()).select_from(Heartbeat))
    check.dispose()
    assert sorted(rows) == sorted((job, "ok") for job in jobs)
    assert beats == n


def test_stale_worker_run_is_abandoned_and_rerun(engine: Engine, db_url: str, make_config: Any) -> None:
    cfg = weekly_only(make_config, db_url)
    fire = utc(2026, 11, 23, 7)
    with transaction(engine) as s:
        s.add(
            Heartbeat(
                worker="dead:1:abc",
                host="dead",
                pid=1,
                started_at=fire,
                beat_at=fire + timedelta(seconds=5),
                version="0",
            )
        )
    seed_run(engine, "officer_digest", fire, outcome="running", worker="dead:1:abc")
    fake = FakeJobs()
    # 30 s after its last beat the worker is not yet stale (stale_after_seconds = 45): hands off.
    with freeze_time(fire + timedelta(seconds=35)):
        assert Runner(engine, cfg, registry=fake.registry()).run_due() == []
    assert fake.calls == []
    with freeze_time(fire + timedelta(seconds=70)):
        results = Runner(engine, cfg, registry=fake.registry()).run_due()
    assert [r.outcome for r in results] == ["ok"]
    assert fake.calls == [("officer_digest", fire)]
    (row,) = runs(engine)
    assert row.outcome == "ok" and row.worker != "dead:1:abc"
    assert row.counts["abandoned_attempts"] == 1


def test_running_row_of_a_stopped_worker_is_taken_over(engine: Engine, db_url: str, make_config: Any) -> None:
    cfg = weekly_only(make_config, db_url)
    fire = utc(2026, 11, 23, 7)
    with transaction(engine) as s:
        s.add(
            Heartbeat(
                worker="gone:2:def",
                host="gone",
                pid=2,
                started_at=fire,
                beat_at=fire + timedelta(seconds=10),
                stopped_at=fire + timedelta(seconds=10),
                version="0",
            )
        )
    seed_run(engine, "officer_digest", fire, outcome="running", worker="gone:2:def")
    fake = FakeJobs()
    with freeze_time(fire + timedelta(seconds=12)):
        results = Runner(engine, cfg, registry=fake.registry()).run_due()
    assert [r.outcome for r in results] == ["ok"]


def test_abandoned_time_is_not_rerun_once_the_next_has_come(engine: Engine, db_url: str, make_config: Any) -> None:
    cfg = weekly_only(make_config, db_url)
    seed_run(engine, "officer_digest", utc(2026, 11, 16, 7), outcome="abandoned")
    fake = FakeJobs()
    with freeze_time("2026-11-23 08:00:00"):
        Runner(engine, cfg, registry=fake.registry()).run_due()
    assert fake.calls == [("officer_digest", utc(2026, 11, 23, 7))]
    assert runs(engine)[0].outcome == "abandoned"


def test_times_in_the_repeated_or_skipped_hour() -> None:
    """Documented edge: 01:30 London happens twice on 25 Oct and not at all on 29 Mar.

    Both instants of the repeated hour fire (each job is idempotent for its period, so
    nothing is sent twice); a time in the skipped hour runs an hour later (02:30 BST).
    """
    trigger = cron_trigger("30 1 * * *", LONDON)
    assert next_fire_time(trigger, utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 0, 30)
    assert next_fire_time(trigger, utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 1, 30)
    assert next_fire_time(trigger, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1, 30)
