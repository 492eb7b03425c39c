"""``visit-monitor import``: the register CSV contract, rejects, idempotence, rollback, bulk.

Every test that touches the database runs on SQLite and PostgreSQL (``engine`` fixture).
All data is synthetic: refs RSO-nnnnnn, officers OM-nnnn at police.example, surnames
"Testperson".
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import IntegrityError

from monitor.cli.app import cli
from monitor.core.config import Config
from monitor.register import loading, models, writing
from monitor.register.db import make_engine, reading
from monitor.register.importer import ImportFailure, ImportResult, ImportUsageError, Reject, import_directory

MESSY = Path(__file__).resolve().parents[1] / "data" / "messy"

OFFICERS_HEADER = "officer_id,name,email,team,role,active"
OFFENDERS_HEADER = "ref,risk_level,status,team,offender_manager,registered_on,status_since,management,no_fixed_abode"
VISITS_HEADER = "visit_id,ref,visit_date,outcome,visit_type,officer"


def write(directory: Path, name: str, lines: list[str], *, bom: bool = False, crlf: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    newline = "\r\n" if crlf else "\n"
    data = (newline.join(lines) + newline).encode("utf-8")
    path = directory / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def offender(ref: str, **overrides: str) -> str:
    """One offenders.csv line in OFFENDERS_HEADER order."""
    values = {
        "ref": ref,
        "risk_level": "high",
        "status": "community",
        "team": "NORTH",
        "offender_manager": "OM-0001",
        "registered_on": "2025-01-10",
        "status_since": "",
        "management": "active",
        "no_fixed_abode": "false",
    }
    values.update(overrides)
    return ",".join(values.values())


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the register and the reject log, for before/after comparisons."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with reading(engine) as session:
        for model in (models.Officer, models.Offender, models.Visit, models.ImportReject):
            table = model.__table__
            rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def run_import(engine: Engine, config: Config, directory: Path) -> ImportResult:
    return import_directory(engine, config, directory)


def where(result: ImportResult) -> set[tuple[str, int, str | None]]:
    return {(r.file, r.line, r.field) for r in result.rejects}


@pytest.fixture
def config(engine: Engine, make_config: Callable[..., Config]) -> Config:
    return make_config(engine.url.render_as_string(hide_password=False))


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    return tmp_path / "extract"


def seed_offenders(engine: Engine, config: Config, tmp_path: Path, refs: list[str]) -> None:
    d = tmp_path / "seed"
    write(d, "offenders.csv", [OFFENDERS_HEADER, *(offender(r) for r in refs)])
    assert run_import(engine, config, d).exit_code == 0


# --------------------------------------------------------------------------- the messy extract


MESSY_REJECTS = {
    ("OFFICERS.csv", 6, "email"),
    ("OFFICERS.csv", 7, "role"),
    ("offenders.csv", 6, "risk_level"),
    ("offenders.csv", 7, "registered_on"),
    ("offenders.csv", 8, "ref"),  # duplicate of line 5 (line 3-4 is one record)
    ("offenders.csv", 9, "status_since"),
    ("offenders.csv", 10, "date_of_birth"),
    ("offenders.csv", 11, "team"),
    ("Visits.CSV", 5, "ref"),
    ("Visits.CSV", 6, "ref"),
    ("Visits.CSV", 7, "outcome"),
    ("Visits.CSV", 8, "visit_id"),
    ("Visits.CSV", 10, "visit_date"),
}


def test_messy_extract_rejects_exactly_these_lines(engine: Engine, config: Config) -> None:
    result = run_import(engine, config, MESSY)

    assert where(result) == MESSY_REJECTS
    assert result.counts == {
        "officers.csv": {"inserted": 5, "updated": 0, "unchanged": 0, "rejected": 2},
        "offenders.csv": {"inserted": 4, "updated": 0, "unchanged": 0, "rejected": 6},
        "visits.csv": {"inserted": 5, "updated": 0, "unchanged": 0, "rejected": 5},
    }
    assert result.exit_code == 3
    # Rejects come back in file order, then line order.
    assert [(r.file, r.line) for r in result.rejects] == sorted(
        ((r.file, r.line) for r in result.rejects),
        key=lambda fl: (["OFFICERS.csv", "offenders.csv", "Visits.CSV"].index(fl[0]), fl[1]),
    )
    # Unknown columns are warned about once per file, by name; then warnings about values.
    assert result.warnings == [
        "OFFICERS.csv: ignoring unknown column 'extension'",
        "offenders.csv: ignoring unknown column 'notes'",
        "Visits.CSV: ignoring unknown column 'comments'",
        # Not a reject: a warning (issue 8, "Smaller").
        "offenders.csv: 1 very high or high risk person is marked reactive, so no routine home visit is due"
        " (check this is intended): RSO-000003 (line 5)",
    ]
    by_line = {(r.file, r.line): r.reason for r in result.rejects}
    assert by_line[("offenders.csv", 8)] == "duplicate ref, first seen on line 5"
    assert by_line[("Visits.CSV", 8)] == "duplicate visit_id, first seen on line 2"
    assert by_line[("offenders.csv", 6)] == "expected one of very_high, high, medium, low, got 'severe'"

    with reading(engine) as s:
        o = {x.ref: x for x in s.scalars(select(models.Offender))}
        v = {x.visit_id: x for x in s.scalars(select(models.Visit))}
        off = {x.officer_id: x for x in s.scalars(select(models.Officer))}
    assert sorted(o) == ["RSO-000001", "RSO-000002", "RSO-000003", "RSO-000009"]
    assert o["RSO-000001"].risk_level == "very_high"  # "Very High"
    assert o["RSO-000002"].risk_level == "very_high"  # "very-high"
    assert o["RSO-000001"].registered_on == date(2025, 2, 1)  # UK 01/02/2025 is 1 February
    assert o["RSO-000001"].risk_assessed_on == date(2026, 1, 15)
    assert o["RSO-000002"].status == "custody"
    assert o["RSO-000002"].status_since == date(2026, 3, 1)  # from a UTC datetime
    assert o["RSO-000003"].management == "reactive"
    assert o["RSO-000003"].no_fixed_abode is True
    assert o["RSO-000003"].registration_ends == date(2035, 3, 9)
    assert o["RSO-000002"].management == "active"  # blank -> default
    # 2025-04-01T00:30+01:00 is 31 March 23:30 UTC but 1 April in London.
    assert o["RSO-000009"].registered_on == date(2025, 4, 1)
    assert o["RSO-000009"].date_of_birth == date(1975, 3, 2)
    assert v["V-000001"].visit_date == date(2026, 7, 1)  # 23:30Z on 30 June is 1 July in London
    assert v["V-000001"].visited_at == datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert v["V-000002"].outcome == "no_access" and v["V-000002"].visited_at is None
    assert v["V-000003"].visit_type == "other" and v["V-000003"].officer is None
    assert v["V-000007"].visited_at == datetime(2026, 6, 1, 8, 15, tzinfo=UTC)  # 09:15 BST, naive = London
    assert v["V-000009"].outcome == "no_access"
    assert off["OM-0001"].role == "offender_manager" and off["OM-0001"].active is True
    assert off["OM-0002"].role == "offender_manager"  # "offender-manager"
    assert off["DS-0001"].role == "supervisor" and off["DCI-0001"].role == "lead"
    assert off["DCI-0001"].active is True  # blank -> default true
    assert off["OM-0005"].active is False  # "No"


def test_messy_extract_records_the_run_and_its_rejects(engine: Engine, config: Config) -> None:
    result = run_import(engine, config, MESSY)
    with reading(engine) as s:
        run = s.get(models.ImportRun, result.import_id)
        assert run is not None
        assert run.outcome == "rejected_rows"
        assert run.counts == result.counts
        assert run.finished_at is not None and run.error is None
        assert run.source == str(MESSY.resolve())
        stored = s.execute(
            select(models.ImportReject.file, models.ImportReject.line, models.ImportReject.field).where(
                models.ImportReject.import_id == result.import_id
            )
        ).all()
        imported = s.scalars(select(models.Offender.import_id)).all()
    assert {tuple(r) for r in stored} == MESSY_REJECTS
    assert set(imported) == {result.import_id}


# --------------------------------------------------------------------------- format tolerance


def test_bom_crlf_and_mixed_case_trimmed_headers(engine: Engine, config: Config, extract: Path) -> None:
    write(
        extract,
        "Offenders.csv",
        [
            " REF ,Risk_Level,STATUS, Team,Offender-Manager,Registered_On",
            "RSO-000123,Low,Community,NORTH,OM-0042,2025-05-05",
        ],
        bom=True,
        crlf=True,
    )
    result = run_import(engine, config, extract)
    assert result.rejects == [] and result.warnings == []
    assert result.counts["offenders.csv"]["inserted"] == 1
    with reading(engine) as s:
        row = s.get(models.Offender, "RSO-000123")
    assert row is not None
    assert (row.ref, row.risk_level, row.status, row.offender_manager) == ("RSO-000123", "low", "community", "OM-0042")
    # Optional columns absent from the file get their defaults on insert.
    assert (row.management, row.no_fixed_abode, row.status_since) == ("active", False, None)


@pytest.mark.parametrize(
    ("risk", "expected"),
    [("Very High", "very_high"), ("very-high", "very_high"), ("VERY_HIGH", "very_high"), (" medium ", "medium")],
)
def test_risk_level_spellings_are_forgiven(
    engine: Engine, config: Config, extract: Path, risk: str, expected: str
) -> None:
    write(extract, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001", risk_level=risk)])
    assert run_import(engine, config, extract).rejects == []
    with reading(engine) as s:
        assert s.scalar(select(models.Offender.risk_level)) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("true", True),
        ("YES", True),
        ("1", True),
        ("y", True),
        ("False", False),
        ("no", False),
        ("0", False),
        ("N", False),
    ],
)
def test_booleans(engine: Engine, config: Config, extract: Path, cell: str, expected: bool) -> None:
    write(extract, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001", no_fixed_abode=cell)])
    assert run_import(engine, config, extract).rejects == []
    with reading(engine) as s:
        assert s.scalar(select(models.Offender.no_fixed_abode)) is expected


@pytest.mark.parametrize(
    ("cell", "day", "instant"),
    [
        ("2026-06-30T23:30:00Z", date(2026, 7, 1), datetime(2026, 6, 30, 23, 30, tzinfo=UTC)),  # BST: next day
        ("2026-06-30T22:59:59+00:00", date(2026, 6, 30), datetime(2026, 6, 30, 22, 59, 59, tzinfo=UTC)),
        ("2026-12-31T23:30:00Z", date(2026, 12, 31), datetime(2026, 12, 31, 23, 30, tzinfo=UTC)),  # GMT
        ("2026-03-29T00:30:00Z", date(2026, 3, 29), datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),  # clocks go forward
        ("2026-10-24T23:30:00Z", date(2026, 10, 25), datetime(2026, 10, 24, 23, 30, tzinfo=UTC)),  # last BST night
        ("2026-07-01 00:15", date(2026, 7, 1), datetime(2026, 6, 30, 23, 15, tzinfo=UTC)),  # naive = London
        ("01/07/2026 00:15", date(2026, 7, 1), datetime(2026, 6, 30, 23, 15, tzinfo=UTC)),  # UK datetime
        ("01/07/2026", date(2026, 7, 1), None),
        ("2026-07-01", date(2026, 7, 1), None),
    ],
)
def test_visit_dates_and_datetimes_use_the_london_date(
    engine: Engine,
    config: Config,
    extract: Path,
    tmp_path: Path,
    cell: str,
    day: date,
    instant: datetime | None,
) -> None:
    seed_offenders(engine, config, tmp_path, ["RSO-000001"])
    write(extract, "visits.csv", [VISITS_HEADER, f"V-000001,RSO-000001,{cell},completed,home,OM-0001"])
    assert run_import(engine, config, extract).rejects == []
    with reading(engine) as s:
        visit = s.get(models.Visit, "V-000001")
    assert visit is not None
    assert visit.visit_date == day
    assert visit.visited_at == instant


def test_visit_type_defaults_to_home_and_officer_is_optional(engine: Engine, config: Config, extract: Path) -> None:
    write(extract, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001")])
    write(extract, "visits.csv", ["visit_id,ref,visit_date,outcome", "V-1,RSO-000001,2026-01-05,Cancelled"])
    assert run_import(engine, config, extract).rejects == []
    with reading(engine) as s:
        visit = s.get(models.Visit, "V-1")
    assert visit is not None and (visit.visit_type, visit.officer, visit.outcome) == ("home", None, "cancelled")


def test_quoted_newlines_keep_physical_line_numbers(engine: Engine, config: Config, extract: Path) -> None:
    write(
        extract,
        "offenders.csv",
        [
            OFFENDERS_HEADER + ",notes",
            offender("RSO-000001") + ',"first line',
            "second line",
            'third line"',
            offender("RSO-000002", risk_level="extreme") + ",",
            offender("RSO-000003") + ',"a',
            'b"',
            offender("RSO-000001") + ",",
        ],
        crlf=True,
    )
    result = run_import(engine, config, extract)
    assert [(r.line, r.field, r.reason) for r in result.rejects] == [
        (5, "risk_level", "expected one of very_high, high, medium, low, got 'extreme'"),
        (8, "ref", "duplicate ref, first seen on line 2"),
    ]
    assert result.counts["offenders.csv"]["inserted"] == 2


def test_blank_lines_are_skipped_with_a_warning(engine: Engine, config: Config, extract: Path) -> None:
    write(
        extract,
        "offenders.csv",
        [OFFENDERS_HEADER, "", offender("RSO-000001"), ",,,,,,,,", offender("RSO-000002", status="nowhere")],
    )
    result = run_import(engine, config, extract)
    assert where(result) == {("offenders.csv", 5, "status")}
    assert result.warnings == ["offenders.csv: skipped 2 blank lines"]


def test_only_some_files_and_visits_referring_to_the_register(
    engine: Engine, config: Config, extract: Path, tmp_path: Path
) -> None:
    seed_offenders(engine, config, tmp_path, ["RSO-000001"])
    write(extract, "VISITS.CSV", [VISITS_HEADER, "V-1,RSO-000001,2026-01-05,completed,home,OM-0001"])
    result = run_import(engine, config, extract)
    assert result.counts == {"visits.csv": {"inserted": 1, "updated": 0, "unchanged": 0, "rejected": 0}}


# --------------------------------------------------------------------------- one test per reject reason


REJECT_CASES: list[tuple[str, str, list[str], int, str | None, str]] = [
    # (id, file, lines after the header, line, field, exact reason)
    ("missing required", "offenders.csv", [offender("RSO-000001", team="")], 2, "team", "required value is missing"),
    ("missing key", "offenders.csv", [offender("")], 2, "ref", "required value is missing"),
    (
        "bad risk",
        "offenders.csv",
        [offender("RSO-000001", risk_level="severe")],
        2,
        "risk_level",
        "expected one of very_high, high, medium, low, got 'severe'",
    ),
    (
        "bad status",
        "offenders.csv",
        [offender("RSO-000001", status="prison")],
        2,
        "status",
        "expected one of community, custody, hospital, abroad, missing, deceased, deregistered, got 'prison'",
    ),
    (
        "bad management",
        "offenders.csv",
        [offender("RSO-000001", management="passive")],
        2,
        "management",
        "expected one of active, reactive, got 'passive'",
    ),
    (
        "bad date",
        "offenders.csv",
        [offender("RSO-000001", registered_on="2025-02-30")],
        2,
        "registered_on",
        "expected a date as YYYY-MM-DD or DD/MM/YYYY (a datetime is also accepted), got '2025-02-30'"
        " (day is out of range for month)",
    ),
    (
        "unparseable date",
        "offenders.csv",
        [offender("RSO-000001", registered_on="last Tuesday")],
        2,
        "registered_on",
        "expected a date as YYYY-MM-DD or DD/MM/YYYY (a datetime is also accepted), got 'last Tuesday'",
    ),
    (
        "bad boolean",
        "offenders.csv",
        [offender("RSO-000001", no_fixed_abode="maybe")],
        2,
        "no_fixed_abode",
        "expected true/false, yes/no, 1/0 or y/n, got 'maybe'",
    ),
    (
        "status_since before registered_on",
        "offenders.csv",
        [offender("RSO-000001", registered_on="2025-01-10", status_since="09/01/2025")],
        2,
        "status_since",
        "must not be before registered_on (2025-01-10), got 2025-01-09",
    ),
    (
        "too long",
        "offenders.csv",
        [offender("RSO-" + "9" * 61)],
        2,
        "ref",
        "longer than 64 characters",
    ),
    (
        "too many values",
        "offenders.csv",
        [offender("RSO-000001") + ",surplus"],
        2,
        None,
        "has 10 values but the header has 9 columns",
    ),
    (
        "duplicate",
        "offenders.csv",
        [offender("RSO-000001"), offender("RSO-000002"), offender("RSO-000001", risk_level="low")],
        4,
        "ref",
        "duplicate ref, first seen on line 2",
    ),
    (
        "line break in a value",
        "offenders.csv",
        [offender("RSO-000001", team='"NORTH\nEAST"')],
        2,
        "team",
        "must be on one line (a line break inside quotes?)",
    ),
    (
        "unknown visit ref",
        "visits.csv",
        ["V-1,RSO-404404,2026-01-05,completed,home,OM-0001"],
        2,
        "ref",
        "unknown ref 'RSO-404404': not in this extract's offenders.csv or the register",
    ),
    (
        "bad outcome",
        "visits.csv",
        ["V-1,RSO-000001,2026-01-05,attended,home,OM-0001"],
        2,
        "outcome",
        "expected one of completed, no_access, cancelled, got 'attended'",
    ),
    (
        "bad visit type",
        "visits.csv",
        ["V-1,RSO-000001,2026-01-05,completed,phone,OM-0001"],
        2,
        "visit_type",
        "expected one of home, other, got 'phone'",
    ),
    (
        "missing visit date",
        "visits.csv",
        ["V-1,RSO-000001,,completed,home,OM-0001"],
        2,
        "visit_date",
        "required value is missing",
    ),
    (
        "duplicate visit",
        "visits.csv",
        ["V-1,RSO-000001,2026-01-05,completed,home,", "V-1,RSO-000001,2026-01-06,completed,home,"],
        3,
        "visit_id",
        "duplicate visit_id, first seen on line 2",
    ),
    (
        "bad role",
        "officers.csv",
        ["OM-0042,Test Officer,test.officer@police.example,NORTH,constable,true"],
        2,
        "role",
        "expected one of offender_manager, supervisor, lead, got 'constable'",
    ),
    (
        "bad email",
        "officers.csv",
        ["OM-0042,Test Officer,test.officer.police.example,NORTH,lead,true"],
        2,
        "email",
        "expected an email address such as name@police.example",
    ),
    (
        "bad active flag",
        "officers.csv",
        ["OM-0042,Test Officer,test.officer@police.example,NORTH,lead,sometimes"],
        2,
        "active",
        "expected true/false, yes/no, 1/0 or y/n, got 'sometimes'",
    ),
]

HEADERS = {"offenders.csv": OFFENDERS_HEADER, "visits.csv": VISITS_HEADER, "officers.csv": OFFICERS_HEADER}


@pytest.mark.parametrize(
    ("file", "lines", "line", "field", "reason"),
    [case[1:] for case in REJECT_CASES],
    ids=[case[0] for case in REJECT_CASES],
)
def test_each_reject_reason(
    engine: Engine,
    config: Config,
    extract: Path,
    tmp_path: Path,
    file: str,
    lines: list[str],
    line: int,
    field: str | None,
    reason: str,
) -> None:
    if file == "visits.csv":
        seed_offenders(engine, config, tmp_path, ["RSO-000001"])
    write(extract, file, [HEADERS[file], *lines])
    result = run_import(engine, config, extract)
    assert result.rejects[-1] == Reject(file, line, field, reason)
    assert result.counts[file]["rejected"] == 1
    assert result.exit_code == 3


def test_registration_ends_before_registered_on(engine: Engine, config: Config, extract: Path) -> None:
    write(
        extract,
        "offenders.csv",
        [OFFENDERS_HEADER + ",registration_ends", offender("RSO-000001", registered_on="2025-01-10") + ",2024-12-31"],
    )
    assert run_import(engine, config, extract).rejects == [
        Reject("offenders.csv", 2, "registration_ends", "must not be before registered_on (2025-01-10), got 2024-12-31")
    ]


def test_a_row_with_several_problems_is_rejected_once_with_the_first(
    engine: Engine, config: Config, extract: Path
) -> None:
    write(extract, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001", risk_level="x", status="y", team="")])
    result = run_import(engine, config, extract)
    assert [(r.line, r.field) for r in result.rejects] == [(2, "risk_level")]


def test_visit_for_an_offender_rejected_in_this_extract_is_rejected(
    engine: Engine, config: Config, extract: Path
) -> None:
    write(extract, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001", risk_level="severe")])
    write(extract, "visits.csv", [VISITS_HEADER, "V-1,RSO-000001,2026-01-05,completed,home,"])
    result = run_import(engine, config, extract)
    assert where(result) == {("offenders.csv", 2, "risk_level"), ("visits.csv", 2, "ref")}


# --------------------------------------------------------------------------- personal data


PERSONAL_HEADER = OFFENDERS_HEADER + ",surname,forenames,date_of_birth"


def test_reject_reasons_and_logs_never_echo_personal_data(
    engine: Engine, config: Config, extract: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(
        extract,
        "offenders.csv",
        [
            PERSONAL_HEADER,
            offender("RSO-000001") + ",Testperson,Zebedee,31/02/1970",
            offender("RSO-000002") + ",Testperson,Yolanda,born-1970-ish",
            offender("RSO-000003") + ",Testperson" + "q" * 200 + ",Xavier,1970-01-01",
            offender("RSO-000004") + ',Testperson,"Wilhelmina\nSecond",1970-01-01',
        ],
    )
    write(
        extract, "officers.csv", [OFFICERS_HEADER, "OM-0042,Vivienne Testofficer,vivienne-at-police.example,N,lead,1"]
    )
    caplog.set_level(logging.DEBUG)
    result = run_import(engine, config, extract)
    assert where(result) == {
        ("offenders.csv", 2, "date_of_birth"),
        ("offenders.csv", 3, "date_of_birth"),
        ("offenders.csv", 4, "surname"),
        ("offenders.csv", 5, "forenames"),
        ("officers.csv", 2, "email"),
    }
    assert result.rejects[1].reason == (
        "invalid date: expected a date as YYYY-MM-DD or DD/MM/YYYY (a datetime is also accepted)"
    )
    everything = result.reject_report_csv() + "\n".join(result.warnings) + caplog.text
    with reading(engine) as s:
        everything += "\n".join(s.scalars(select(models.ImportReject.reason)))
    for value in ("Testperson", "Zebedee", "Yolanda", "Xavier", "Wilhelmina", "1970", "Vivienne", "vivienne"):
        assert value not in everything


# --------------------------------------------------------------------------- idempotence and updates


def test_reimporting_the_same_extract_changes_nothing(engine: Engine, config: Config) -> None:
    first = run_import(engine, config, MESSY)
    before = snapshot(engine)
    registers_before = {k: v for k, v in before.items() if k != "import_rejects"}
    second = run_import(engine, config, MESSY)

    assert second.import_id != first.import_id
    for name, counts in second.counts.items():
        assert counts["inserted"] == counts["updated"] == 0, name
        assert counts["unchanged"] == first.counts[name]["inserted"]
        assert counts["rejected"] == first.counts[name]["rejected"]
    after = snapshot(engine)
    # Same rows, same updated_at, same import_id: nothing was rewritten.
    assert {k: v for k, v in after.items() if k != "import_rejects"} == registers_before
    assert len(after["import_rejects"]) == 2 * len(before["import_rejects"])


def test_a_later_extract_updates_rows_by_key(engine: Engine, config: Config, extract: Path, tmp_path: Path) -> None:
    write(
        extract,
        "offenders.csv",
        [PERSONAL_HEADER, offender("RSO-000001") + ",Testperson,Alpha,1970-01-01", offender("RSO-000002") + ",,,"],
    )
    write(extract, "visits.csv", [VISITS_HEADER, "V-1,RSO-000001,2026-01-05,no_access,home,OM-0001"])
    write(extract, "officers.csv", [OFFICERS_HEADER, "OM-0001,Test Officer,om1@police.example,NORTH,offender_manager,"])
    first = run_import(engine, config, extract)
    with reading(engine) as s:
        stamp_1 = s.get(models.Offender, "RSO-000001").updated_at  # type: ignore[union-attr]
        stamp_2 = s.get(models.Offender, "RSO-000002").updated_at  # type: ignore[union-attr]

    later = tmp_path / "later"
    # A later extract without the personal-data columns: names are left as they were.
    write(
        later,
        "offenders.csv",
        [OFFENDERS_HEADER, offender("RSO-000001", risk_level="very high", status="custody"), offender("RSO-000002")],
    )
    write(later, "visits.csv", [VISITS_HEADER, "V-1,RSO-000001,2026-01-05,completed,home,OM-0001"])
    write(later, "officers.csv", [OFFICERS_HEADER, "OM-0001,Test Officer,om1@police.example,NORTH,supervisor,no"])
    second = run_import(engine, config, later)

    assert second.counts == {
        "officers.csv": {"inserted": 0, "updated": 1, "unchanged": 0, "rejected": 0},
        "offenders.csv": {"inserted": 0, "updated": 1, "unchanged": 1, "rejected": 0},
        "visits.csv": {"inserted": 0, "updated": 1, "unchanged": 0, "rejected": 0},
    }
    with reading(engine) as s:
        o1 = s.get(models.Offender, "RSO-000001")
        o2 = s.get(models.Offender, "RSO-000002")
        v1 = s.get(models.Visit, "V-1")
        om = s.get(models.Officer, "OM-0001")
    assert o1 is not None and o2 is not None and v1 is not None and om is not None
    assert (o1.risk_level, o1.status) == ("very_high", "custody")
    assert (o1.surname, o1.forenames, o1.date_of_birth) == ("Testperson", "Alpha", date(1970, 1, 1))
    assert o1.import_id == second.import_id and o1.updated_at > stamp_1
    assert o2.import_id == first.import_id and o2.updated_at == stamp_2
    assert v1.outcome == "completed" and v1.import_id == second.import_id
    assert (om.role, om.active) == ("supervisor", False)


def test_blank_optional_cells_clear_values(engine: Engine, config: Config, extract: Path, tmp_path: Path) -> None:
    write(extract, "offenders.csv", [PERSONAL_HEADER, offender("RSO-000001", status_since="2025-02-01") + ",T,A,"])
    run_import(engine, config, extract)
    later = tmp_path / "later"
    write(later, "offenders.csv", [PERSONAL_HEADER, offender("RSO-000001") + ",,,"])
    assert run_import(engine, config, later).counts["offenders.csv"]["updated"] == 1
    with reading(engine) as s:
        row = s.get(models.Offender, "RSO-000001")
    assert row is not None and (row.status_since, row.surname, row.forenames) == (None, None, None)


# --------------------------------------------------------------------------- failures and rollback


def test_failure_midway_leaves_the_register_as_it_was(
    engine: Engine, config: Config, extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_import(engine, config, MESSY)
    before = snapshot(engine)
    write(extract, "officers.csv", [OFFICERS_HEADER, "OM-0100,New Officer,new@police.example,EAST,lead,"])
    write(extract, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001", risk_level="low"), offender("RSO-0777")])
    write(extract, "visits.csv", [VISITS_HEADER, "V-000001,RSO-000001,2026-08-01,completed,home,"])

    original = loading.Loader._import_file
    written: list[str] = []

    def fail_after_offenders(self: Any, session: Any, spec: Any, path: Path, advance: Any) -> dict[str, int]:
        if spec.name == "visits.csv":
            # Offenders and officers are written (flushed) by now; prove it, then fail.
            written.append(
                str(session.scalar(select(models.Offender.risk_level).where(models.Offender.ref == "RSO-000001")))
            )
            raise RuntimeError("simulated crash with RSO-000001 Testperson in the message")
        return original(self, session, spec, path, advance)

    monkeypatch.setattr(loading.Loader, "_import_file", fail_after_offenders)
    with pytest.raises(ImportFailure) as info:
        run_import(engine, config, extract)

    assert written == ["low"]
    assert snapshot(engine) == before
    assert "Testperson" not in str(info.value)
    with reading(engine) as s:
        run = s.get(models.ImportRun, info.value.import_id)
        assert s.scalar(select(func.count()).select_from(models.ImportRun)) == 2
    assert run is not None and run.outcome == "failed" and run.counts == {}
    assert run.error == "unexpected error (RuntimeError); nothing was changed"
    assert run.finished_at is not None


def test_database_error_midway_rolls_back_without_echoing_values(
    engine: Engine, config: Config, extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(engine)
    write(extract, "offenders.csv", [PERSONAL_HEADER, offender("RSO-000001") + ",Testperson,Quentin,1970-01-01"])
    write(extract, "visits.csv", [VISITS_HEADER, "V-1,RSO-000001,2026-08-01,completed,home,"])
    original = loading.Loader._write

    def boom(self: Any, session: Any, spec: Any, rows: Any, counts: Any) -> None:
        original(self, session, spec, rows, counts)
        if spec.name == "visits.csv":
            raise IntegrityError(
                "INSERT INTO offenders ...", {"surname": "Testperson"}, Exception("constraint failed\nDETAIL: Quentin")
            )

    monkeypatch.setattr(loading.Loader, "_write", boom)
    with pytest.raises(ImportFailure) as info:
        run_import(engine, config, extract)
    assert str(info.value) == "database error: constraint failed"
    assert snapshot(engine) == before
    with reading(engine) as s:
        run = s.get(models.ImportRun, info.value.import_id)
    assert run is not None and run.outcome == "failed" and run.error == "database error: constraint failed"


def test_missing_required_column_fails_the_whole_import(engine: Engine, config: Config, extract: Path) -> None:
    write(extract, "officers.csv", [OFFICERS_HEADER, "OM-0100,New Officer,new@police.example,EAST,lead,"])
    write(extract, "visits.csv", ["visit_id,ref,visit_date", "V-1,RSO-000001,2026-08-01"])
    before = snapshot(engine)
    with pytest.raises(ImportFailure) as info:
        run_import(engine, config, extract)
    assert (
        str(info.value)
        == "visits.csv: missing required column 'outcome' (required: visit_id, ref, visit_date, outcome; "
        "the header has: 'visit_id', 'ref', 'visit_date')"
    )
    assert snapshot(engine) == before
    with reading(engine) as s:
        run = s.get(models.ImportRun, info.value.import_id)
    assert run is not None and run.outcome == "failed" and "'outcome'" in (run.error or "")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            (
                VISITS_HEADER
                + '\nV-1,RSO-000001,2026-01-01,completed,"home,\nV-2,RSO-000001,2026-01-02,completed,home,\n'
            ).encode(),
            "visits.csv: malformed CSV: a quote opened in the record starting on line 2 is never closed",
        ),
        (
            ("\ufeff" + VISITS_HEADER + "\n").encode("utf-16"),
            "visits.csv: UTF-16 text; the extract must be UTF-8",
        ),
        (
            (VISITS_HEADER + "\n").encode("utf-16-le"),
            "visits.csv: the header holds NUL characters",
        ),
        (
            b"visit_id,r\xe9f,visit_date,outcome\n",
            "visits.csv: line 1 is not valid UTF-8 text (byte 0xE9): set [import] encoding to the file's",
        ),
        (b"", "visits.csv: empty file (expected a header line with visit_id, ref, visit_date, outcome)"),
        (b"visit_id,ref,Visit_ID,visit_date,outcome\n", "visits.csv: column 'visit_id' appears twice in the header"),
    ],
    ids=["unclosed quote", "utf-16", "utf-16 without bom", "header not utf-8", "empty", "duplicate column"],
)
def test_unreadable_files_fail(
    engine: Engine, config: Config, extract: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    seed_offenders(engine, config, tmp_path, ["RSO-000001"])
    extract.mkdir()
    (extract / "visits.csv").write_bytes(content)
    before = snapshot(engine)
    with pytest.raises(ImportFailure) as info:
        run_import(engine, config, extract)
    assert str(info.value).startswith(message)
    assert snapshot(engine) == before


def test_usage_errors(config: Config, engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ImportUsageError, match="none of the expected files found"):
        run_import(engine, config, tmp_path)
    with pytest.raises(ImportUsageError, match="not a directory"):
        run_import(engine, config, tmp_path / "absent")
    with reading(engine) as s:
        assert s.scalar(select(func.count()).select_from(models.ImportRun)) == 0


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def cli_config(db_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n\n[mail]\nmaildir = "{tmp_path / "outbox"}"\n')
    return path


def invoke(cli_config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(cli_config), "import", *args], catch_exceptions=False)


def test_cli_exit_0_prints_summary(cli_config: Path, extract: Path) -> None:
    write(extract, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001")])
    result = invoke(cli_config, str(extract))
    assert result.exit_code == 0, result.output
    assert "offenders.csv  inserted 1, updated 0, unchanged 0, rejected 0" in result.stdout
    assert "import #1: ok" in result.stdout
    again = invoke(cli_config, str(extract))
    assert again.exit_code == 0 and "unchanged 1" in again.stdout and "import #2: ok" in again.stdout


def test_cli_exit_3_prints_rejects_and_writes_report(cli_config: Path, tmp_path: Path) -> None:
    report = tmp_path / "rejects.csv"
    result = invoke(cli_config, str(MESSY), "--rejects", str(report))
    assert result.exit_code == 3
    assert (
        "rejected: offenders.csv:6: risk_level: expected one of very_high, high, medium, low, got 'severe'"
        in result.stderr
    )
    assert "warning: offenders.csv: ignoring unknown column 'notes'" in result.stderr
    assert "import #1: 13 rows rejected" in result.stdout
    lines = report.read_text().splitlines()
    assert lines[0] == "file,line,field,reason"
    assert 'offenders.csv,8,ref,"duplicate ref, first seen on line 5"' in lines
    assert len(lines) == 14
    assert "Testperson" not in result.output


def test_cli_exit_1_on_failure(cli_config: Path, extract: Path) -> None:
    write(extract, "offenders.csv", ["ref,risk_level", "RSO-000001,high"])
    result = invoke(cli_config, str(extract))
    assert result.exit_code == 1
    assert (
        "import failed, nothing was changed: offenders.csv: missing required columns 'status', 'team'" in result.stderr
    )
    assert "(recorded as import #1)" in result.stderr


def test_cli_exit_2_without_extract_files(cli_config: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke(cli_config, str(tmp_path / "empty"))
    assert result.exit_code == 2
    assert (
        "none of the expected files found "
        "(expected at least one of officers.csv, offenders.csv, visits.csv, absences.csv)" in result.stderr
    )
    assert str(tmp_path / "empty") in result.stderr


# --------------------------------------------------------------------------- bulk behaviour


def test_writes_are_set_based(engine: Engine, config: Config, extract: Path, tmp_path: Path) -> None:
    """12,000 visits take a bounded number of statements: no per-row INSERT, UPDATE or SELECT."""
    n_offenders, n_visits = 300, 12_000
    write(extract, "offenders.csv", [OFFENDERS_HEADER, *(offender(f"RSO-{i:06d}") for i in range(n_offenders))])
    write(
        extract,
        "visits.csv",
        [
            VISITS_HEADER,
            *(
                f"V-{i:07d},RSO-{i % n_offenders:06d},{date(2025, 1 + i % 12, 1 + i % 28).isoformat()},"
                f"{'completed' if i % 3 else 'no_access'},home,OM-0001"
                for i in range(n_visits)
            ),
        ],
    )
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        first = run_import(engine, config, extract)
        first_statements = len(statements)
        statements.clear()
        # Change every third visit: a later extract with updates and unchanged rows.
        lines = (extract / "visits.csv").read_text().splitlines()
        lines = [ln.replace(",home,", ",other,") if i % 3 == 0 else ln for i, ln in enumerate(lines)]
        lines[0] = VISITS_HEADER
        (extract / "visits.csv").write_text("\n".join(lines) + "\n")
        second = run_import(engine, config, extract)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert first.counts["visits.csv"] == {"inserted": n_visits, "updated": 0, "unchanged": 0, "rejected": 0}
    assert second.counts["visits.csv"]["updated"] == n_visits // 3
    assert second.counts["visits.csv"]["unchanged"] == n_visits - n_visits // 3
    # executemany of a chunk counts once (SQLAlchemy may split into a few insertmanyvalues batches).
    assert first_statements < 120, first_statements
    assert len(statements) < 120, len(statements)
    with reading(engine) as s:
        assert s.scalar(select(func.count()).select_from(models.Visit)) == n_visits
        assert s.scalar(select(func.count()).where(models.Visit.visit_type == "other")) == n_visits // 3


def test_sqlite_in_lists_respect_the_bind_limit(
    sqlite_engine: Engine, make_config: Callable[..., Config], extract: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a tiny SQLite variable limit the key lookups are split, and still correct."""
    config = make_config(sqlite_engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr(writing, "_sqlite_variable_limit", lambda session: 60)
    write(extract, "offenders.csv", [OFFENDERS_HEADER, *(offender(f"RSO-{i:06d}") for i in range(500))])
    assert run_import(sqlite_engine, config, extract).counts["offenders.csv"]["inserted"] == 500
    again = run_import(sqlite_engine, config, extract)
    assert again.counts["offenders.csv"]["unchanged"] == 500
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("select count(*) from offenders")).scalar() == 500


