"""Backlog snapshots: one row per team x risk from one scan, idempotent per day, and series."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from builders import add_offender, add_visit
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor.core.config import Config
from monitor.register.db import reading, transaction
from monitor.register.models import BacklogSnapshot, Offender
from monitor.reports.snapshot import backlog_series, take_snapshot
from monitor.rules.scan import scan

AS_OF = date(2026, 11, 26)
DAYS = {"very_high": 30, "high": 90, "medium": 180, "low": 360}


def config_for(make_config: Callable[..., Config], db_url: str) -> Config:
    return make_config(db_url, policy={"intervals": {r: f"P{d}D" for r, d in DAYS.items()}})


def person(s: Session, ref: str, risk: str, overdue: int | None, *, team: str = "T1", **kw: Any) -> None:
    kw.setdefault("risk_assessed_on", AS_OF - timedelta(days=30))
    kw.setdefault("last_notified_on", AS_OF - timedelta(days=30))
    add_offender(s, ref, risk_level=risk, team=team, **kw)
    last = AS_OF - timedelta(days=1) if overdue is None else AS_OF - timedelta(days=overdue + DAYS[risk])
    add_visit(s, f"V-{ref}", ref, last)


def rows(engine: Engine, day: date = AS_OF) -> dict[tuple[str, str], BacklogSnapshot]:
    with reading(engine) as s:
        found = s.scalars(select(BacklogSnapshot).where(BacklogSnapshot.taken_on == day))
        return {(r.team, r.risk_level): r for r in found}


def test_take_snapshot_one_row_per_team_and_risk(
    engine: Engine, make_config: Callable[..., Config], db_url: str
) -> None:
    config = config_for(make_config, db_url)
    with transaction(engine) as s:
        person(s, "A1", "high", 5)
        person(s, "A2", "high", 40)
        person(s, "A3", "low", 100)
        person(s, "A4", "medium", -3)  # due soon
        person(s, "A5", "medium", None, status="missing", status_since=AS_OF - timedelta(days=10))
        person(s, "B1", "very_high", 2, team="T2")
        person(s, "C1", "low", None, team="T3", status="deceased")  # out of scope: no team T3 rows
    assert take_snapshot(engine, config, AS_OF) == 8
    got = rows(engine)
    assert sorted(got) == [(t, r) for t in ("T1", "T2") for r in sorted(DAYS)]
    high = got[("T1", "high")]
    assert (high.caseload, high.overdue_visits, high.age_1_7, high.age_29_90, high.most_overdue_days) == (
        2,
        2,
        1,
        1,
        40,
    )
    low = got[("T1", "low")]
    assert (low.overdue_visits, low.age_91_plus, low.most_overdue_days) == (1, 1, 100)
    medium = got[("T1", "medium")]
    assert (medium.caseload, medium.overdue_visits, medium.due_soon, medium.whereabouts_unknown) == (2, 0, 1, 1)
    assert medium.most_overdue_days is None
    assert got[("T1", "very_high")].caseload == 0
    assert (got[("T2", "very_high")].overdue_visits, got[("T2", "very_high")].age_1_7) == (1, 1)


def test_take_snapshot_is_idempotent_per_day(engine: Engine, make_config: Callable[..., Config], db_url: str) -> None:
    config = config_for(make_config, db_url)
    with transaction(engine) as s:
        person(s, "A1", "high", 5)
        person(s, "B1", "low", 3, team="T2")
    assert take_snapshot(engine, config, AS_OF) == 8
    assert take_snapshot(engine, config, AS_OF) == 8
    assert len(rows(engine)) == 8

    # A later extract the same day: A1 visited, team T2 gone (its person moved to T1).
    with transaction(engine) as s:
        add_visit(s, "V-A1-new", "A1", AS_OF)
        s.get_one(Offender, "B1").team = "T1"
    assert take_snapshot(engine, config, AS_OF) == 4
    got = rows(engine)
    assert sorted(got) == [("T1", r) for r in sorted(DAYS)]
    assert got[("T1", "high")].overdue_visits == 0
    assert got[("T1", "low")].overdue_visits == 1

    # Another day adds rows; the first day's stay.
    assert take_snapshot(engine, config, AS_OF + timedelta(days=1)) == 4
    with reading(engine) as s:
        assert len(list(s.scalars(select(BacklogSnapshot)))) == 8


def test_backlog_series(engine: Engine, make_config: Callable[..., Config], db_url: str) -> None:
    config = config_for(make_config, db_url)
    with transaction(engine) as s:
        person(s, "A1", "high", 5)
        person(s, "A2", "low", 20)
        person(s, "B1", "low", 3, team="T2")
    # Snapshots on three days, with a gap: days without one are absent, never zero.
    for day in (AS_OF - timedelta(days=10), AS_OF - timedelta(days=7), AS_OF):
        take_snapshot(engine, config, day)
    with reading(engine) as s:
        series = backlog_series(s, end=AS_OF, days=30)
        assert [d for d, _ in series] == [AS_OF - timedelta(days=10), AS_OF - timedelta(days=7), AS_OF]
        # Earlier days only A2 (20 days overdue now) was already overdue.
        assert series == [(AS_OF - timedelta(days=10), 1), (AS_OF - timedelta(days=7), 1), (AS_OF, 3)]
        t2 = backlog_series(s, end=AS_OF, days=30, team="T2")
        assert t2[-1] == (AS_OF, 1) and all(n == 0 for _, n in t2[:-1])
        # The window is the `days` days ending on `end`, inclusive.
        assert [d for d, _ in backlog_series(s, end=AS_OF, days=8)] == [AS_OF - timedelta(days=7), AS_OF]
        assert [d for d, _ in backlog_series(s, end=AS_OF - timedelta(days=1), days=1)] == []
        assert backlog_series(s, end=AS_OF, days=30, team="NOPE") == []


def test_caseload_cross_counts_agree_with_the_summary(
    engine: Engine, make_config: Callable[..., Config], db_url: str
) -> None:
    config = config_for(make_config, db_url)
    with transaction(engine) as s:
        person(s, "A1", "high", 5)
        person(s, "A2", "low", None, status="custody")
        person(s, "A3", "low", None, status="deregistered")
        person(s, "A4", "low", None, registered_on=AS_OF + timedelta(days=1))
        person(s, "A5", "medium", None, registration_ends=AS_OF - timedelta(days=1))
        person(s, "A6", "medium", None, registration_ends=AS_OF)
    with reading(engine) as s:
        obligations = scan(s, config.policy, AS_OF)
        counts, summary = obligations.caseload, obligations.summary
    assert sum(counts.values()) == summary.active_caseload == 3
    assert counts == {("T1", "high", "OM1"): 1, ("T1", "low", "OM1"): 1, ("T1", "medium", "OM1"): 1}


def test_concurrent_snapshots_of_the_same_day_do_not_fail(
    engine: Engine, make_config: Callable[..., Config], db_url: str
) -> None:
    import threading

    config = config_for(make_config, db_url)
    with transaction(engine) as s:
        for n in range(20):
            person(s, f"A{n}", "high", n + 1, team=f"T{n % 3}")
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def worker() -> None:
        try:
            barrier.wait()
            take_snapshot(engine, config, AS_OF)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = rows(engine)
    assert len(got) == 12
    assert sum(r.overdue_visits for r in got.values()) == 20
