"""The digests' backtest in a process of its own (monitor.digests.backtest_run), on SQLite and PostgreSQL.

Real child processes throughout: the answer a child gives equals the backtest worked out in
the run's own process; a child killed with SIGKILL, a child that reads a register changed
since the run began (an import finished in between), a child that cannot read the
database: each gives no answer, and the digests carry the same backtest as without a child.
No child at all on one CPU, for a small register or an in-memory database.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

import monitor.digests.backtest_run as backtest_run
from monitor.core.config import Config
from monitor.digests.build import build_plans
from monitor.digests.contexts import ForceDigest
from monitor.register.db import make_engine, reading, transaction
from monitor.register.importer import import_directory
from monitor.register.models import ImportRun
from monitor.synthetic.generator import generate

AS_OF = date(2026, 11, 23)


@pytest.fixture
def config(engine: Engine, make_config: Callable[..., Config]) -> Config:
    return make_config(engine.url.render_as_string(hide_password=False))


@pytest.fixture
def register(engine: Engine, config: Config, tmp_path: Path) -> None:
    generate(300, seed=7, as_of=AS_OF, out_dir=tmp_path / "extract")
    import_directory(engine, config, tmp_path / "extract")


@pytest.fixture
def always(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child whatever the register's size and the machine's CPUs."""
    monkeypatch.setattr(backtest_run, "MIN_PEOPLE", 0)
    monkeypatch.setattr(backtest_run.os, "sched_getaffinity", lambda _pid: {0, 1})


def in_process(engine: Engine, config: Config) -> backtest_run.Backtest:
    with reading(engine) as s:
        return backtest_run.work_out(s, config.policy, config.plan, AS_OF)


@pytest.mark.usefixtures("register", "always")
def test_the_child_s_backtest_is_the_one_worked_out_here(engine: Engine, config: Config) -> None:
    expected = in_process(engine, config)
    assert len(expected.points) == config.plan.backtest_weeks + 1
    with reading(engine) as s:
        pending = backtest_run.start(s, config.policy, config.plan, AS_OF)
        assert pending is not None
        assert pending.result(s) == expected
    assert pending.process.returncode == 0


@pytest.mark.usefixtures("register", "always")
def test_a_child_killed_gives_nothing_and_the_digests_are_the_same(
    engine: Engine, config: Config, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with reading(engine) as s:
        pending = backtest_run.start(s, config.policy, config.plan, AS_OF)
        assert pending is not None
        os.kill(pending.process.pid, signal.SIGKILL)
        with caplog.at_level(logging.WARNING, "monitor.digests.backtest"):
            assert pending.result(s) is None
    assert "worked out in this process instead" in caplog.text

    def force_forecast() -> object:
        with reading(engine) as s:
            plans = build_plans(s, config, ["force"], AS_OF)
        forecasts = [p.context.forecast for p in plans.plans if isinstance(p.context, ForceDigest)]  # one a lead
        forecast = forecasts[0]
        assert forecast is not None and forecast.backtest
        assert all(f == forecast for f in forecasts)
        return forecast

    with_child = force_forecast()
    started = backtest_run.start

    def killed(*args: Any) -> backtest_run.Pending | None:
        found = started(*args)
        assert found is not None
        os.kill(found.process.pid, signal.SIGKILL)  # as soon as it starts
        return found

    monkeypatch.setattr("monitor.digests.build.start_backtest", killed)
    assert force_forecast() == with_child
    monkeypatch.setattr("monitor.digests.build.start_backtest", lambda *_: None)
    assert force_forecast() == with_child


def an_import_finishes(engine: Engine) -> None:
    with transaction(engine) as w:
        now = datetime(2026, 11, 23, 6, tzinfo=UTC)
        w.execute(insert(ImportRun).values(source="later", started_at=now, finished_at=now, outcome="ok", counts={}))


@pytest.mark.usefixtures("register", "always")
def test_an_import_during_the_run_is_never_mixed_in(engine: Engine, config: Config) -> None:
    sqlite = engine.dialect.name == "sqlite"
    expected = in_process(engine, config)  # the import below adds no person and no visit
    # Before the child starts: SQLite's run keeps its first snapshot, so the child (which
    # sees the import) read another register; PostgreSQL's run sees the import too.
    with reading(engine) as s:
        backtest_run.register_stamp(s)  # the run's read transaction has begun
        an_import_finishes(engine)
        pending = backtest_run.start(s, config.policy, config.plan, AS_OF)
        assert pending is not None
        assert pending.result(s) == (None if sqlite else expected)
    # After the child read, before the run takes its answer: now PostgreSQL's run would
    # read the later register, and SQLite's still reads the one the child read.
    with reading(engine) as s:
        pending = backtest_run.start(s, config.policy, config.plan, AS_OF)
        assert pending is not None
        pending.process.wait()
        an_import_finishes(engine)
        assert pending.result(s) == (expected if sqlite else None)


def test_a_child_that_cannot_read_the_database_gives_nothing(
    engine: Engine, config: Config, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path}/no such folder/register.db"
    else:
        url = engine.url.set(database="no_such_database", password="s3cret-pw").render_as_string(hide_password=False)
    pending = backtest_run.spawn(url, config.policy, config.plan, AS_OF, ())
    assert pending is not None
    with reading(engine) as s, caplog.at_level(logging.INFO, "monitor.digests.backtest"):
        assert pending.result(s) is None
    assert "worked out in this process instead" in caplog.text
    assert "no such" not in caplog.text and "s3cret" not in caplog.text  # the kind of error only


def test_no_child_on_one_cpu_for_a_small_register_or_in_memory(
    engine: Engine, config: Config, monkeypatch: pytest.MonkeyPatch, register: None
) -> None:
    with reading(engine) as s:
        assert backtest_run.start(s, config.policy, config.plan, AS_OF) is None  # 300 people
        monkeypatch.setattr(backtest_run, "MIN_PEOPLE", 0)
        monkeypatch.setattr(backtest_run.os, "sched_getaffinity", lambda _pid: {0})
        assert backtest_run.start(s, config.policy, config.plan, AS_OF) is None  # one CPU
    memory = make_engine("sqlite://")
    monkeypatch.setattr(backtest_run.os, "sched_getaffinity", lambda _pid: {0, 1})
    with reading(memory) as s:
        assert backtest_run.start(s, config.policy, config.plan, AS_OF) is None
