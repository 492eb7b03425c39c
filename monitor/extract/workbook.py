"""Reading a sheet of an .xlsx workbook as numbered records of text, streamed.

Many forces keep visit logs in Excel, so a workbook is read as it is, not converted first:
with openpyxl's streaming worksheet parser, which reads the sheet's XML as it goes (memory
does not grow with the rows; only the workbook's table of distinct texts is held, as Excel
stores it), taking formulas' cached values. python-calamine reads many times faster but
holds the whole sheet in memory (measured at national size: docs/operate/import.md), so
it is used only for the formats openpyxl cannot read, .xls and .ods, within bounds
(``sheets``); the numbering of rows below (:func:`numbered`) is shared with it.

Cells become the text the contract reads: a date cell ``2025-03-05`` (with a time,
``2025-03-05T14:30:00``, local time), a whole number without ``.0`` (``1234``), TRUE/FALSE
``true``/``false``. A line number is the sheet's row number. Rows are padded with blanks to
the header's width (Excel does not store trailing empty cells), empty rows at the end are
ignored, and a cell of type error (``#N/A``, ``#REF!``) becomes :data:`ERROR_MARK` plus its code,
which the field checks reject by name ("an Excel error value (#N/A)").

A workbook is untrusted: one that is not a zip file, whose parts would unpack to more than
:data:`MAX_UNPACKED` bytes or at a ratio only a zip bomb has, whose sheet is missing, or
that openpyxl cannot parse is refused in one line (:class:`Unreadable`), never a traceback.
A hostile sheet dimension (``A1:XFD1048576``) is ignored: rows are read as stored.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Generic, Protocol, TypeVar

from monitor.extract.errors import Unreadable

#: Prefixed to an error cell's code: not printable, so the field checks look at it (and only then).
ERROR_MARK = "\x00excel-error:"
#: The most a workbook's parts may unpack to (a national register's is about 400 MB).
MAX_UNPACKED = 4 << 30
#: A part this large that unpacks at more than this ratio is a zip bomb, not a register.
BOMB_SIZE, BOMB_RATIO = 64 << 20, 1000
#: The most the workbook's part listing its sheets may be.
_MAX_WORKBOOK_XML = 16 << 20
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _refuse(path: Path, why: str) -> Unreadable:
    return Unreadable(f"{path.name}: {why}")


def _archive(path: Path) -> zipfile.ZipFile:
    """The workbook's zip, checked for size and bombs before anything is unpacked."""
    not_zip = "not an .xlsx workbook (not a zip file); save it from Excel as 'Excel Workbook'"
    return checked_zip(path, not_zip=not_zip, max_unpacked=MAX_UNPACKED, too_big="not read")


def checked_zip(path: Path, *, not_zip: str, max_unpacked: int, too_big: str) -> zipfile.ZipFile:
    """A zip (an .xlsx or an .ods) opened only if it is one, unpacks to at most
    ``max_unpacked`` bytes and holds no part that unpacks :data:`BOMB_RATIO` times over; else
    one line naming the file (``not_zip``, or the size and ``too_big`` saying what to do)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refuse(path, not_zip) from None
    infos = archive.infolist()
    if sum(i.file_size for i in infos) > max_unpacked:
        archive.close()
        raise _refuse(path, f"unpacks to more than {max_unpacked >> 30} GiB: {too_big}")
    for info in infos:
        if info.file_size > BOMB_SIZE and info.file_size > BOMB_RATIO * max(info.compress_size, 1):
            archive.close()
            raise _refuse(path, f"{info.filename} unpacks {BOMB_RATIO} times over (a zip bomb?): not read")
    return archive


def _xml(archive: zipfile.ZipFile, name: str, path: Path) -> Any:
    from defusedxml.ElementTree import fromstring

    try:
        info = archive.getinfo(name)
        if info.file_size > _MAX_WORKBOOK_XML:
            raise _refuse(path, f"{name} is too large to be a workbook's listing")
        return fromstring(archive.read(name))
    except Unreadable:
        raise
    except Exception as exc:  # a missing part, XML that does not parse, a bad zip entry
        raise _refuse(path, f"not a readable .xlsx workbook ({type(exc).__name__} in {name})") from None


def sheet_parts(path: Path) -> dict[str, str]:
    """The workbook's worksheets in order: name -> the zip part holding its cells.

    Read from the workbook's own listing, without loading the workbook (which would read
    its whole table of texts), so finding the files of an extract stays cheap.
    """
    with _archive(path) as archive:
        book = _xml(archive, "xl/workbook.xml", path)
        rels = _xml(archive, "xl/_rels/workbook.xml.rels", path)
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL_NS}Relationship")}
    parts: dict[str, str] = {}
    for sheet in book.iter(f"{_MAIN_NS}sheet"):
        target = targets.get(sheet.get(f"{_REL_NS}id"), "")
        if "worksheets/" not in target:
            continue  # a chart sheet or a dialog: no cells
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        parts[sheet.get("name", "")] = part
    return parts


def sheet_bytes(path: Path, sheet: str) -> int:
    """The unpacked size of a sheet's XML (for sizing what grows with its rows)."""
    try:
        parts = sheet_parts(path)
        part = parts.get(sheet) or next(iter(parts.values()), "")
        with zipfile.ZipFile(path) as archive:
            return archive.getinfo(part).file_size
    except (Unreadable, KeyError, OSError, zipfile.BadZipFile, StopIteration):
        return 0


