"""Issue 21: .xlsx workbooks, read streaming: cells as the contract's text, hostile files refused in one line.

Workbooks are written here with openpyxl (the cells a spreadsheet holds: date cells, whole
numbers, booleans, formulas, errors, merged cells) or by hand as zips (what no spreadsheet
writes: not a zip, a bomb, a sheet claiming a million rows). Every database test runs on
SQLite and PostgreSQL. All data is synthetic.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine
from test_import import snapshot
from test_import_mapping import run, stored

from monitor.core.config import Config
from monitor.extract.records import Unreadable
from monitor.extract.workbook import SheetRows
from monitor.register import models
from monitor.register.importer import ImportFailure, Reject

HEADER = ["ref", "risk_level", "status", "team", "offender_manager", "registered_on", "no_fixed_abode"]


@pytest.fixture
def config(engine: Engine, make_config: Callable[..., Config]) -> Config:
    return make_config(engine.url.render_as_string(hide_password=False))


def book(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def rows_of(path: Path, sheet: str = "") -> list[tuple[int, list[str], str | None]]:
    records = SheetRows(path, sheet, label=path.name)
    try:
        return list(records)
    finally:
        records.close()


def test_cells_read_as_the_contracts_text(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["ref", "number", "big", "decimal", "date", "datetime", "flag", "formula"])
    ws.append(["RSO-1", 1234, 12345678901.0, 0.5, date(2025, 3, 5), datetime(2026, 6, 30, 23, 30), True, "=1+1"])
    ws.append([None] * 8)  # an empty row in the middle: kept, so the importer can count it
    ws.append(["RSO-2", 7.0, None, None, datetime(2025, 3, 5), None, False, None])
    ws["A7"] = None  # formatted, empty rows at the end are not rows
    ws.row_dimensions[9].height = 30
    path = tmp_path / "offenders.xlsx"
    wb.save(path)
    assert rows_of(path) == [
        (1, ["ref", "number", "big", "decimal", "date", "datetime", "flag", "formula"], None),
        (2, ["RSO-1", "1234", "12345678901", "0.5", "2025-03-05", "2026-06-30T23:30:00", "true", ""], None),
        (3, [], None),
        (4, ["RSO-2", "7", "", "", "2025-03-05", "", "false", ""], None),
    ]


def test_sheet_row_numbers_errors_and_merged_cells_in_rejects(engine: Engine, config: Config, tmp_path: Path) -> None:
    d = tmp_path / "x"
    path = book(
        d / "offenders.xlsx",
        {
            "Sheet1": [
                [],
                HEADER,  # the header on row 2: rows are numbered as Excel numbers them
                ["RSO-1", "high", "community", "NORTH", "OM-1", date(2025, 1, 10), "n"],
                [],
                ["RSO-2", "high", "community", "NORTH", "OM-1", "#N/A", "n"],
                ["RSO-3", "high", "community", None, "OM-1", date(2025, 1, 10), "n"],
                ["RSO-4", "high", "community", "SOUTH", "OM-1", date(2025, 1, 10), "n"],
            ]
        },
    )
    # An error cell Excel computed (type e), and a merge hiding the cells under its first one.
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws["F5"].value = "#N/A"
    ws["F5"].data_type = "e"
    ws.merge_cells("D6:D7")
    wb.save(path)
    result = run(engine, config, d)
    assert result.rejects == [
        Reject("offenders.xlsx", 5, "registered_on", "an Excel error value (#N/A) where a value belongs"),
        Reject("offenders.xlsx", 6, "team", "required value is missing"),
        Reject("offenders.xlsx", 7, "team", "required value is missing"),
    ]
    assert stored(engine, models.Offender, "ref", "registered_on") == [("RSO-1", date(2025, 1, 10))]
    assert "offenders.xlsx: skipped 1 blank line" in result.warnings


def test_a_workbook_with_a_sheet_per_file(engine: Engine, make_config: Callable[..., Config], tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    config = make_config(url, **{"import": {"workbook": "Register*.xlsx", "sheets": {"offenders": "Nominals"}}})
    d = tmp_path / "x"
    book(
        d / "Register 2025-03.xlsx",
        {
            "Summary": [["not read"]],
            "Nominals": [HEADER, ["RSO-1", "high", "community", "NORTH", "OM-1", date(2025, 1, 10), None]],
            "VISITS": [
                ["visit_id", "ref", "visit_date", "outcome"],
                [101, "RSO-1", datetime(2025, 2, 1, 14, 5), "completed"],
            ],
        },
    )
    result = run(engine, config, d)
    assert result.rejects == []
    assert stored(engine, models.Visit, "visit_id", "visit_date") == [("101", date(2025, 2, 1))]


@pytest.mark.parametrize(
    ("write", "settings", "message"),
    [
        (lambda p: p.write_bytes(b"ref,risk_level\n"), {}, "not an .xlsx workbook (not a zip file)"),
        (lambda p: p.write_bytes(b"PK\x03\x04 cut short"), {}, "not an .xlsx workbook (not a zip file)"),
        (lambda p: _zip(p, {"hello.txt": b"x"}), {}, "not a readable .xlsx workbook"),
        (lambda p: _zip(p, {"xl/worksheets/sheet1.xml": b"<" * (80 << 20)}), {}, "a zip bomb?"),
        (lambda p: book(p, {"A": [["x"]], "B": [["y"]]}), {}, "has 2 sheets ('A', 'B'): name the offenders sheet"),
        (lambda p: book(p, {"A": [["x"]]}), {"sheets": {"offenders": "Nominals"}}, "has no sheet 'Nominals'"),
    ],
    ids=["csv named xlsx", "cut zip", "zip not a workbook", "zip bomb", "sheets unnamed", "sheet missing"],
)
def test_hostile_workbooks_fail_in_one_line(
    engine: Engine,
    make_config: Callable[..., Config],
    tmp_path: Path,
    write: Callable[[Path], Any],
    settings: dict[str, Any],
    message: str,
) -> None:
    config = make_config(engine.url.render_as_string(hide_password=False), **{"import": settings})
    d = tmp_path / "x"
    d.mkdir()
    write(d / "offenders.xlsx")
    before = snapshot(engine)
    with pytest.raises(ImportFailure) as info:
        run(engine, config, d)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith("offenders.xlsx")
    assert snapshot(engine) == before


def _zip(path: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_a_sheet_claiming_a_million_rows_is_read_as_stored(tmp_path: Path) -> None:
    """A dimension of A1:XFD1048576 (hand-edited or hostile) costs nothing: rows are read as stored."""
    path = book(tmp_path / "offenders.xlsx", {"Sheet1": [["ref"], ["RSO-1"]]})
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/sheet"))
    xml = parts[sheet].decode()
    first = min(xml.find(tag) for tag in ("<sheetViews", "<sheetFormatPr", "<cols", "<sheetData") if tag in xml)
    xml = xml[:first] + '<dimension ref="A1:XFD1048576"/>' + xml[first:]
    assert "XFD1048576" in xml
    parts[sheet] = xml.encode()
    _zip(path, parts)
    assert rows_of(path) == [(1, ["ref"], None), (2, ["RSO-1"], None)]


def test_xml_damage_part_way_is_one_line(tmp_path: Path) -> None:
    path = book(tmp_path / "offenders.xlsx", {"Sheet1": [["ref"], ["RSO-1"], ["RSO-2"]]})
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/sheet"))
    parts[sheet] = parts[sheet].replace(b'<row r="3"', b'<row r="3"<<<')
    _zip(path, parts)
    with pytest.raises(Unreadable, match=r"offenders\.xlsx: sheet 'Sheet1' cannot be read after row 2"):
        rows_of(path)
