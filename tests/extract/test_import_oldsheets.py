""".xls (Excel 97-2003) and .ods (OpenDocument) extracts, read with python-calamine on the .xlsx contract.

Files are written by the libraries other programs use (``tests/sheet_writers.py``: xlwt,
odfpy, and openpyxl for the .xlsx twin) or by hand (what no spreadsheet writes: a text
file named .xls, a cut file, a zip bomb, a cell repeated a billion times). The property:
one register written as .xlsx, .xls and .ods imports to the same rows and the same
rejects. Database tests run on SQLite and PostgreSQL. All data is synthetic.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sheet_writers import WRITERS, Err, rewrite_zip, write_ods, write_xls, write_xlsx
from sqlalchemy import Engine, select
from test_import import snapshot
from test_import_mapping import run, stored

from monitor.core.config import Config
from monitor.extract import cellscan, sheets
from monitor.extract.records import Unreadable
from monitor.extract.sheets import CalamineRows
from monitor.extract.workbook import ERROR_MARK
from monitor.register import models
from monitor.register.db import make_engine, reading, upgrade
from monitor.register.importer import ImportFailure, Reject

HEADER = ["ref", "risk_level", "status", "team", "offender_manager", "registered_on", "no_fixed_abode"]
OLD = [".xls", ".ods"]


@pytest.fixture
def config(engine: Engine, make_config: Callable[..., Config]) -> Config:
    return make_config(engine.url.render_as_string(hide_password=False))


def rows_of(path: Path, sheet: str = "") -> list[tuple[int, list[str], str | None]]:
    records = CalamineRows(path, sheet, label=path.name)
    try:
        return list(records)
    finally:
        records.close()


@pytest.mark.parametrize("suffix", OLD)
def test_cells_read_as_the_contracts_text(tmp_path: Path, suffix: str) -> None:
    path = WRITERS[suffix](
        tmp_path / f"offenders{suffix}",
        {
            "Sheet1": [
                ["ref", "number", "big", "decimal", "date", "datetime", "flag", "error"],
                ["RSO-1", 1234, 12345678901.0, 0.5, date(2025, 3, 5), datetime(2026, 6, 30, 23, 30), True, Err("#N/A")],
                [None] * 8,  # an empty row in the middle: kept, so the importer can count it
                ["RSO-2", 7.0, None, None, datetime(2025, 3, 5), None, False, None],
                [None, None, None],
                [],
            ]
        },
    )
    assert rows_of(path) == [
        (1, ["ref", "number", "big", "decimal", "date", "datetime", "flag", "error"], None),
        (
            2,
            [
                "RSO-1",
                "1234",
                "12345678901",
                "0.5",
                "2025-03-05",
                "2026-06-30T23:30:00",
                "true",
                ERROR_MARK + "#N/A",
            ],
            None,
        ),
        (3, [], None),
        (4, ["RSO-2", "7", "", "", "2025-03-05", "", "false", ""], None),
    ]


@pytest.mark.parametrize("suffix", OLD)
def test_row_numbers_and_error_cells_rejected_by_name(
    engine: Engine, config: Config, tmp_path: Path, suffix: str
) -> None:
    d = tmp_path / "x"
    WRITERS[suffix](
        d / f"offenders{suffix}",
        {
            "Sheet1": [
                [],
                HEADER,  # the header on row 2: rows are numbered as the sheet numbers them
                ["RSO-1", "high", "community", "NORTH", "OM-1", date(2025, 1, 10), "n"],
                [],
                ["RSO-2", "high", "community", "NORTH", "OM-1", Err("#N/A"), "n"],
                ["RSO-3", "high", "community", "NORTH", "OM-1", date(2025, 1, 10), Err("#REF!")],
                ["RSO-4", "high", "community", None, "OM-1", date(2025, 1, 10), "n"],
            ]
        },
    )
    name = f"offenders{suffix}"
    result = run(engine, config, d)
    assert result.rejects == [
        Reject(name, 5, "registered_on", "an Excel error value (#N/A) where a value belongs"),
        Reject(name, 6, "no_fixed_abode", "an Excel error value (#REF!) where a value belongs"),
        Reject(name, 7, "team", "required value is missing"),
    ]
    assert stored(engine, models.Offender, "ref", "registered_on") == [("RSO-1", date(2025, 1, 10))]
    assert f"{name}: skipped 1 blank line" in result.warnings


@pytest.mark.parametrize("suffix", OLD)
def test_a_workbook_with_a_sheet_per_file(
    engine: Engine, make_config: Callable[..., Config], tmp_path: Path, suffix: str
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    config = make_config(url, **{"import": {"workbook": f"Register*{suffix}", "sheets": {"offenders": "nominals"}}})
    d = tmp_path / "x"
    WRITERS[suffix](
        d / f"Register 2025-03{suffix}",
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
    assert stored(engine, models.Offender, "ref") == [("RSO-1",)]


# --------------------------------------------------------------------------- the same register, three formats

_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=10)
_CELL = st.one_of(
    st.none(),
    _TEXT,
    st.sampled_from(["  padded  ", "Siân", "Zoë \u202e", "'quoted'", '"double"', "a,b;c", "=not a formula", "#N/A"]),
    st.integers(-(10**9), 10**9),
    # Decimals as a spreadsheet holds them (Excel keeps 15 significant digits; openpyxl writes fewer).
    st.integers(-(10**9), 10**9).map(lambda n: n / 1000),
    st.booleans(),
    st.sampled_from([Err("#N/A"), Err("#DIV/0!")]),
)
_DAY = st.one_of(
    st.none(),
    st.dates(date(1950, 1, 1), date(2030, 12, 31)),
    st.datetimes(datetime(1950, 1, 1), datetime(2030, 12, 31)).map(lambda d: d.replace(microsecond=0)),
    st.sampled_from(["05/03/2025", "2025-03-05", "not a date", "31/02/2025"]),
)
_ROW = st.tuples(
    st.sampled_from(["very_high", "high", "medium", "low", "H", "severe", None]),
    st.sampled_from(["community", "custody", "Community", "gone", None]),
    _CELL,
    _CELL,
    _DAY,
    st.sampled_from([True, False, None, "y", "N", "maybe"]),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "monitor.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _register(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with reading(engine) as session:
            table = models.Offender.__table__
            columns = [c for c in table.columns if c.name not in ("import_id", "updated_at")]
            return [tuple(r) for r in session.execute(select(*columns).order_by(table.c.ref))]
    finally:
        engine.dispose()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking three imports an example takes minutes
)
@given(rows=st.lists(_ROW, min_size=1, max_size=12), blank_after=st.integers(0, 12))
def test_one_register_as_xlsx_xls_and_ods_imports_the_same(
    tmp_path_factory: pytest.TempPathFactory,
    make_config: Callable[..., Config],
    template: Path,
    rows: list[tuple[Any, ...]],
    blank_after: int,
) -> None:
    cells: list[list[Any]] = [HEADER]
    for n, row in enumerate(rows, start=1):
        cells.append([f"RSO-{n}", *row])
        if n == blank_after:
            cells.append([])
    outcomes = {}
    root = tmp_path_factory.mktemp("same")
    for suffix, write in WRITERS.items():
        write(root / suffix.strip(".") / f"offenders{suffix}", {"Register": cells})
        db = root / f"{suffix.strip('.')}.db"
        shutil.copyfile(template, db)
        url = f"sqlite:///{db}"
        engine = make_engine(url)
        try:
            result = run(engine, make_config(url), root / suffix.strip("."))
        finally:
            engine.dispose()
        rejects = [(r.line, r.field, r.reason) for r in result.rejects]
        counts = list(result.counts.values())
        outcomes[suffix] = (_register(url), rejects, counts, [w.replace(suffix, "") for w in result.warnings])
    assert outcomes[".xls"] == outcomes[".xlsx"]
    assert outcomes[".ods"] == outcomes[".xlsx"]


# --------------------------------------------------------------------------- hostile files


def _text_file(path: Path) -> None:
    path.write_bytes(b"ref,risk_level\nRSO-1,high\n")


def _cut(path: Path) -> None:
    full = WRITERS[path.suffix](path, {"Sheet1": [HEADER] + [["RSO-1", "high"]] * 400})
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _really_xlsx(path: Path) -> None:
    shutil.move(write_xlsx(path.with_suffix(".xlsx"), {"Sheet1": [HEADER]}), path)


def _ods_bomb(path: Path) -> None:
    write_ods(path, {"Sheet1": [HEADER]})
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    rewrite_zip(path, {**parts, "content.xml": b" " * (80 << 20)})


def _repeated_cells(path: Path) -> None:
    """A few hundred bytes claiming a billion cells: calamine would try to hold them all."""
    write_ods(path, {"Sheet1": [HEADER]})
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    row = (
        '<table:table-row table:number-rows-repeated="1000000">'
        '<table:table-cell table:number-columns-repeated="1000" office:value-type="float" office:value="1"/>'
        "</table:table-row></table:table>"
    )
    parts["content.xml"] = parts["content.xml"].replace(b"</table:table>", row.encode(), 1)
    rewrite_zip(path, parts)


def _corner_cells(path: Path) -> None:
    """Two cells at opposite corners of each of three sheets: 50 million cells to calamine."""
    import xlwt

    book = xlwt.Workbook()
    for n in range(3):
        ws = book.add_sheet(f"S{n}" if n else "offenders")
        ws.write(0, 0, "ref")
        ws.write(65535, 255, 1)
    book.save(str(path))


def _encrypted_ods(path: Path) -> None:
    write_ods(path, {"Sheet1": [HEADER]})
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["META-INF/manifest.xml"] = parts["META-INF/manifest.xml"].replace(
        b"</manifest:manifest>", b"<manifest:encryption-data/></manifest:manifest>"
    )
    rewrite_zip(path, parts)


def _encrypted_xls(path: Path) -> None:
    """An Excel 2007+ file saved with a password is a compound file holding 'EncryptedPackage'."""
    write_xls(path, {"Sheet1": [HEADER]})
    data = bytearray(path.read_bytes())
    at = data.index("Workbook".encode("utf-16-le"))
    name = "EncryptedPackage".encode("utf-16-le") + b"\x00\x00"
    data[at : at + len(name)] = name
    data[at + 64 : at + 66] = len(name).to_bytes(2, "little")
    path.write_bytes(bytes(data))


def _filepass_xls(path: Path) -> None:
    """A BIFF workbook encrypted with a password: a FILEPASS record among its globals."""
    write_xls(path, {"Sheet1": [HEADER]})
    data = bytearray(path.read_bytes())
    at = data.index(b"\x19\x00\x02\x00")  # WINDOWPROTECT, two bytes: the same length
    data[at : at + 2] = b"\x2f\x00"
    path.write_bytes(bytes(data))


def _two_sheets(path: Path) -> None:
    WRITERS[path.suffix](path, {"A": [["x"]], "B": [["y"]]})


def _one_sheet(path: Path) -> None:
    WRITERS[path.suffix](path, {"A": [["x"]]})


@pytest.mark.parametrize(
    ("suffix", "write", "settings", "message"),
    [
        (".xls", _text_file, {}, "not an .xls workbook (Excel 97-2003)"),
        (".ods", _text_file, {}, "not an .ods spreadsheet (not a zip file)"),
        (".xls", _cut, {}, "not a readable .xls workbook (damaged or cut short)"),
        (".ods", _cut, {}, "not an .ods spreadsheet (not a zip file)"),
        (".xls", _really_xlsx, {}, "not an .xls workbook (Excel 97-2003)"),
        (".ods", _really_xlsx, {}, "not an .ods spreadsheet (OpenDocument)"),
        (".ods", _ods_bomb, {}, "a zip bomb?"),
        (".ods", _repeated_cells, {}, "more than the 2,000,000 read from .ods files: save it as .xlsx or as CSV"),
        (".xls", _corner_cells, {}, "more than the 2,000,000 read from .xls files: save it as .xlsx or as CSV"),
        (".ods", _encrypted_ods, {}, "is password-protected"),
        (".xls", _encrypted_xls, {}, "is password-protected"),
        (".xls", _filepass_xls, {}, "is password-protected"),
        (".xls", _two_sheets, {}, "has 2 sheets ('A', 'B'): name the offenders sheet"),
        (".ods", _one_sheet, {"sheets": {"offenders": "Nominals"}}, "has no sheet 'Nominals'"),
        (".xls", _one_sheet, {"sheets": {"offenders": "Nominals"}}, "has no sheet 'Nominals'"),
    ],
    ids=[
        "text named xls",
        "text named ods",
        "cut xls",
        "cut ods",
        "xlsx named xls",
        "xlsx named ods",
        "ods zip bomb",
        "ods repeated cells",
        "xls corner cells",
        "encrypted ods",
        "encrypted xlsx named xls",
        "xls filepass",
        "xls sheets unnamed",
        "ods sheet missing",
        "xls sheet missing",
    ],
)
def test_hostile_files_fail_in_one_line(
    engine: Engine,
    make_config: Callable[..., Config],
    tmp_path: Path,
    suffix: str,
    write: Callable[[Path], Any],
    settings: dict[str, Any],
    message: str,
) -> None:
    config = make_config(engine.url.render_as_string(hide_password=False), **{"import": settings})
    first, d = tmp_path / "first", tmp_path / "x"
    first.mkdir()
    d.mkdir()
    # Something in the register first: a refused file must leave it as it was.
    write_xlsx(
        first / "offenders.xlsx", {"Nominals": [HEADER, ["RSO-1", "high", "community", "N", "OM-1", date(2025, 1, 10)]]}
    )
    assert run(engine, config, first).rejects == []
    write(d / f"offenders{suffix}")
    before = snapshot(engine)
    with pytest.raises(ImportFailure) as info:
        run(engine, config, d)
    assert message in str(info.value) and "\n" not in str(info.value), str(info.value)
    assert str(info.value).startswith(f"offenders{suffix}")
    assert snapshot(engine) == before


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheets, "MAX_FILE", 1 << 20)
    path = write_ods(tmp_path / "offenders.ods", {"Sheet1": [HEADER]})
    with zipfile.ZipFile(path, "a") as z:  # a picture, say: stored as it is
        z.writestr("Thumbnails/padding.bin", os.urandom(4 << 20), compress_type=zipfile.ZIP_STORED)
    with pytest.raises(Unreadable, match=r"^offenders\.ods: is 4 MB, more than the 1 MB read from \.ods files: save"):
        rows_of(path)


def test_the_cell_limit_counts_used_areas_not_file_bytes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A register within the limit reads; the same one with the limit below it does not."""
    cells = {"Sheet1": [HEADER] + [[f"RSO-{n}", "high"] for n in range(50)]}
    for suffix in OLD:
        path = WRITERS[suffix](tmp_path / f"offenders{suffix}", cells)
        assert len(rows_of(path)) == 51
        monkeypatch.setattr(cellscan, "MAX_CELLS", 51 * 7 - 1)
        with pytest.raises(Unreadable, match="holds 357 used cells, more than the 356 read"):
            rows_of(path)
        monkeypatch.undo()