def find_sheet(names: list[str], wanted: str) -> str | None:
    """``wanted`` among ``names``: exactly, else the one equal ignoring case and outer spaces."""
    if wanted in names:
        return wanted
    folded = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def choose_sheet(path: Path, names: list[str], wanted: str) -> str:
    """The sheet of ``names`` called ``wanted`` (:func:`find_sheet`), or the only one when
    none is named; else one line naming the file and the sheets it has."""
    found = find_sheet(names, wanted) if wanted else (names[0] if len(names) == 1 else None)
    if found is None:
        listed = ", ".join(repr(n) for n in names[:20])
        if wanted:
            raise _refuse(path, f"has no sheet {wanted!r} (it has {listed})")
        raise _refuse(path, f"has {len(names)} sheets ({listed}): name the one to read in [import.sheets]")
    return found


def cell_text(value: Any) -> str:
    """One cell's value as the contract's text (see the module docstring)."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return ""
    if kind is datetime:
        if value.microsecond:
            value = (value + timedelta(microseconds=500_000)).replace(microsecond=0)
        if not (value.hour or value.minute or value.second):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if kind is date or kind is time:
        return value.isoformat()
    if kind is timedelta:
        return str(value)
    return str(value)


class _Progress(Protocol):
    line_num: int


def numbered(rows: Iterable[tuple[int, list[str]]], progress: _Progress) -> Iterator[tuple[int, list[str], None]]:
    """A sheet's stored rows as the importer's records (shared by the .xlsx, .xls and .ods readers).

    ``rows``: (row number, cells as text) in order, numbers rising but not always by one
    (a row not stored is empty). Empty rows are kept as ``[]`` so the importer counts them,
    except those at the end; the header's error marks are dropped (a header is text) and
    later rows are padded with blanks to the header's width. ``progress.line_num`` follows
    the row being read.
    """
    width = 0  # the header's, once it was read
    # Empty rows (stored empty, or not stored at all) not yet known to be followed by
    # data: the first and the last of each run. Trailing ones are never yielded.
    blank: list[tuple[int, int]] = []
    last = 0
    for number, cells in rows:
        progress.line_num = number
        if number > last + 1:
            blank.append((last + 1, number - 1))
        last = max(last, number)
        while cells and not cells[-1].strip():
            cells.pop()
        if not cells:
            blank.append((number, number))
            continue
        for first, final in blank:
            for empty in range(first, final + 1):
                yield empty, [], None
        blank.clear()
        if not width:
            cells = [c.removeprefix(ERROR_MARK) for c in cells]
            width = len(cells)
        elif len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        yield number, cells, None


class Workbook:
    """One .xlsx opened for reading: its table of texts, its date styles and its worksheets.

    Built from openpyxl's own parts (its workbook reader and its worksheet parser) rather
    than ``load_workbook``, which, in read-only mode, scans each sheet from end to end for
    its size whenever the sheet does not state it first (openpyxl's own writer does not):
    a second full read of a million-row sheet, for every sheet, at every opening. Opened
    once per import (``extract.books.Books``), a workbook's table of texts is read once too.
    """

    def __init__(self, path: Path):
        self.path = path
        _archive(path).close()
        try:
            from openpyxl.reader.excel import ExcelReader
            from openpyxl.styles.stylesheet import apply_stylesheet

            with warnings.catch_warnings():  # "unknown extension", "no default style": not for operators
                warnings.simplefilter("ignore")
                reader = ExcelReader(str(path), read_only=True, data_only=True, keep_links=False)
                reader.read_manifest()
                reader.read_strings()
                reader.read_workbook()
                apply_stylesheet(reader.archive, reader.wb)
                sheets = list(reader.parser.find_sheets())
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise _refuse(path, f"not a readable .xlsx workbook ({type(exc).__name__})") from None
        self._reader = reader
        #: Worksheet name -> its part in the zip (chart sheets have no cells and are left out).
        self.parts = {sheet.name: rel.target for sheet, rel in sheets if "worksheets/" in rel.target}

    def sheet(self, wanted: str) -> str:
        """The worksheet called ``wanted`` (case and outer spaces forgiven), or the only one."""
        return choose_sheet(self.path, list(self.parts), wanted)

    def rows(self, sheet: str) -> Iterator[tuple[int, list[dict[str, Any]]]]:
        """The stored rows of ``sheet``: (row number, its cells as openpyxl parses them)."""
        from openpyxl.worksheet._reader import WorkSheetParser

        book = self._reader.wb
        with self._reader.archive.open(self.parts[sheet]) as source, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a date serial out of range: openpyxl warns, and makes it #VALUE!
            parser = WorkSheetParser(
                source,
                self._reader.shared_strings,
                data_only=True,
                epoch=book.epoch,
                date_formats=book._date_formats,
                timedelta_formats=book._timedelta_formats,
            )
            yield from parser.parse()

    def close(self) -> None:
        self._reader.archive.close()


class OpensWorkbooks(Protocol):
    """What :class:`SheetRows` needs of an import's open workbooks (``extract.books.Books``)."""

    def get(self, path: Path) -> Workbook: ...


class _Book(Protocol):
    def sheet(self, wanted: str) -> str: ...
    def close(self) -> None: ...


_B = TypeVar("_B", bound=_Book)


class BookSheet(Generic[_B]):
    """One sheet of an open book, read as records: its label, warnings and line number, and
    the book closed with it when it opened the book itself (not one of the import's
    ``Books``). Shared by :class:`SheetRows` (.xlsx) and ``sheets.CalamineRows`` (.xls, .ods)."""

    def __init__(self, path: Path, sheet: str, *, label: str, book: _B, own: bool):
        self.path = path
        self.name = label
        self.warnings: list[str] = []
        self.line_num = 0
        self._own = own
        self._book: _B | None = book
        try:
            self.sheet = book.sheet(sheet)
        except Unreadable:
            self.close()
            raise

    def close(self) -> None:
        if self._own and self._book is not None:
            self._book.close()
        self._book = None


class SheetRows(BookSheet[Workbook]):
    """One sheet of a workbook read row by row as ``(row number, cells, problem)``."""

    def __init__(self, path: Path, sheet: str, *, label: str, books: OpensWorkbooks | None = None):
        book = Workbook(path) if books is None else books.get(path)
        super().__init__(path, sheet, label=label, book=book, own=books is None)

    def __iter__(self) -> Iterator[tuple[int, list[str], str | None]]:
        try:
            yield from numbered(self._cells(), self)
        except Unreadable:
            raise
        except Exception as exc:  # XML damage part-way through the sheet
            raise _refuse(
                self.path, f"sheet {self.sheet!r} cannot be read after row {self.line_num} ({type(exc).__name__})"
            ) from None

    def _cells(self) -> Iterator[tuple[int, list[str]]]:
        assert self._book is not None, "read after close"
        for number, stored in self._book.rows(self.sheet):
            cells: list[str] = []
            for cell in stored:
                column = cell["column"]
                if column > len(cells) + 1:
                    cells.extend([""] * (column - 1 - len(cells)))
                if column == len(cells) + 1:
                    value = cell["value"]
                    cells.append(ERROR_MARK + str(value) if cell["data_type"] == "e" else cell_text(value))
            yield number, cells
