"""Each person's own visit interval and returns from custody, through the CLI, on SQLite and
PostgreSQL, against the report and against an independent oracle (tests/plan_oracle.py).

* On a register with mixed plan intervals (``seed --practice``), ``plan`` lists exactly the
  overdue visits ``report`` lists (same due dates, days and interval), with the practice
  measures on and off; the forecast's first week counts them.
* The plan is the rules' own: each officer's planned and did-not-fit visits, in order, with
  their due dates and where their interval came from, as the oracle works them out.
* The forecast counts people back from custody in the week of their expected release, and
  those whose date has passed apart.
* ``expected_release`` at import: a date; not one is a clear reject; kept on anyone.
* "Today" at the week's edge (Sunday 23:30 and Monday 00:30 London, both clock changes): a
  visit due on the Monday at a plan's interval, and a release on the Sunday.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from builders import add_offender, add_officer, add_visit
from click.testing import CliRunner, Result
from freezegun import freeze_time
from plan_oracle import plan as oracle_plan
from plan_oracle import returning
from sqlalchemy import Engine, select

from monitor.cli.app import cli
from monitor.register.db import reading, transaction
from monitor.register.models import Offender
from monitor.synthetic.generator import generate

AS_OF = date(2026, 11, 23)  # a Monday


def run(db_url: str, *args: str, config: Path | None = None) -> Result:
    env = {"MONITOR_DATABASE_URL": db_url}
    if config is not None:
        env["MONITOR_CONFIG"] = str(config)
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _register(tmp_path: Path, db_url: str, seed: int = 4, people: int = 400) -> Path:
    """A practice register whose officers all state their capacity (so the oracle needs no pace)."""
    folder = tmp_path / "extract"
    generate(people, seed=seed, as_of=AS_OF, out_dir=folder, practice=True)
    rng = random.Random(seed)
    path = folder / "officers.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["visits_per_week"] = str(rng.randint(0, 6))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    imported = run(db_url, "import", str(folder))
    assert imported.exit_code in (0, 3), imported.output
    return folder


def _config(tmp_path: Path, measures: str) -> Path:
    path = tmp_path / f"monitor-{measures}.toml"
    path.write_text(f'[policy]\npractice_measures = "{measures}"\n', encoding="utf-8")
    return path


def _json(result: Result) -> dict:  # type: ignore[type-arg]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("measures", ["auto", "off"])
def test_the_plan_lists_the_report_s_overdue_visits_with_plan_intervals(
    engine: Engine, db_url: str, tmp_path: Path, measures: str
) -> None:
    _register(tmp_path, db_url)
    config = _config(tmp_path, measures)
    for as_of in (AS_OF, AS_OF + timedelta(days=3)):
        day = as_of.isoformat()
        report = _json(run(db_url, "report", "--as-of", day, "--format", "json", config=config))
        plan = _json(run(db_url, "plan", "--as-of", day, "--format", "json", config=config))
        items = [i for o in plan["officers"] for k in ("planned", "did_not_fit") for i in o[k]]
        late = {(i["ref"], i["due_date"], i["days_overdue"]) for i in items if i["days_overdue"] > 0}
        overdue = {(i["ref"], i["due_date"], i["days_overdue"]) for i in report["overdue_visits"]}
        assert late == overdue and overdue
        from_plans = {i["ref"] for i in items if i["interval_source"] == "plan"}
        if measures == "auto":
            # Mixed: some visits due at a plan's interval, and the report says the same.
            assert from_plans
            said = {(i["ref"], i["interval"], i["interval_source"]) for i in report["overdue_visits"]}
            assert {(i["ref"], i["interval"], i["interval_source"]) for i in items if i["days_overdue"] > 0} == said
            assert any("; plan every " in i["reason"] for i in items)
        else:
            assert not from_plans and not any("plan every" in i["reason"] for i in items)
        forecast = _json(run(db_url, "forecast", "--as-of", day, "--backtest", "0", "--format", "json", config=config))
        assert forecast["weeks"][0]["overdue"] == len(overdue)


@pytest.mark.parametrize("measures", ["auto", "off"])
def test_the_plan_is_the_rules_own(engine: Engine, db_url: str, tmp_path: Path, measures: str) -> None:
    folder = _register(tmp_path, db_url, seed=8)
    config = _config(tmp_path, measures)
    for as_of in (AS_OF - timedelta(days=1), AS_OF, AS_OF + timedelta(days=4)):
        expected = oracle_plan(folder, as_of, measures)
        plan = _json(run(db_url, "plan", "--as-of", as_of.isoformat(), "--format", "json", config=config))
        by_id = {o["officer_id"]: o for o in plan["officers"]}
        for officer_id, week in expected.items():
            got = by_id[officer_id]
            assert got["capacity"] == week.capacity, officer_id
            for key, wanted in (("planned", week.planned), ("did_not_fit", week.did_not_fit)):
                assert [
                    (i["ref"], i["due_date"], i["days_overdue"], i["interval"], i["interval_source"]) for i in got[key]
                ] == [(d.ref, d.due.isoformat(), (as_of - d.due).days, d.interval, d.source) for d in wanted], (
                    officer_id,
                    key,
                )
        for officer_id in set(by_id) - set(expected):
            assert not by_id[officer_id]["planned"] and not by_id[officer_id]["did_not_fit"]


def test_the_forecast_counts_people_back_from_custody(engine: Engine, db_url: str, tmp_path: Path) -> None:
    folder = _register(tmp_path, db_url, seed=5, people=1500)
    weeks = 26
    counts, passed = returning(folder, AS_OF, weeks)
    assert sum(counts) > 3  # the register has some to count
    data = _json(run(db_url, "forecast", "--as-of", AS_OF.isoformat(), "--weeks", str(weeks), "--format", "json"))
    assert [w["returning"] for w in data["weeks"]] == counts
    assert data["returning_from_custody"] == sum(counts)
    assert data["releases_passed"] == passed
    assert sum(t["returning_from_custody"] for t in data["teams"]) == sum(counts)
    assert any("expected back from custody" in line for line in data["words"])


def test_expected_release_at_import(engine: Engine, db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    header = "ref,risk_level,status,team,offender_manager,registered_on,expected_release\n"
    (folder / "offenders.csv").write_text(
        header
        + "RSO-000001,high,custody,T1,OM-1,2020-01-01,2027-02-01\n"
        + "RSO-000002,high,community,T1,OM-1,2020-01-01,01/03/2027\n"  # kept on anyone; ignored
        + "RSO-000003,high,custody,T1,OM-1,2020-01-01,\n"
        + "RSO-000004,high,custody,T1,OM-1,2020-01-01,soon\n",
        encoding="utf-8",
    )
    result = run(db_url, "import", str(folder))
    assert result.exit_code == 3, result.output
    assert "offenders.csv:5: expected_release: expected a date" in result.output and "Traceback" not in result.output
    with reading(engine) as s:
        stored = {ref: when for ref, when in s.execute(select(Offender.ref, Offender.expected_release))}
    assert stored == {"RSO-000001": date(2027, 2, 1), "RSO-000002": date(2027, 3, 1), "RSO-000003": None}
    data = _json(run(db_url, "forecast", "--as-of", "2026-12-07", "--backtest", "0", "--format", "json"))
    assert data["returning_from_custody"] == 1
    assert [k for k, w in enumerate(data["weeks"]) if w["returning"]] == [
        (date(2027, 2, 1) - date(2026, 12, 7)).days // 7
    ]


#: (instant, the London date it is, the plan's Monday): Sunday 23:30 and Monday 00:30 London on
#: both 2026 clock changes (29 March, BST from 01:00 UTC; 25 October, GMT from 01:00 UTC).
CLOCK_EDGES = [
    (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), date(2026, 3, 29), date(2026, 3, 23)),  # Sun 23:30 BST
    (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), date(2026, 3, 30), date(2026, 3, 30)),  # Mon 00:30 BST
    (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), date(2026, 10, 25), date(2026, 10, 19)),  # Sun 23:30 GMT
    (datetime(2026, 10, 26, 0, 30, tzinfo=UTC), date(2026, 10, 26), date(2026, 10, 26)),  # Mon 00:30 GMT
]


@pytest.mark.parametrize(("instant", "today", "monday"), CLOCK_EDGES)
def test_a_plan_due_date_and_a_release_at_the_week_s_edge(
    engine: Engine, db_url: str, tmp_path: Path, instant: datetime, today: date, monday: date
) -> None:
    """A visit due on the Monday at a plan's 6 weeks is next week's at Sunday 23:30 and today's
    at Monday 00:30; a release on the Sunday is this week's return, then one whose date has passed."""
    sunday = today if today.weekday() == 6 else today - timedelta(days=1)
    due = sunday + timedelta(days=1)
    with transaction(engine) as s:
        add_officer(s, "OM-1", team="T1", visits_per_week=5)
        add_offender(s, "RSO-000001", risk_level="high", offender_manager="OM-1", visit_interval="P42D")
        add_visit(s, "V-1", "RSO-000001", due - timedelta(days=42), officer="OM-1")
        add_offender(s, "RSO-000002", status="custody", offender_manager="OM-1", expected_release=sunday)
    config = _config(tmp_path, "on")  # the register was not imported: say the measures are on
    with freeze_time(instant):
        plan = _json(run(db_url, "plan", "--format", "json", config=config))
        forecast = _json(run(db_url, "forecast", "--backtest", "0", "--weeks", "4", "--format", "json", config=config))
    assert plan["as_of"] == today.isoformat() and plan["week_start"] == monday.isoformat()
    items = [i for o in plan["officers"] for k in ("planned", "did_not_fit") for i in o[k]]
    if today == sunday:
        assert items == []  # due tomorrow: next week's plan
        assert forecast["returning_from_custody"] == 1 and forecast["weeks"][0]["returning"] == 1
        assert forecast["releases_passed"] == 0
    else:
        [item] = items
        assert (item["ref"], item["due_date"], item["interval"], item["interval_source"]) == (
            "RSO-000001",
            today.isoformat(),
            "P42D",
            "plan",
        )
        assert item["reason"] == "high; plan every 6 weeks; due today"
        assert forecast["returning_from_custody"] == 0 and forecast["releases_passed"] == 1
