"""What every extract file is read as: numbered records of text cells, whatever its format.

A CSV file and a sheet of a workbook reach the importer the same way, as ``(line, cells,
problem)``: the line a person sees in an editor or in Excel, the cells as text, and why the
record cannot be read (it is then rejected and reading goes on). :class:`Source` says
where one file of an extract is (a CSV file, a workbook of its own, or a sheet of a
workbook holding several) and opens it; the readers are ``csvfile``, ``workbook`` (.xlsx)
and ``sheets`` (.xls and .ods).

The failures that stop an import are in ``errors`` (re-exported here), below the readers
and the importer that reports them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from monitor.extract.errors import NoExtract, Unreadable

if TYPE_CHECKING:
    from monitor.extract.books import Books

__all__ = [
    "CALAMINE_SUFFIXES",
    "WORKBOOK_SUFFIXES",
    "NoExtract",
    "Records",
    "Source",
    "Unreadable",
    "first_record",
    "sheet_names",
]


#: Suffixes read as workbooks (.xlsx with openpyxl, .xls and .ods with python-calamine);
#: every other matched file is read as CSV.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
#: The ones python-calamine reads (``sheets``).
CALAMINE_SUFFIXES = (".xls", ".ods")


class Records(Protocol):
    """A file read record by record: ``(line, cells, problem)``; see the module docstring."""

    #: What messages call the file ("RSO_Nominals.csv", "Register.xlsx [Nominals]").
    name: str
    #: The last line read so far (for progress).
    line_num: int
    #: Things worth saying about the file once it was read (never a cell's value).
    warnings: list[str]

    def __iter__(self) -> Iterator[tuple[int, list[str], str | None]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Source:
    """One file of an extract: which role it plays and where its records are."""

    #: The contract file it stands for, by role ("offenders" for offenders.csv).
    role: str
    path: Path
    #: The sheet to read, for a workbook ("" = its only sheet).
    sheet: str = ""
    #: How it was chosen, for the dry run ('newest of 3 files matching "RSO_*.csv"').
    note: str = ""

    @property
    def is_workbook(self) -> bool:
        return self.path.suffix.lower() in WORKBOOK_SUFFIXES

    @property
    def label(self) -> str:
        """The name rejects and messages use: the file's, and the sheet's for a workbook."""
        return f"{self.path.name} [{self.sheet}]" if self.is_workbook and self.sheet else self.path.name

    def open(self, encoding: str = "utf-8", books: Books | None = None) -> Records:
        """The file's records (CSV in ``encoding``; a workbook's cells are already text).

        ``books``: workbooks already open for this import (each is opened once).
        """
        if self.path.suffix.lower() in CALAMINE_SUFFIXES:
            from monitor.extract.sheets import CalamineRows

            return CalamineRows(self.path, self.sheet, label=self.label, books=books)
        if self.is_workbook:
            from monitor.extract.workbook import SheetRows

            return SheetRows(self.path, self.sheet, label=self.label, books=books)
        from monitor.extract.csvfile import Rows

        return Rows(self.path, encoding=encoding)

    def size_hint(self) -> int:
        """Bytes of text the file holds, roughly (for sizing what grows with its rows)."""
        if self.path.suffix.lower() in CALAMINE_SUFFIXES:
            try:
                return self.path.stat().st_size  # all sheets together: an upper bound
            except OSError:
                return 0
        if self.is_workbook:
            from monitor.extract.workbook import sheet_bytes

            return sheet_bytes(self.path, self.sheet) // 3  # XML spends about three bytes per CSV byte
        try:
            return self.path.stat().st_size
        except OSError:
            return 0


def sheet_names(path: Path) -> list[str]:
    """The worksheets of a workbook, in order, whatever its format."""
    if path.suffix.lower() in CALAMINE_SUFFIXES:
        from monitor.extract.sheets import sheet_names as calamine_names

        return calamine_names(path)
    from monitor.extract.workbook import sheet_parts

    return list(sheet_parts(path))


def first_record(records: Records) -> tuple[int, list[str]] | None:
    """The first record with any text in it (the header), or None for an empty file.

    A record that cannot be read there stops the import: without a header nothing can be.
    """
    for line, cells, problem in records:
        if problem is not None:
            raise Unreadable(f"{records.name}: cannot read the header (line {line}): {problem}")
        if "".join(cells).strip():
            return line, cells
    return None
