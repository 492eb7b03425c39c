"""The practice measures agree with the independent oracle, row for row, on SQLite and PostgreSQL.

Why: plan intervals move due dates, MAPPA levels move the order of every list, and lone,
predictable and supervisor-review lists come from facts kept at import (predictable visits)
or from a look-back over the visits, each with its own boundaries (two hours, 18:00, the
look-back's first day, a review from before the current status). tests/oracle_practice.py
implements the rules separately, in loops over the CSV. The registers are generated
(``generate(..., practice=True)``, at several as-of dates: the day itself, where the
stored facts hold, and dates before it, where they are computed from the visits) and one
is written here by hand, case by case, independently of the generator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from oracle import differences, oracle
from sqlalchemy import Engine

from monitor.core.config import Config
from monitor.register.db import reading
from monitor.register.importer import import_directory
from monitor.rules.scan import COUNTABLE, scan
from monitor.synthetic.generator import generate

CASES = [
    pytest.param(61, 400, date(2026, 11, 23), id="demo-date"),
    pytest.param(62, 300, date(2026, 3, 29), id="clocks-forward"),
    pytest.param(63, 300, date(2028, 2, 29), id="leap-day"),
]

VARIANT: dict[str, Any] = {
    "intervals": {"very_high": "P5W", "high": "P2M", "medium": "P4M", "low": "P1Y"},
    "include_names": True,
    "predictable_visits_last": 4,
    "lone_visit_lookback": "P1M",
    "supervisor_review_interval": {"very_high": "P1M", "high": "P2M", "medium": "P6M", "low": "P6M"},
    "plan_interval_warn_multiple": 1.5,
    "caseload_ceiling": 40,
    "caseload_weights": {"very_high": 4, "high": 2, "medium": 1, "low": 0.5},
}


def _agree(engine: Engine, config: Config, src: Path, as_of: date, raw: dict[str, Any] | None = None) -> dict[str, Any]:
    with reading(engine) as session:
        actual = scan(session, config.policy, as_of).to_json()
        counted = scan(session, config.policy, as_of, count_only=COUNTABLE).to_json()
    expected = oracle(src, as_of, policy=raw)
    problems = differences(actual, expected)
    assert not problems, f"engine and oracle disagree on {as_of}:\n" + "\n".join(problems)
    assert actual == expected, as_of
    # Counting reviews and notifications instead of listing them changes nothing else.
    assert counted == {k: v for k, v in expected.items() if k not in COUNTABLE}, as_of
    return expected


def _import(engine: Engine, config: Config, src: Path) -> None:
    result = import_directory(engine, config, src)
    assert result.exit_code == 0, [str(r) for r in result.rejects[:5]]


@pytest.mark.parametrize(("seed", "people", "as_of"), CASES)
def test_generated_registers_agree(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path, seed: int, people: int, as_of: date
) -> None:
    src = tmp_path / "extract"
    generate(people, seed=seed, as_of=as_of, out_dir=src, practice=True)
    config = make_config(db_url)
    _import(engine, config, src)
    report = _agree(engine, config, src, as_of)
    # Lively enough for agreement to mean something.
    s = report["summary"]
    assert report["lone_visits"] and report["predictable_visits"] and report["overdue_supervisor_reviews"]
    assert report["long_plan_intervals"] and s["plan_intervals"] > 5 and s["officers_over_ceiling"] >= 0
    assert Counter(i["interval_source"] for i in report["overdue_visits"] + report["due_soon"])["plan"] > 0
    assert s["mappa"]["caseload_by_level"]["2"] > 0
    # Before the latest visits the stored facts (last visits included) do not hold for
    # some or most people: computed from the visits, a few at a time or all at once.
    for day in (as_of - timedelta(days=1), as_of - timedelta(days=31), as_of + timedelta(days=30)):
        _agree(engine, config, src, day)


def test_other_practice_settings_agree(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """N = 4, a one-month look-back, supervisor intervals per risk level, names on."""
    as_of = date(2026, 8, 31)
    src = tmp_path / "extract"
    generate(300, seed=64, as_of=as_of, out_dir=src, practice=True)
    config = make_config(db_url, policy=VARIANT)
    _import(engine, config, src)
    report = _agree(engine, config, src, as_of, VARIANT)
    assert report["predictable_visits"] and all(p["last_visits"] == 4 for p in report["predictable_visits"])
    assert "surname" in report["overdue_supervisor_reviews"][0]
    # The facts of the last N visits were kept for N = 4: a scan for another N computes them live.
    other = {**VARIANT, "predictable_visits_last": 2}
    _agree(engine, make_config(db_url, policy=other), src, as_of, other)


def test_measures_switched_off_agree(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    as_of = date(2026, 11, 23)
    with_columns = tmp_path / "with"
    generate(200, seed=65, as_of=as_of, out_dir=with_columns, practice=True)
    off = {"practice_measures": "off"}
    _import(engine, make_config(db_url), with_columns)
    report = _agree(engine, make_config(db_url, policy=off), with_columns, as_of, off)
    assert "lone_visits" not in report and "interval" not in report["overdue_visits"][0]


def test_measures_on_without_the_columns(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """On for a register without the columns: risk-level intervals, caseloads and patterns of
    visit days; lone visits and supervisor reviews "not recorded" (left out, share None)."""
    as_of = date(2026, 11, 23)
    src = tmp_path / "extract"
    generate(200, seed=66, as_of=as_of, out_dir=src)
    on = {"practice_measures": "on"}
    config = make_config(db_url, policy=on)
    _import(engine, config, src)
    report = _agree(engine, config, src, as_of, on)
    assert "lone_visits" not in report and "overdue_supervisor_reviews" not in report
    assert report["summary"]["lone_visit_share"] is None and report["summary"]["overdue_supervisor_reviews"] is None
    assert {i["interval_source"] for i in report["overdue_visits"]} == {"risk_level"}


# ---------------------------------------------------------------- a register written by hand

AS_OF = date(2026, 6, 30)  # a Tuesday
OFFICERS = """officer_id,name,email,team,role,active
OM-1,Officer Testname 1,om1@police.example,T1,offender_manager,true
OM-2,Officer Testname 2,om2@police.example,T1,offender_manager,true
DS-1,Sergeant Testname 1,ds1@police.example,T1,supervisor,true
"""
OFFENDERS_HEAD = (
    "ref,risk_level,status,team,offender_manager,registered_on,status_since,management,risk_assessed_on,"
    "last_notified_on,no_fixed_abode,registration_ends,surname,forenames,date_of_birth,"
    "visit_interval,mappa_category,mappa_level,supervisor_reviewed_on"
)
#: ref, risk, status, since, plan, category, level, reviewed: each line one case of the rules.
PEOPLE = [
    ("RSO-01", "high", "community", "", "P6W", "1", "1", "2026-06-01"),  # plan of weeks
    ("RSO-02", "high", "community", "", "P2M3D", "1", "2", "2026-03-30"),  # months and days; review due today
    ("RSO-03", "high", "community", "", "", "1", "3", "2026-03-29"),  # review overdue by a day
    ("RSO-04", "medium", "community", "", "P13M", "", "", ""),  # long plan (13 > 2 x 6); never reviewed
    ("RSO-05", "medium", "community", "", "P12M", "1", "1", "2026-06-01"),  # exactly 2 x P6M: not long
    ("RSO-06", "low", "community", "2026-05-01", "", "1", "1", "2026-04-01"),  # review before S
    ("RSO-07", "low", "missing", "2026-01-10", "", "1", "2", "2026-02-01"),  # missing: reviewed too
    ("RSO-08", "very_high", "custody", "2026-01-10", "P3Y", "1", "1", ""),  # custody: no review, long plan
    ("RSO-09", "low", "community", "", "", "", "", "2026-06-20"),  # visits just inside the window
    ("RSO-10", "low", "community", "", "", "1", "1", "2026-06-20"),  # visits on the window's edge
]
VISITS_HEAD = "visit_id,ref,visit_date,outcome,visit_type,officer,second_officer,announced"
#: ref, [(date and time, outcome, second officer, announced)]
VISITS = {
    # Tuesdays, no times: same weekday only.
    "RSO-01": [
        ("2026-06-02", "completed", "", "false"),
        ("2026-05-26", "completed", "OM-2", "false"),
        ("2026-05-19", "completed", "OM-2", "true"),
    ],
    # Times 10:00, 11:00, 12:00 (a span of exactly 120 minutes: one window), all before 18:00.
    "RSO-02": [
        ("2026-06-03T10:00", "completed", "OM-2", ""),
        ("2026-05-02T11:00", "completed", "OM-2", ""),
        ("2026-04-07T12:00", "completed", "OM-2", ""),
    ],
    # 10:00 and 12:01 (121 minutes): no window; one at 18:00: an evening visit. Nothing.
    "RSO-03": [
        ("2026-06-10T10:00", "completed", "OM-2", ""),
        ("2026-05-11T12:01", "completed", "OM-2", ""),
        ("2026-04-16T18:00", "completed", "OM-2", ""),
    ],
    # 17:59, 09:00, 13:00 on different days: never in the evening only; a no-access and an
    # "other" visit in between do not count.
    "RSO-04": [
        ("2026-06-11T17:59", "completed", "", ""),
        ("2026-06-12T08:00", "no_access", "", ""),
        ("2026-05-09T09:00", "completed", "", ""),
        ("2026-04-01T13:00", "completed", "OM-2", ""),
    ],
    # Two on one day: the timed one counts as the later, so the untimed one is among the last
    # three and no time pattern is judged (nor a weekday: a Monday and a Friday).
    "RSO-05": [
        ("2026-06-15", "completed", "OM-2", ""),
        ("2026-06-15T15:00", "completed", "OM-2", ""),
        ("2026-05-15T15:30", "completed", "OM-2", ""),
        ("2026-04-20T16:00", "completed", "OM-2", ""),
    ],
    # Only two completed home visits: no pattern judged.
    "RSO-06": [("2026-05-05T10:00", "completed", "", ""), ("2026-04-05T10:00", "completed", "", "")],
    # 1 April is day 90 before 30 June: outside the P90D look-back; 2 April inside.
    "RSO-09": [("2026-04-02T10:00", "completed", "", "true"), ("2026-04-01T10:00", "completed", "", "")],
    "RSO-10": [("2026-06-30T23:30", "completed", "", ""), ("2026-07-01T09:00", "completed", "", "")],
}


def _hand_written(directory: Path) -> None:
    directory.mkdir()
    (directory / "officers.csv").write_text(OFFICERS)
    lines = [OFFENDERS_HEAD]
    for ref, risk, status, since, plan, category, level, reviewed in PEOPLE:
        manager = "OM-2" if ref == "RSO-09" else "OM-1"
        lines.append(
            f"{ref},{risk},{status},T1,{manager},2020-01-01,{since},active,2026-01-01,2026-01-01,false,,,,,"
            f"{plan},{category},{level},{reviewed}"
        )
    (directory / "offenders.csv").write_text("\n".join(lines) + "\n")
    rows = [VISITS_HEAD]
    n = 0
    for ref, visits in VISITS.items():
        for when, outcome, second, announced in visits:
            n += 1
            rows.append(f"V{n:03d},{ref},{when},{outcome},home,OM-1,{second},{announced}")
    rows.append(f"V{n + 1:03d},RSO-04,2026-06-13T19:00,completed,other,OM-1,,")
    (directory / "visits.csv").write_text("\n".join(rows) + "\n")


def test_hand_written_register_agrees_and_says_what_the_rules_say(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    src = tmp_path / "hand"
    _hand_written(src)
    config = make_config(db_url)
    _import(engine, config, src)
    report = _agree(engine, config, src, AS_OF)
    visits = {i["ref"]: i for i in report["overdue_visits"] + report["due_soon"]}
    assert visits["RSO-01"]["interval"] == "P42D" and visits["RSO-01"]["interval_source"] == "plan"
    assert visits["RSO-01"]["due_date"] == "2026-07-14"  # 2 June + 6 weeks
    later = _agree(engine, config, src, date(2026, 8, 10))
    visits = {i["ref"]: i for i in later["overdue_visits"] + later["due_soon"]}
    assert visits["RSO-02"]["interval"] == "P2M3D" and visits["RSO-02"]["due_date"] == "2026-08-06"
    patterns = {p["ref"]: p for p in report["predictable_visits"]}
    assert patterns["RSO-01"]["pattern"] == "last 3 visits all on Tuesdays"
    assert patterns["RSO-02"]["same_time"] == "10:00-12:00" and patterns["RSO-02"]["never_in_evening"] is True
    assert patterns["RSO-04"]["pattern"] == "last 3 visits none in the evening"
    assert set(patterns) == {"RSO-01", "RSO-02", "RSO-04"}  # not 03 (121 minutes, 18:00), 05, 06
    lone = [(v["ref"], v["visit_date"]) for v in report["lone_visits"]]
    assert ("RSO-09", "2026-04-02") in lone and ("RSO-09", "2026-04-01") not in lone
    assert ("RSO-10", "2026-06-30") in lone and ("RSO-10", "2026-07-01") not in lone  # after the as-of date
    reviews = {r["ref"]: r for r in report["overdue_supervisor_reviews"]}
    assert "RSO-02" not in reviews and reviews["RSO-03"]["days_overdue"] == 1  # due today / yesterday
    assert reviews["RSO-04"]["last_reviewed"] is None and reviews["RSO-04"]["due_date"] == "2020-04-01"
    assert "RSO-06" not in reviews  # a review before S: due 3 months after S, 1 August
    assert "RSO-07" in reviews and "RSO-08" not in reviews  # missing people too; custody not
    assert [p["ref"] for p in report["long_plan_intervals"]] == ["RSO-08", "RSO-04"]
    # Level 2 and 3 first within their risk level.
    assert [p["ref"] for p in report["predictable_visits"]][:2] == ["RSO-02", "RSO-01"]
    s = report["summary"]
    assert s["lone_visit_share_by_officer"]["OM-1"] == s["lone_visit_share"]
    assert s["announced_visits"] == 2
