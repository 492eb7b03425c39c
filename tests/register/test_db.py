"""Database layer: SQLite settings, aware-UTC timestamps on both backends, migrations == models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from monitor.register.db import SchemaError, check_schema, make_engine, reading, transaction, upgrade
from monitor.register.models import Base, Heartbeat, Offender


def test_sqlite_pragmas(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent_and_check_schema(engine: Engine) -> None:
    upgrade(engine)
    check_schema(engine)
    assert "visits" in inspect(engine).get_table_names()


def test_check_schema_on_empty_database(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'sub' / 'empty.db'}")
    with pytest.raises(SchemaError, match="db upgrade"):
        check_schema(eng)
    assert (tmp_path / "sub").is_dir()


def test_timestamps_round_trip_as_aware_utc(engine: Engine) -> None:
    bst = timezone(timedelta(hours=1))
    instant = datetime(2026, 7, 1, 0, 30, tzinfo=bst)  # 23:30 UTC on 30 June
    with transaction(engine) as s:
        s.add(Heartbeat(worker="w1", host="h", pid=1, started_at=instant, beat_at=instant, version="t"))
    with reading(engine) as s:
        hb = s.get(Heartbeat, "w1")
        assert hb is not None
        assert hb.beat_at == datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
        assert hb.beat_at.tzinfo is not None and hb.beat_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(sqlite_engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), transaction(sqlite_engine) as s:
        s.add(
            Heartbeat(
                worker="w", host="h", pid=1, started_at=datetime(2026, 1, 1), beat_at=datetime(2026, 1, 1), version="t"
            )
        )


def test_transaction_rolls_back_everything_on_error(engine: Engine) -> None:
    now = datetime.now(UTC)
    with pytest.raises(RuntimeError), transaction(engine) as s:
        s.add(
            Offender(
                ref="RSO-1",
                risk_level="low",
                status="community",
                team="T",
                offender_manager="OM",
                registered_on=date(2020, 1, 1),
                updated_at=now,
            )
        )
        s.flush()
        raise RuntimeError("midway")
    with reading(engine) as s:
        assert s.scalars(select(Offender)).all() == []


def test_sqlite_writers_wait_rather_than_fail(sqlite_url: str) -> None:
    """Two engines on one file: the second writer waits for the first (busy timeout)."""
    import threading

    a, b = make_engine(sqlite_url), make_engine(sqlite_url)
    started, results = threading.Event(), []

    def second() -> None:
        started.wait()
        with transaction(b) as s:
            s.execute(
                text(
                    "INSERT INTO heartbeats (worker, host, pid, started_at, beat_at, version) "
                    "VALUES ('b', 'h', 2, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 't')"
                )
            )
        results.append("b")

    t = threading.Thread(target=second)
    t.start()
    with transaction(a) as s:
        s.execute(
            text(
                "INSERT INTO heartbeats (worker, host, pid, started_at, beat_at, version) "
                "VALUES ('a', 'h', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 't')"
            )
        )
        started.set()
        import time

        time.sleep(0.3)
        results.append("a")
    t.join(10)
    assert results == ["a", "b"]


def test_visit_facts_clustered_on_sqlite_and_kept_across_migrations(engine: Engine) -> None:
    """Migration 0006: on SQLite visit_facts is a WITHOUT ROWID table (one B-tree search per
    person in a scan's join); its rows survive going down to 0003 and up again, both engines."""
    from alembic import command

    from monitor.register.db import alembic_config, current_revision, head_revision
    from monitor.register.models import VisitFacts

    rows = [
        VisitFacts(ref="R-1", last_visit=date(2026, 1, 5), last_visit_any=date(2025, 1, 5), failed_attempts=2),
        VisitFacts(ref="R-2", last_visit=None, last_visit_any=None, failed_attempts=0, horizon=date(2026, 2, 1)),
    ]
    with transaction(engine) as s:
        s.add_all(rows)

    def kept() -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT ref, failed_attempts, horizon FROM visit_facts ORDER BY ref"))
            return [tuple(r) for r in found]

    def clustered() -> bool:
        with engine.connect() as conn:
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'visit_facts'")).scalar_one()
        return "WITHOUT ROWID" in sql

    before = kept()
    assert [r[0] for r in before] == ["R-1", "R-2"]
    if engine.dialect.name == "sqlite":
        assert clustered()
    command.downgrade(alembic_config(engine), "0003_extract_presence")
    assert kept() == before
    if engine.dialect.name == "sqlite":
        assert not clustered()
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert kept() == before
    if engine.dialect.name == "sqlite":
        assert clustered()