@pytest.mark.parametrize("suffix", OLD)
def test_a_sheet_starting_below_and_right_keeps_its_places(tmp_path: Path, suffix: str) -> None:
    """Rows and columns before the first value still count (an error cell left of the data too)."""
    path = WRITERS[suffix](
        tmp_path / f"offenders{suffix}",
        {"S": [[], [], [None, None, "ref", "x"], [None, None, "RSO-1", Err("#N/A")], [None, Err("#REF!")]]},
    )
    assert rows_of(path) == [
        (1, [], None),
        (2, [], None),
        (3, ["", "", "ref", "x"], None),
        (4, ["", "", "RSO-1", ERROR_MARK + "#N/A"], None),
        (5, ["", ERROR_MARK + "#REF!", "", ""], None),
    ]


def test_ods_merged_cells_and_header_rows_keep_error_places(tmp_path: Path) -> None:
    """Covered cells take their columns, header rows their rows: an error cell after them stays put."""
    path = write_ods(tmp_path / "offenders.ods", {"S": [["x"]]})
    error = (
        '<table:table-cell table:formula="of:=NA()" office:value-type="string" office:string-value=""'
        ' calcext:value-type="error"><text:p>#N/A</text:p></table:table-cell>'
    )

    def text(t: str) -> str:
        return f'<table:table-cell office:value-type="string"><text:p>{t}</text:p></table:table-cell>'

    table = (
        '<table:table table:name="S"><table:table-header-rows><table:table-row>'
        + "".join(text(t) for t in ("ref", "a", "b", "c"))
        + "</table:table-row></table:table-header-rows><table:table-row>"
        + '<table:table-cell table:number-columns-spanned="2" table:number-rows-spanned="2" office:value-type="string">'
        + "<text:p>M</text:p></table:table-cell><table:covered-table-cell/>"
        + error
        + text("z")
        + '</table:table-row><table:table-row><table:covered-table-cell table:number-columns-repeated="2"/>'
        + text("y")
        + error
        + "</table:table-row></table:table>"
    )
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["content.xml"].decode()
    start, end = xml.index("<table:table "), xml.index("</table:table>") + len("</table:table>")
    xml = xml[:start] + table + xml[end:]
    calcext = 'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" '
    parts["content.xml"] = xml.replace("<office:document-content ", "<office:document-content " + calcext, 1).encode()
    rewrite_zip(path, parts)
    assert rows_of(path) == [
        (1, ["ref", "a", "b", "c"], None),
        (2, ["M", "", ERROR_MARK + "#N/A", "z"], None),
        (3, ["", "", "y", ERROR_MARK + "#N/A"], None),
    ]
