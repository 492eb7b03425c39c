"""Issue 21: the force's headers, codes, dates, encodings and file names, mapped by configuration.

Every database test runs on SQLite and PostgreSQL. All data is synthetic.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from test_import import OFFENDERS_HEADER, VISITS_HEADER, offender, snapshot, write

from monitor.core.config import Config, ConfigError
from monitor.register import models
from monitor.register.db import reading
from monitor.register.importer import ImportFailure, ImportResult, ImportUsageError, Reject, import_directory


@pytest.fixture
def mapped(engine: Engine, make_config: Callable[..., Config]) -> Callable[..., Config]:
    """A config for ``engine`` with these ``[import]`` settings."""

    def _make(**settings: Any) -> Config:
        return make_config(engine.url.render_as_string(hide_password=False), **{"import": settings})

    return _make


def run(engine: Engine, config: Config, directory: Path, **kw: Any) -> ImportResult:
    return import_directory(engine, config, directory, **kw)


def stored(engine: Engine, model: Any, *columns: str) -> list[tuple[Any, ...]]:
    with reading(engine) as s:
        table = model.__table__
        return [tuple(r) for r in s.execute(select(*(table.c[c] for c in columns)).order_by(*table.primary_key))]


FORCE_HEADER = "Nominal Ref,Risk,Status,Team,OM,Registered"
RISK_CODES = {"VH": "very_high", "H": "high", "M": "medium", "L": "low"}


# --------------------------------------------------------------------------- columns


def test_headers_and_codes_map_onto_the_contract(engine: Engine, mapped: Callable[..., Config], tmp_path: Path) -> None:
    config = mapped(
        columns={
            "offenders": {
                "ref": "Nominal Ref",
                "risk_level": ["Risk Level (RM2000)", "Risk"],
                "offender_manager": "OM",
                "registered_on": "Registered",
            }
        },
        values={"risk_level": RISK_CODES},
    )
    d = tmp_path / "x"
    write(
        d,
        "offenders.csv",
        [
            FORCE_HEADER + ",Notes",
            "RSO-000001,VH,community,NORTH,OM-0001,2025-01-10,",
            "RSO-000002, vh ,community,NORTH,OM-0001,2025-01-10,",  # codes: case and spaces forgiven
            "RSO-000003,Very High,community,NORTH,OM-0001,2025-01-10,",  # the contract's own spelling still reads
            "RSO-000004,severe,community,NORTH,OM-0001,2025-01-10,",
        ],
    )
    result = run(engine, config, d)
    assert result.rejects == [
        Reject(
            "offenders.csv",
            5,
            "risk_level",
            "expected one of very_high, high, medium, low, got 'severe'; [import.values.risk_level] maps VH, H, M, L",
        )
    ]
    assert stored(engine, models.Offender, "ref", "risk_level") == [
        ("RSO-000001", "very_high"),
        ("RSO-000002", "very_high"),
        ("RSO-000003", "very_high"),
    ]
    assert "offenders.csv: ignoring unknown column 'notes'" in result.warnings


def test_a_mapped_field_is_looked_for_only_under_its_headers(
    engine: Engine, mapped: Callable[..., Config], tmp_path: Path
) -> None:
    """Mapped, ``ref`` is not taken from a column called "ref": the mapping said where it is."""
    config = mapped(columns={"offenders": {"ref": ["Nominal Ref", "Case Ref"], "team": "Unit"}})
    d = tmp_path / "x"
    write(d, "offenders.csv", ["ref,risk_level,status,team,offender_manager,registered_on", offender("RSO-1")])
    before = snapshot(engine)
    with pytest.raises(ImportFailure) as info:
        run(engine, config, d)
    assert str(info.value) == (
        'offenders.csv: missing required columns \'ref\' (mapped to "Nominal Ref" or "Case Ref" in '
        "[import.columns.offenders]), 'team' (mapped to \"Unit\" in [import.columns.offenders]) (required: ref, "
        "risk_level, status, team, offender_manager, registered_on; the header has: 'ref', 'risk_level', 'status', "
        "'team', 'offender_manager', 'registered_on')"
    )
    assert snapshot(engine) == before


def test_the_first_candidate_header_present_wins(engine: Engine, mapped: Callable[..., Config], tmp_path: Path) -> None:
    config = mapped(columns={"offenders": {"team": ["Unit", "Sector"]}})
    d = tmp_path / "x"
    write(d, "offenders.csv", ["ref,risk_level,status,Sector,Unit,offender_manager,registered_on",
                               "RSO-1,high,community,S1,U1,OM-1,2025-01-10"])  # fmt: skip
    result = run(engine, config, d)
    assert stored(engine, models.Offender, "team") == [("U1",)]
    assert "offenders.csv: ignoring unknown column 'sector'" in result.warnings


def test_one_column_cannot_be_two_fields(engine: Engine, mapped: Callable[..., Config], tmp_path: Path) -> None:
    config = mapped(columns={"offenders": {"offender_manager": "Team"}})
    d = tmp_path / "x"
    write(d, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-1")])
    with pytest.raises(ImportFailure, match=r"the column 'team' would be both team and offender_manager"):
        run(engine, config, d)


@pytest.mark.parametrize(
    ("settings", "key", "expected"),
    [
        ({"columns": {"offenderz": {"ref": "X"}}}, "import.columns.offenderz", "did you mean offenders?"),
        ({"columns": {"offenders": {"risk_levle": "X"}}}, "import.columns.offenders.risk_levle", "did you mean"),
        ({"values": {"risk_levle": {"VH": "very_high"}}}, "import.values.risk_levle", "did you mean risk_level?"),
        ({"values": {"risk_level": {"VH": "very_hihg"}}}, "import.values.risk_level.VH", "did you mean very_high?"),
        ({"values": {"no_fixed_abode": {"Y": "yes please"}}}, "import.values.no_fixed_abode.Y", '"true" or "false"'),
        ({"values": {"ref": {"A": "B"}}}, "import.values.ref", "ref is a key"),
        ({"values": {"surname": {"A": "B"}}}, "import.values.surname", "surname is personal data"),
        ({"files": {"nominals": "N*.csv"}}, "import.files.nominals", "one of the extract's files"),
        ({"sheets": {"vistis": "Visits"}}, "import.sheets.vistis", "did you mean visits?"),
    ],
)
def test_a_mapping_the_contract_does_not_know_stops_before_reading(
    engine: Engine, mapped: Callable[..., Config], tmp_path: Path, settings: dict[str, Any], key: str, expected: str
) -> None:
    config = mapped(**settings)
    d = tmp_path / "x"
    write(d, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-1")])
    with pytest.raises(ConfigError) as info:
        run(engine, config, d)
    assert info.value.key == key and expected in str(info.value)
    with reading(engine) as s:
        assert s.scalars(select(models.ImportRun)).all() == []


# --------------------------------------------------------------------------- dates and encodings


def test_the_forces_date_forms_and_datetimes(engine: Engine, mapped: Callable[..., Config], tmp_path: Path) -> None:
    config = mapped(date_formats=["%d-%b-%Y", "%d-%b-%Y %H:%M"])
    d = tmp_path / "x"
    write(d, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-1", registered_on="05-MAR-2025")])
    write(
        d,
        "visits.csv",
        [
            VISITS_HEADER,
            "V-1,RSO-1,05-Mar-2025,completed,home,",
            "V-2,RSO-1,30-JUN-2026 23:30,completed,home,",  # London time
            "V-3,RSO-1,2025-03-06,completed,home,",  # the contract's forms still read
            "V-4,RSO-1,03/05/2025,completed,home,",  # day first: 3 May
            "V-5,RSO-1,05-Mxr-2025,completed,home,",
        ],
    )
    result = run(engine, config, d)
    assert [(r.line, r.field, r.reason) for r in result.rejects] == [
        (
            6,
            "visit_date",
            "expected a date as 05-Mar-2025, 05-Mar-2025 14:30, YYYY-MM-DD or DD/MM/YYYY (a datetime is also "
            "accepted), got '05-Mxr-2025'",
        )
    ]
    rows = stored(engine, models.Visit, "visit_id", "visit_date", "visited_at")
    assert [(v, day.isoformat(), at and at.isoformat()) for v, day, at in rows] == [
        ("V-1", "2025-03-05", None),
        ("V-2", "2026-06-30", "2026-06-30T22:30:00+00:00"),
        ("V-3", "2025-03-06", None),
        ("V-4", "2025-05-03", None),
    ]


def _latin_register(d: Path, encoding: str, *, bom: bool = False) -> None:
    d.mkdir(parents=True, exist_ok=True)
    text = OFFENDERS_HEADER + ",surname,forenames\n" + offender("RSO-1") + ",Testperson,Siân Zoë\n"
    (d / "offenders.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))


def test_cp1252_declared_reads_names_right(engine: Engine, mapped: Callable[..., Config], tmp_path: Path) -> None:
    _latin_register(tmp_path / "x", "cp1252")
    result = run(engine, mapped(encoding="cp1252"), tmp_path / "x")
    assert result.rejects == [] and result.warnings == []
    assert stored(engine, models.Offender, "forenames") == [("Siân Zoë",)]


def test_a_utf8_bom_is_believed_over_the_declared_encoding(
    engine: Engine, mapped: Callable[..., Config], tmp_path: Path
) -> None:
    _latin_register(tmp_path / "x", "utf-8", bom=True)
    run(engine, mapped(encoding="cp1252"), tmp_path / "x")
    assert stored(engine, models.Offender, "forenames") == [("Siân Zoë",)]


def test_utf8_read_as_cp1252_is_warned_about(engine: Engine, mapped: Callable[..., Config], tmp_path: Path) -> None:
    _latin_register(tmp_path / "x", "utf-8")
    result = run(engine, mapped(encoding="cp1252"), tmp_path / "x")
    assert stored(engine, models.Offender, "forenames") == [("SiÃ¢n ZoÃ«",)]
    assert result.warnings == [
        "offenders.csv: read as cp1252, but all 1 lines with accented letters are valid UTF-8: if names look "
        'wrong (SiÃ¢n for Siân), set [import] encoding = "utf-8"'
    ]


# --------------------------------------------------------------------------- file names


def test_the_newest_file_matching_a_pattern_is_read(
    engine: Engine, mapped: Callable[..., Config], tmp_path: Path
) -> None:
    d = tmp_path / "x"
    old = write(d, "RSO_Nominals_20250101.csv", [OFFENDERS_HEADER, offender("RSO-OLD")])
    os.utime(old, (1_700_000_000, 1_700_000_000))
    write(d, "RSO_Nominals_20250301.csv", [OFFENDERS_HEADER, offender("RSO-NEW")])
    write(d, "~$RSO_Nominals_20250401.csv", ["not a register"])  # Excel's lock file
    result = run(engine, mapped(files={"offenders": "rso_nominals_*.CSV"}), d)
    assert stored(engine, models.Offender, "ref") == [("RSO-NEW",)]
    assert result.counts == {"offenders.csv": {"inserted": 1, "updated": 0, "unchanged": 0, "rejected": 0}}


@pytest.mark.parametrize(
    ("files", "names", "message"),
    [
        ({"offenders": "RSO_*.csv", "visits": "RSO_Visits*.csv"}, ["RSO_Visits_1.csv"], "matches the names of both"),
        ({}, ["offenders.csv", "Offenders.xlsx"], "both Offenders.xlsx and offenders.csv present; keep one"),
        ({}, ["notes.csv"], "none of the expected files found"),
    ],
)
def test_names_that_could_mean_two_files_stop_before_reading(
    engine: Engine, mapped: Callable[..., Config], tmp_path: Path, files: dict[str, str], names: list[str], message: str
) -> None:
    d = tmp_path / "x"
    for name in names:
        write(d, name, [OFFENDERS_HEADER])
    with pytest.raises(ImportUsageError, match=message):
        run(engine, mapped(files=files), d)


def test_old_excel_files_are_refused_with_what_to_do(
    engine: Engine, mapped: Callable[..., Config], tmp_path: Path
) -> None:
    d = tmp_path / "x"
    write(d, "Nominals.xlsb", ["binary"])
    with pytest.raises(ImportFailure, match=r"Nominals\.xlsb: Excel binary files are not read; save it as \.xlsx"):
        run(engine, mapped(files={"offenders": "Nominals.*"}), d)
    (d / "Nominals.xlsb").rename(d / "Nominals.xls")  # read since .xls is: but this one is not one
    with pytest.raises(ImportFailure, match=r"Nominals\.xls: not an \.xls workbook \(Excel 97-2003\); save it"):
        run(engine, mapped(files={"offenders": "Nominals.*"}), d)


def test_the_drop_folder_knows_the_forces_file_names(tmp_path: Path) -> None:
    from monitor.core.import_settings import ImportSettings
    from monitor.daemon.jobs import pending_extracts

    drop = tmp_path / "drop"
    write(drop / "a-contract", "offenders.csv", [OFFENDERS_HEADER])
    write(drop / "b-force", "RSO_Nominals_20250301.csv", [OFFENDERS_HEADER])
    write(drop / "c-workbook", "RSO Register 2025-03.xlsx", ["not read here"])
    write(drop / "d-nothing-yet", "notes.txt", ["still arriving"])
    assert [p.name for p in pending_extracts(drop)] == ["a-contract"]
    settings = ImportSettings(files={"offenders": ("RSO_Nominals_*.csv",)}, workbook="RSO Register*.xlsx")
    # Named by the force, offenders are its files: a bare offenders.csv is no longer one.
    assert [p.name for p in pending_extracts(drop, settings)] == ["b-force", "c-workbook"]
