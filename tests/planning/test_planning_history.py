"""The planner's facts against the scan, on SQLite and PostgreSQL.

* The backtest's one-pass history gives the scan's own overdue count on every day, on a
  synthetic register and on hostile ones (registered, returned or ended mid-way, visits
  dated after the as-of date, reactive, away, missing, deregistered).
* Facts from that history forecast exactly as facts read the ordinary way.
* A plan lists exactly the scan's overdue visits (same due dates and days), and the due
  soon ones falling due by Sunday.
* The sqlite3 source answers every question as the SQLAlchemy one does.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import FIXED_UPDATED_AT, add_offender, add_officer, add_visit
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from monitor.core.config import Config, Policy
from monitor.planning.forecast import forecast
from monitor.planning.forecast_results import WhatIf
from monitor.planning.history import read_history
from monitor.planning.inputs import read_facts
from monitor.planning.plan import make_plan
from monitor.planning.source_engine import EngineSource
from monitor.planning.weeks import week_end
from monitor.register.db import reading, transaction
from monitor.register.importer import import_directory
from monitor.register.models import OfficerAbsence
from monitor.rules.scan import COUNTABLE, scan
from monitor.synthetic.generator import generate

AS_OF = date(2026, 11, 23)
STATUSES = ("community",) * 6 + ("custody", "hospital", "abroad", "missing", "deceased", "deregistered")


def overdue_counts_by_scan(session: Session, policy: Policy, days: list[date], team: str | None) -> list[int]:
    """The plain way: one scan a day."""
    return [scan(session, policy, d, team=team, count_only=COUNTABLE).summary.overdue_visits for d in days]


@pytest.fixture
def config(engine: Engine, make_config: Callable[..., Config]) -> Config:
    return make_config(engine.url.render_as_string(hide_password=False))


def _synthetic(engine: Engine, config: Config, tmp_path: Path) -> None:
    generate(400, seed=11, as_of=AS_OF, out_dir=tmp_path / "extract")
    import_directory(engine, config, tmp_path / "extract")


def _hostile(engine: Engine, seed: int) -> None:
    """People whose history tests every edge of the backtest's one pass."""
    rng = random.Random(seed)
    visit = 0
    with transaction(engine) as s:
        for n in range(4):
            add_officer(s, f"OM-{n}", team=f"T{n % 2}")
        for n in range(80):
            registered = AS_OF - timedelta(days=rng.randint(-30, 1500))
            status = rng.choice(STATUSES)
            since = None
            if rng.random() < 0.4:
                since = min(AS_OF + timedelta(days=5), registered + timedelta(days=rng.randint(0, 1500)))
                since = max(since, registered)
            ends = None
            if rng.random() < 0.2:
                ends = max(registered, AS_OF + timedelta(days=rng.randint(-150, 60)))
            ref = f"RSO-{n:06d}"
            add_offender(
                s,
                ref,
                risk_level=rng.choice(("very_high", "high", "medium", "low")),
                status=status,
                team=f"T{n % 2}",
                offender_manager=f"OM-{rng.randint(0, 3)}",
                registered_on=registered,
                status_since=since,
                management="reactive" if rng.random() < 0.1 else "active",
                registration_ends=ends,
            )
            for _ in range(rng.randint(0, 8)):
                visit += 1
                day = registered + timedelta(days=rng.randint(-10, max(1, (AS_OF - registered).days + 20)))
                add_visit(
                    s,
                    f"VIS-{visit:06d}",
                    ref,
                    day,
                    outcome=rng.choice(("completed", "completed", "no_access", "cancelled")),
                    visit_type="home" if rng.random() < 0.85 else "other",
                    officer=f"OM-{rng.randint(0, 3)}",
                )


@pytest.mark.parametrize("register", ["synthetic", "hostile-1", "hostile-2"])
def test_history_counts_are_the_scan_s_and_its_facts_forecast_alike(
    engine: Engine, config: Config, tmp_path: Path, register: str
) -> None:
    if register == "synthetic":
        _synthetic(engine, config, tmp_path)
    else:
        _hostile(engine, int(register[-1]))
    first = AS_OF - timedelta(days=7 * 10)
    days = [first + timedelta(days=7 * k) for k in range(11)]
    with reading(engine) as s:
        for team in (None, "T1" if register != "synthetic" else "TEAM-01"):
            history = read_history(EngineSource(s), config.policy, first, AS_OF, team)
            assert [d for d, _ in history.actual] == days
            assert [n for _, n in history.actual] == overdue_counts_by_scan(s, config.policy, days, team)
            for facts, day in ((history.then, first), (history.now, AS_OF)):
                plain = read_facts(EngineSource(s), config.policy, day, team=team)
                what = WhatIf(clear_by=day + timedelta(days=70))
                assert forecast(facts, 3, None, 12, what).to_json() == forecast(plain, 3, None, 12, what).to_json()


