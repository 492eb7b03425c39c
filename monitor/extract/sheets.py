"""Reading a sheet of an .xls (Excel 97-2003) or .ods (OpenDocument) file, with python-calamine.

Older records systems still export .xls, and units on LibreOffice keep .ods; asking them
to re-save every delivery as .xlsx loses days, so both are read as they are. openpyxl
(``workbook``) reads only .xlsx; python-calamine reads both formats, and fast, but not
streaming: it holds every used cell of the workbook in memory before the first row is
handed over. So the formats calamine reads are bounded before it is called:

* the file is at most :data:`MAX_FILE` bytes on disk (an .xls sheet is also limited by
  its format to 65,536 rows), and the used area of its sheets (rows x columns, all sheets
  together) at most :data:`~monitor.extract.cellscan.MAX_CELLS` cells (2 million), counted by
  ``cellscan`` without holding them (a tiny file can claim billions of cells);
* python-calamine reads an error cell (``#N/A``) as a blank; ``cellscan`` finds them, and
  they are read as :data:`~monitor.extract.workbook.ERROR_MARK` plus the code, as .xlsx.

Everything else is the .xlsx reader's contract: cells as the same text
(:func:`~monitor.extract.workbook.cell_text`), the sheet's row numbers, rows padded to the
header's width and empty rows at the end ignored (:func:`~monitor.extract.workbook.numbered`),
the same sheet naming. A file that is not what its name says, is password-protected,
damaged, too large or lacks the sheet is refused in one line naming it
(:class:`~monitor.extract.errors.Unreadable`), never a traceback. Registers larger than
the bound are for .xlsx (read streaming) or CSV.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from monitor.extract import cellscan
from monitor.extract.cellscan import Errors, scan_ods, scan_xls
from monitor.extract.errors import Unreadable
from monitor.extract.workbook import ERROR_MARK, BookSheet, cell_text, choose_sheet, numbered

#: The largest .xls or .ods file read (bytes on disk); larger registers: .xlsx or CSV.
MAX_FILE = 64 << 20
_KIND = {".xls": "an .xls workbook (Excel 97-2003)", ".ods": "an .ods spreadsheet (OpenDocument)"}


def _refuse(path: Path, why: str) -> Unreadable:
    return Unreadable(f"{path.name}: {why}")


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({type(exc).__name__})") from None
    if size > MAX_FILE:
        suffix = path.suffix.lower()
        limit = f"{MAX_FILE >> 20} MB read from {suffix} files"
        raise _refuse(path, f"is {size >> 20} MB, more than the {limit}: save it as .xlsx or as CSV")


class CalamineBook:
    """One .xls or .ods file opened for reading: checked, scanned, then read by python-calamine."""

    def __init__(self, path: Path):
        self.path = path
        suffix = path.suffix.lower()
        _check_size(path)
        #: Error cells by sheet (python-calamine reads them as blanks).
        self.errors: Errors = scan_ods(path) if suffix == ".ods" else scan_xls(path)
        try:
            from python_calamine import CalamineWorkbook, SheetTypeEnum

            self._book: Any = CalamineWorkbook.from_path(str(path))
            kinds = [(m.name, m.typ) for m in self._book.sheets_metadata]
        except Exception as exc:  # CalamineError and its kinds, PasswordError, a Rust panic
            if type(exc).__name__ == "PasswordError":
                raise _refuse(path, "is password-protected; save it without a password (as .xlsx or CSV)") from None
            raise _refuse(path, f"not a readable {_KIND.get(suffix, 'workbook')} ({type(exc).__name__})") from None
        #: The worksheets, in order (chart sheets have no cells and are left out).
        self.names = [name for name, kind in kinds if kind == SheetTypeEnum.WorkSheet]

    def sheet(self, wanted: str) -> str:
        """The worksheet called ``wanted`` (case and outer spaces forgiven), or the only one."""
        return choose_sheet(self.path, self.names, wanted)

    def rows(self, sheet: str) -> Iterator[tuple[int, list[str]]]:
        """The rows of ``sheet`` from the first: (row number, its cells as the contract's text)."""
        try:
            data = self._book.get_sheet_by_name(sheet)
            # Rows come from the sheet's first row; columns from its first used one.
            left = data.start[1] if data.start else 0
            stored = data.iter_rows()
        except Exception as exc:
            raise _refuse(self.path, f"sheet {sheet!r} cannot be read ({type(exc).__name__})") from None
        by_row: dict[int, list[tuple[int, str]]] = {}
        for (row, column), code in self.errors.get(sheet, {}).items():
            by_row.setdefault(row, []).append((column, code))
        for index, values in enumerate(stored):
            cells = [""] * left + [cell_text(v) for v in values]
            for column, code in by_row.get(index, ()):
                if column >= len(cells):
                    cells.extend([""] * (column + 1 - len(cells)))
                cells[column] = ERROR_MARK + code
            yield index + 1, cells

    def close(self) -> None:
        book, self._book = self._book, None
        if book is not None:
            book.close()


def sheet_names(path: Path) -> list[str]:
    """The worksheets of an .xls or .ods file, in order, without loading it (for finding files)."""
    _check_size(path)
    return cellscan.sheet_names(path)


class OpensCalamine(Protocol):
    """What :class:`CalamineRows` needs of an import's open workbooks (``extract.books.Books``)."""

    def calamine(self, path: Path) -> CalamineBook: ...


class CalamineRows(BookSheet[CalamineBook]):
    """One sheet of an .xls or .ods file read row by row as ``(row number, cells, problem)``."""

    def __init__(self, path: Path, sheet: str, *, label: str, books: OpensCalamine | None = None):
        book = CalamineBook(path) if books is None else books.calamine(path)
        super().__init__(path, sheet, label=label, book=book, own=books is None)

    def __iter__(self) -> Iterator[tuple[int, list[str], str | None]]:
        assert self._book is not None
        yield from numbered(self._book.rows(self.sheet), self)
