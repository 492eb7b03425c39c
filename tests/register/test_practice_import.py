"""The practice columns at import: forgiving about form, strict about meaning, nothing guessed.

A plan's visit frequency is an ISO 8601 duration kept in canonical form; MAPPA category and
level are numbers, perhaps after their word; a blank supervisor review under the column is
"never reviewed", no column is "not recorded"; a blank second officer under the column is a
lone visit, no column is "not recorded"; a visit's time of day is kept in London time. A
plan far longer than the risk level's default is stored and warned about. Runs on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, select

from monitor.core.config import Config
from monitor.register.db import reading
from monitor.register.importer import import_directory
from monitor.register.models import Offender, Visit, VisitFactsState

OFFICERS = "officer_id,name,email,team,role\nOM-1,Officer Testname 1,om1@police.example,T1,offender_manager\n"
HEAD = (
    "ref,risk_level,status,team,offender_manager,registered_on,"
    "visit_interval,mappa_category,mappa_level,supervisor_reviewed_on"
)
OFFENDERS = [
    "RSO-1,high,community,T1,OM-1,2020-01-01,P6W,Category 1,Level 2,2026-05-01",
    "RSO-2,low,community,T1,OM-1,2020-01-01,p2m,cat 1,L3,",
    "RSO-3,very_high,community,T1,OM-1,2020-01-01,P1Y,1,1,2026-06-01",  # 12 x P1M: long, warned
    "RSO-4,medium,community,T1,OM-1,2020-01-01,,,,",
    "RSO-5,low,community,T1,OM-1,2020-01-01,monthly,1,1,",  # rejected: not a duration
    "RSO-6,low,community,T1,OM-1,2020-01-01,P0D,1,1,",  # rejected: zero
    "RSO-7,low,community,T1,OM-1,2020-01-01,P2M,1,5,",  # rejected: no MAPPA level 5
    "RSO-8,low,community,T1,OM-1,2020-01-01,P2M,Level 2,1,",  # rejected: a level is not a category
]
VISITS = (
    "visit_id,ref,visit_date,outcome,visit_type,officer,second_officer,announced\n"
    "V1,RSO-1,2026-07-01T08:30:00Z,completed,home,OM-1,,\n"  # 09:30 in London (BST)
    "V2,RSO-1,2026-01-10 18:05,completed,home,OM-1,OM-2,yes\n"  # naive: London time already
    "V3,RSO-2,2026-06-01,completed,home,OM-1,OM-2,no\n"  # no time
)


def _write(directory: Path, offenders: list[str], visits: str | None = VISITS, head: str = HEAD) -> Path:
    directory.mkdir()
    (directory / "officers.csv").write_text(OFFICERS)
    (directory / "offenders.csv").write_text("\n".join([head, *offenders]) + "\n")
    if visits is not None:
        (directory / "visits.csv").write_text(visits)
    return directory


def test_values_are_read_strictly_and_kept_in_canonical_form(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    result = import_directory(engine, make_config(db_url), _write(tmp_path / "x", OFFENDERS))
    assert result.exit_code == 3
    reasons = {(r.line, r.field): r.reason for r in result.rejects}
    assert set(reasons) == {(6, "visit_interval"), (7, "visit_interval"), (8, "mappa_level"), (9, "mappa_category")}
    assert "ISO 8601 duration" in reasons[6, "visit_interval"] and "'monthly'" in reasons[6, "visit_interval"]
    assert "longer than zero" in reasons[7, "visit_interval"]
    long = [w for w in result.warnings if "visit_interval is longer than 2 times" in w]
    assert len(long) == 1 and "RSO-3 (line 4: P12M against P1M)" in long[0] and "RSO-1" not in long[0]
    with reading(engine) as s:
        people = {o.ref: o for o in s.scalars(select(Offender))}
        visits = {v.visit_id: v for v in s.scalars(select(Visit))}
        state = s.get(VisitFactsState, 1)
    assert (people["RSO-1"].visit_interval, people["RSO-2"].visit_interval) == ("P42D", "P2M")
    assert people["RSO-3"].visit_interval == "P12M" and people["RSO-4"].visit_interval is None
    assert (people["RSO-1"].mappa_category, people["RSO-1"].mappa_level) == (1, 2)
    assert (people["RSO-2"].mappa_category, people["RSO-2"].mappa_level) == (1, 3)
    # Under the column, blank is "never reviewed", not "not recorded".
    assert people["RSO-2"].supervisor_reviewed_on is None and people["RSO-2"].supervisor_review_recorded is True
    assert (visits["V1"].paired, visits["V1"].announced, visits["V1"].visit_minute) == (False, False, 9 * 60 + 30)
    assert (visits["V2"].paired, visits["V2"].announced, visits["V2"].visit_minute) == (True, True, 18 * 60 + 5)
    assert (visits["V3"].paired, visits["V3"].announced, visits["V3"].visit_minute) == (True, False, None)
    assert state is not None and state.practice_columns == (
        "announced,mappa_category,mappa_level,second_officer,supervisor_reviewed_on,visit_interval"
    )
    assert state.recent_n == 3  # the practice measures are on: the last visits' pattern is kept


def test_without_the_columns_nothing_is_recorded_and_later_extracts_keep_what_was(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config(db_url)
    plain = "ref,risk_level,status,team,offender_manager,registered_on"
    old_visits = "visit_id,ref,visit_date,outcome\nV9,RSO-9,2026-06-01T10:00,completed\n"
    first = _write(tmp_path / "old", ["RSO-9,low,community,T1,OM-1,2020-01-01"], old_visits, plain)
    assert import_directory(engine, config, first).exit_code == 0
    with reading(engine) as s:
        person, visit = s.get(Offender, "RSO-9"), s.get(Visit, "V9")
        state = s.get(VisitFactsState, 1)
    assert person is not None and visit is not None and state is not None
    assert person.supervisor_review_recorded is None and visit.paired is None and visit.announced is None
    assert visit.visit_minute == 600  # times are kept whatever the columns
    assert state.practice_columns == "" and state.recent_n is None  # measures off: no pattern kept

    # An extract with the columns, then one without them again: the values stay as recorded.
    assert import_directory(engine, config, _write(tmp_path / "new", OFFENDERS[:1], None)).exit_code == 0
    again = import_directory(
        engine, config, _write(tmp_path / "again", ["RSO-1,high,community,T1,OM-1,2020-01-01"], None, plain)
    )
    assert again.exit_code == 0 and again.counts["offenders.csv"]["unchanged"] == 1
    with reading(engine) as s:
        person = s.get(Offender, "RSO-1")
        state = s.get(VisitFactsState, 1)
    assert person is not None and person.visit_interval == "P42D" and person.supervisor_review_recorded is True
    assert state is not None and "visit_interval" in (state.practice_columns or "")  # kept from the second


def test_reimporting_the_same_practice_extract_changes_nothing(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config(db_url)
    src = _write(tmp_path / "x", OFFENDERS[:4])
    assert import_directory(engine, config, src).exit_code == 0
    again = import_directory(engine, config, src)
    assert again.exit_code == 0
    assert all(c["inserted"] == c["updated"] == 0 for c in again.counts.values()), again.counts