def test_a_plan_lists_exactly_the_scan_s_overdue_and_due_this_week(
    engine: Engine, config: Config, tmp_path: Path
) -> None:
    _synthetic(engine, config, tmp_path)
    as_of = AS_OF + timedelta(days=3)  # a Thursday: part of the week is past
    with reading(engine) as s:
        result = scan(s, config.policy, as_of)
        plan = make_plan(read_facts(EngineSource(s), config.policy, as_of), 3)
    listed = {(i.ref, i.due_date, i.days_overdue) for o in plan.officers for i in (*o.planned, *o.did_not_fit)}
    overdue = {(i.ref, i.due_date, i.days_overdue) for i in result.overdue_visits}
    this_week = {(i.ref, i.due_date, i.days_overdue) for i in result.due_soon if i.due_date <= week_end(as_of)}
    assert overdue and this_week
    assert listed == overdue | this_week


@pytest.mark.parametrize("names", [False, True])
def test_facts_from_the_scan_s_kept_rows_are_the_facts_read_again(
    engine: Engine, make_config: Callable[..., Config], tmp_path: Path, names: bool
) -> None:
    """The digests hand the planner the rows their scan read (``scan(keep=...)``): with the
    practice columns and names in them, the facts are those the planner reads itself."""
    config = make_config(engine.url.render_as_string(hide_password=False), policy={"include_names": names})
    generate(400, seed=11, as_of=AS_OF, out_dir=tmp_path / "extract", practice=True)
    import_directory(engine, config, tmp_path / "extract")
    with reading(engine) as s:
        kept: list[Any] = []
        result = scan(s, config.policy, AS_OF, keep=kept)
        assert len(kept) == result.summary.active_caseload and len(kept[0]) > 18
        for_forecast = read_facts(EngineSource(s), config.policy, AS_OF, rows=kept)
        assert for_forecast == read_facts(EngineSource(s), config.policy, AS_OF)
        sunday = week_end(AS_OF)
        for_plan = read_facts(EngineSource(s), config.policy, AS_OF, for_forecast=False, due_by=sunday, rows=kept)
        assert for_plan == read_facts(EngineSource(s), config.policy, AS_OF, for_forecast=False, due_by=sunday)
    assert any(c.interval_source == "plan" for c in for_forecast.cases)


def test_the_sqlite_source_answers_as_the_engine(
    sqlite_engine: Engine, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """The sqlite3 statements (the force on a SQLite file) against SQLAlchemy's; SQLite only,
    as that source is."""
    import sqlite3

    from monitor.planning.source_sqlite import SqliteSource
    from monitor.register.sqlite_file import open_current

    config = make_config(sqlite_engine.url.render_as_string(hide_password=False))
    _synthetic(sqlite_engine, config, tmp_path)
    with transaction(sqlite_engine) as s:
        _hostile_absences(s)
    conn = open_current(config.database_url)
    assert isinstance(conn, sqlite3.Connection)
    try:
        fast = SqliteSource(conn)
        with reading(sqlite_engine) as s:
            slow = EngineSource(s)
            a, b = AS_OF - timedelta(days=200), AS_OF
            assert fast.officers(None, None, set()) == slow.officers(None, None, set())
            assert sorted(fast.attempts(a, b, None, None), key=repr) == sorted(
                slow.attempts(a, b, None, None), key=repr
            )
            assert fast.recorded() == slow.recorded()
            assert sorted(fast.person_extras(None, None)) == sorted(slow.person_extras(None, None))
            assert fast.absences(a, b) == slow.absences(a, b)
            assert fast.growth(date(2023, 11, 23), b) == slow.growth(date(2023, 11, 23), b)
            assert fast.caseload(b) == slow.caseload(b)
            assert sorted(tuple(r) for r in fast.people(a, b, None)) == sorted(
                tuple(r) for r in slow.people(a, b, None)
            )
            assert fast.completed_since(a, None) == slow.completed_since(a, None)
            assert fast.known_scope() == slow.known_scope()
            assert [tuple(r) for r in fast.scan_rows(b, None, None)] == [
                tuple(r) for r in slow.scan_rows(b, None, None)
            ]
            assert read_facts(fast, config.policy, b) == read_facts(slow, config.policy, b)
            with pytest.raises(ValueError, match="force only"):
                fast.attempts(a, b, {"TEAM-01"}, None)
    finally:
        conn.close()


def _hostile_absences(s: Session) -> None:
    for n, (start, days, fraction) in enumerate([(-20, 4, 1.0), (3, 10, 0.5), (40, 2, 1.0)]):
        first = AS_OF + timedelta(days=start)
        s.add(
            OfficerAbsence(
                absence_key=f"OM-000{n + 1}|{first.isoformat()}",
                officer_id=f"OM-000{n + 1}",
                starts_on=first,
                ends_on=first + timedelta(days=days),
                fraction=fraction,
                updated_at=FIXED_UPDATED_AT,
            )
        )