def test_reject_report_csv() -> None:
    result = ImportResult(
        import_id=7,
        counts={},
        rejects=[Reject("visits.csv", 3, "outcome", "expected one of a, b, got 'c'"), Reject("x.csv", 4, None, "r")],
    )
    assert result.exit_code == 3
    assert result.reject_report_csv() == (
        "file,line,field,reason\nvisits.csv,3,outcome,\"expected one of a, b, got 'c'\"\nx.csv,4,,r\n"
    )
    assert str(result.rejects[0]) == "visits.csv:3: outcome: expected one of a, b, got 'c'"
    assert ImportResult(import_id=1, counts={}).exit_code == 0


def test_copied_messy_extract_is_independent_of_location(engine: Engine, config: Config, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(MESSY, copy)
    assert where(run_import(engine, config, copy)) == MESSY_REJECTS


def test_progress_bar_runs(engine: Engine, config: Config, extract: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(extract, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001"), offender("RSO-000002")])
    result = import_directory(engine, config, extract, progress=True)
    assert result.counts["offenders.csv"]["inserted"] == 2
    assert "offenders.csv" in capsys.readouterr().err


def test_concurrent_imports_take_turns(engine: Engine, config: Config, extract: Path) -> None:
    """Two imports of the same new extract at once: both succeed, one inserts, one finds it unchanged."""
    import threading

    write(extract, "offenders.csv", [OFFENDERS_HEADER, *(offender(f"RSO-{i:06d}") for i in range(3000))])
    results: list[ImportResult] = []
    errors: list[BaseException] = []

    def go() -> None:
        try:
            results.append(import_directory(engine, config, extract))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    counts = sorted((r.counts["offenders.csv"]["inserted"], r.counts["offenders.csv"]["unchanged"]) for r in results)
    assert counts == [(0, 3000), (3000, 0)]


def test_main_exits_with_the_import_exit_code(db_url: str, cli_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The console entry point (not just CliRunner) exits 3 when rows were rejected."""
    from monitor.cli.app import main

    monkeypatch.setattr("sys.argv", ["visit-monitor", "--config", str(cli_config), "import", str(MESSY)])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 3


# --------------------------------------------------------------------------- planner statistics


def test_postgresql_statistics_are_fresh_after_an_import(db_url: str, config: Config) -> None:
    """Without ANALYZE the scan right after a big import ran ~300x slower on PostgreSQL."""
    if not db_url.startswith("postgresql"):
        # SQLite has no per-table analyse time to observe; the rule is PostgreSQL's only.
        assert db_url.startswith("sqlite")
        return
    engine = make_engine(db_url)
    try:
        run_import(engine, config, MESSY)
        with engine.connect() as conn:
            # reltuples is -1 until a table is first analysed (PostgreSQL 14+), and is
            # written transactionally by ANALYZE (unlike the pg_stat_* views).
            estimated = dict(
                conn.execute(
                    text("SELECT relname, reltuples FROM pg_class WHERE relname IN ('officers', 'offenders', 'visits')")
                ).all()
            )
        assert set(estimated) == {"officers", "offenders", "visits"}
        assert all(rows > 0 for rows in estimated.values()), estimated
    finally:
        engine.dispose()
