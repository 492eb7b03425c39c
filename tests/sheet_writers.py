"""Writing the same cells as .xlsx (openpyxl), .xls (xlwt) and .ods (odfpy), for the tests alone.

Each writer takes ``{sheet name: rows}``, a row a list of Python values: ``None`` (no cell),
``str``, ``int``, ``float``, ``bool``, ``date``, ``datetime``, or :class:`Err` (an error
cell, as Excel or LibreOffice stores a formula's error result). The files are real ones,
written by the libraries other programs use, except an .ods error cell, which odfpy's
grammar does not know: it is LibreOffice's own markup, added to odfpy's XML.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

Sheets = dict[str, list[list[Any]]]


class Err(str):
    """An error cell holding this code ("#N/A")."""


#: BIFF's error codes (xlwt's own table lacks #N/A).
XLS_ERRORS = {
    "#NULL!": 0x00,
    "#DIV/0!": 0x07,
    "#VALUE!": 0x0F,
    "#REF!": 0x17,
    "#NAME?": 0x1D,
    "#NUM!": 0x24,
    "#N/A": 0x2A,
}


def write_xlsx(path: Path, sheets: Sheets) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(r, c, str(value) if isinstance(value, Err) else value)
                if isinstance(value, Err):
                    cell.data_type = "e"
                elif isinstance(value, str):  # as the others write it: openpyxl makes "=1" a formula, "#N/A" an error
                    cell.data_type = "s"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def write_xls(path: Path, sheets: Sheets) -> Path:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    day = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    moment = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS")
    for name, rows in sheets.items():
        ws = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, Err):
                    ws.row(r).set_cell_error(c, XLS_ERRORS[str(value)])
                elif isinstance(value, datetime):
                    ws.write(r, c, value, moment)
                elif isinstance(value, date):
                    ws.write(r, c, value, day)
                else:
                    ws.write(r, c, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(str(path))
    return path


_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"


def write_ods(path: Path, sheets: Sheets) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    errors = 0
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            tr = TableRow()
            for value in row:
                text = None
                if value is None:
                    cell = TableCell()
                elif isinstance(value, Err):
                    cell = TableCell(valuetype="string", stringvalue=f"ERROR-CELL-{errors}")
                    text, errors = str(value), errors + 1
                elif isinstance(value, bool):
                    cell = TableCell(valuetype="boolean", booleanvalue="true" if value else "false")
                elif isinstance(value, date):  # and datetime
                    cell = TableCell(valuetype="date", datevalue=value.isoformat())
                elif isinstance(value, int | float):
                    cell = TableCell(valuetype="float", value=repr(value))
                else:
                    cell = TableCell(valuetype="string")
                    text = str(value)
                if text is not None:
                    cell.addElement(P(text=text))
                tr.addElement(cell)
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    if errors:  # LibreOffice's markup of an error result, which odfpy cannot write
        with zipfile.ZipFile(path) as z:
            parts = {i.filename: z.read(i.filename) for i in z.infolist()}
        xml = parts["content.xml"].decode()
        xml = xml.replace("<office:document-content ", f'<office:document-content xmlns:calcext="{_CALCEXT}" ', 1)
        for n in range(errors):
            xml = xml.replace(
                f'office:string-value="ERROR-CELL-{n}"', 'office:string-value="" calcext:value-type="error"', 1
            )
        rewrite_zip(path, {**parts, "content.xml": xml.encode()})
    return path


def rewrite_zip(path: Path, parts: dict[str, bytes]) -> None:
    """``path`` as a zip of ``parts``, in order, the ``mimetype`` (if any) stored uncompressed."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)


WRITERS = {".xlsx": write_xlsx, ".xls": write_xls, ".ods": write_ods}


def read_xlsx(path: Path) -> Sheets:
    """The cells of an .xlsx as the writers take them (formulas left out: no value was saved)."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    out: Sheets = {}
    for ws in book.worksheets:
        out[ws.title] = [
            [None if isinstance(v, str) and v.startswith("=") else v for v in row]
            for row in ws.iter_rows(values_only=True)
        ]
    return out


def convert(xlsx: Path, suffix: str) -> Path:
    """The workbook ``xlsx`` written again beside it as ``suffix`` (.xls or .ods); the .xlsx is removed."""
    target = xlsx.with_suffix(suffix)
    WRITERS[suffix](target, read_xlsx(xlsx))
    xlsx.unlink()
    return target
