"""The planner's inputs through the importer: officers.csv visits_per_week and absences.csv.

They keep the importer's promises (one transaction, every row stored or rejected with file,
line, field and reason, idempotent, a full extract considered) on SQLite and PostgreSQL. An
absence is staff data: a reject or warning never repeats its dates or fraction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy import Engine, select
from test_import import OFFICERS_HEADER, write

from monitor.core.config import Config
from monitor.register import models
from monitor.register.db import reading
from monitor.register.importer import ImportFailure, ImportResult, import_directory

DAY = datetime(2026, 12, 1, 9, tzinfo=UTC)  # Tuesday 1 Dec 2026
ABSENCES_HEADER = "officer_id,starts_on,ends_on,fraction"


@pytest.fixture
def config(engine: Engine, make_config: Callable[..., Config]) -> Config:
    return make_config(engine.url.render_as_string(hide_password=False))


def officers(directory: Path, rows: dict[str, str]) -> None:
    """officers.csv with a visits_per_week column: {officer_id: cell}."""
    header = OFFICERS_HEADER + ",visits_per_week"
    lines = [f"{i},Test Officer,{i.lower()}@police.example,NORTH,offender_manager,true,{v}" for i, v in rows.items()]
    write(directory, "officers.csv", [header, *lines])


def imported(engine: Engine, config: Config, directory: Path, **kw: bool) -> ImportResult:
    with freeze_time(DAY):
        return import_directory(engine, config, directory, **kw)


def stored_capacity(engine: Engine) -> dict[str, int | None]:
    with reading(engine) as s:
        rows = s.execute(select(models.Officer.officer_id, models.Officer.visits_per_week))
        return {officer_id: per_week for officer_id, per_week in rows}


def stored_absences(engine: Engine) -> list[tuple[str, date, date, float, date | None]]:
    model = models.OfficerAbsence
    with reading(engine) as s:
        rows = s.execute(
            select(model.officer_id, model.starts_on, model.ends_on, model.fraction, model.withdrawn_on).order_by(
                model.absence_key
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_visits_per_week_is_stored_blank_clears_and_bad_values_are_rejected(
    engine: Engine, config: Config, tmp_path: Path
) -> None:
    officers(tmp_path / "a", {"OM-1": "6", "OM-2": "", "OM-3": "0", "OM-4": "7.5", "OM-5": "101", "OM-6": "-1"})
    result = imported(engine, config, tmp_path / "a")
    assert [(r.line, r.field) for r in result.rejects] == [
        (5, "visits_per_week"),
        (6, "visits_per_week"),
        (7, "visits_per_week"),
    ]
    assert "whole number of home visits a week from 0 to 100, got '7.5'" in result.rejects[0].reason
    assert stored_capacity(engine) == {"OM-1": 6, "OM-2": None, "OM-3": 0}
    # A later extract: blank clears a stated figure; without the column, stored values stay.
    officers(tmp_path / "b", {"OM-1": "", "OM-2": "4", "OM-3": "0"})
    assert imported(engine, config, tmp_path / "b").counts["officers.csv"]["updated"] == 2
    assert stored_capacity(engine) == {"OM-1": None, "OM-2": 4, "OM-3": 0}
    write(
        tmp_path / "c",
        "officers.csv",
        [OFFICERS_HEADER, "OM-2,Test Officer,om-2@police.example,NORTH,offender_manager,"],
    )
    assert imported(engine, config, tmp_path / "c").counts["officers.csv"]["unchanged"] == 1
    assert stored_capacity(engine)["OM-2"] == 4


def test_absences_are_stored_keyed_by_officer_and_first_day(engine: Engine, config: Config, tmp_path: Path) -> None:
    officers(tmp_path, {"OM-1": "", "OM-2": ""})
    write(
        tmp_path,
        "Absences.CSV",
        [
            "Officer_ID,Starts_On,Ends_On,Fraction,Reason",  # an unknown column is never stored
            "OM-1,2026-12-07,2026-12-11,,sick",
            "OM-1,14/12/2026,2026-12-18,0.5,",
            "OM-2,2026-12-07,2026-12-07,50%,",
        ],
    )
    result = imported(engine, config, tmp_path)
    assert result.rejects == []
    assert result.counts["absences.csv"] == {"inserted": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert any("reason" in w for w in result.warnings)  # "unknown column ignored"
    assert stored_absences(engine) == [
        ("OM-1", date(2026, 12, 7), date(2026, 12, 11), 1.0, None),
        ("OM-1", date(2026, 12, 14), date(2026, 12, 18), 0.5, None),
        ("OM-2", date(2026, 12, 7), date(2026, 12, 7), 0.5, None),
    ]
    # Idempotent: the same file again changes nothing; a changed end date updates the row.
    again = imported(engine, config, tmp_path)
    assert again.counts["absences.csv"]["unchanged"] == 3
    write(tmp_path, "Absences.CSV", [ABSENCES_HEADER, "OM-1,2026-12-07,2026-12-09,1"])
    assert imported(engine, config, tmp_path).counts["absences.csv"]["updated"] == 1
    assert stored_absences(engine)[0][2] == date(2026, 12, 9)


def test_bad_absence_rows_are_rejected_without_repeating_staff_data(
    engine: Engine, config: Config, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "absences.csv",
        [
            ABSENCES_HEADER,
            "OM-1,2026-12-07,2026-12-11,1",
            "OM-1,07/12/2026,2026-12-20,1",  # the same officer and first day, written another way
            "OM-1,2026-12-10,2026-12-09,1",
            "OM-1,2026-13-01,2026-12-20,1",
            "OM-1,2026-12-21,2026-12-22,1.5",
            "OM-1,2026-12-23,2026-12-24,0",
            ",2026-12-23,2026-12-24,1",
            "OM-1,2026-12-28,,1",
        ],
    )
    result = imported(engine, config, tmp_path)
    assert [(r.line, r.field) for r in result.rejects] == [
        (3, "starts_on"),
        (4, "ends_on"),
        (5, "starts_on"),
        (6, "fraction"),
        (7, "fraction"),
        (8, "officer_id"),
        (9, "ends_on"),
    ]
    assert result.rejects[0].reason == "duplicate officer_id and starts_on, first seen on line 2"
    assert result.exit_code == 3
    for reject in result.rejects:
        assert "2026-12" not in reject.reason and "1.5" not in reject.reason and "13" not in reject.reason
    assert len(stored_absences(engine)) == 1


def test_absences_of_unknown_officers_are_kept_with_a_warning(engine: Engine, config: Config, tmp_path: Path) -> None:
    officers(tmp_path, {"OM-1": ""})
    write(tmp_path, "absences.csv", [ABSENCES_HEADER, "OM-1,2026-12-07,2026-12-11,1", "OM-9,2026-12-07,2026-12-11,1"])
    result = imported(engine, config, tmp_path)
    assert result.rejects == []
    [warning] = [w for w in result.warnings if "absences" in w]
    assert "not in the officer directory" in warning and "OM-9" in warning
    assert "2026-12" not in warning
    assert len(stored_absences(engine)) == 2


def test_a_full_extract_withdraws_current_and_future_absences_it_leaves_out(
    engine: Engine, config: Config, tmp_path: Path
) -> None:
    officers(tmp_path / "a", {"OM-1": ""})
    write(
        tmp_path / "a",
        "absences.csv",
        [
            ABSENCES_HEADER,
            "OM-1,2026-11-02,2026-11-06,1",  # over before the import's day: history
            "OM-1,2026-11-30,2026-12-04,1",  # current
            "OM-1,2026-12-14,2026-12-18,1",  # future
            "OM-1,2027-01-04,2027-01-08,1",  # future, listed again below
        ],
    )
    imported(engine, config, tmp_path / "a")
    officers(tmp_path / "b", {"OM-1": ""})
    # The full extract lists only the last absence, and one rejected row naming the current one.
    write(
        tmp_path / "b",
        "absences.csv",
        [ABSENCES_HEADER, "OM-1,2027-01-04,2027-01-08,1", "OM-1,2026-11-30,2026-12-04,2"],
    )
    result = imported(engine, config, tmp_path / "b", full=True)
    assert [(r.line, r.field) for r in result.rejects] == [(3, "fraction")]
    assert any(
        "1 current or future absence not in this full extract, marked withdrawn on 2026-12-01" in w
        for w in result.warnings
    )
    withdrawn = {(start, on) for _o, start, _e, _f, on in stored_absences(engine)}
    assert withdrawn == {
        (date(2026, 11, 2), None),  # history stays as it is
        (date(2026, 11, 30), None),  # named by a rejected row: still in the source system
        (date(2026, 12, 14), date(2026, 12, 1)),
        (date(2027, 1, 4), None),
    }
    # Listed again later: the mark is cleared.
    write(tmp_path / "c", "absences.csv", [ABSENCES_HEADER, "OM-1,2026-12-14,2026-12-18,1"])
    imported(engine, config, tmp_path / "c")
    assert {start: on for _o, start, _e, _f, on in stored_absences(engine)}[date(2026, 12, 14)] is None


def test_a_failure_in_the_absences_file_leaves_the_register_as_it_was(
    engine: Engine, config: Config, tmp_path: Path
) -> None:
    officers(tmp_path, {"OM-1": "5"})
    write(tmp_path, "absences.csv", ["officer_id,starts_on", "OM-1,2026-12-07"])  # ends_on missing
    with pytest.raises(ImportFailure, match="ends_on"):
        imported(engine, config, tmp_path)
    assert stored_capacity(engine) == {}
    assert stored_absences(engine) == []
