"""A pass over an .xls or .ods file before python-calamine reads it: its size, and its error cells.

python-calamine (``sheets``) reads both formats whole: every used cell of every sheet is
held in memory, as a dense rectangle per sheet, before the first row is handed over. A
file of a few kilobytes can claim a rectangle of billions of cells (one cell at ``A1`` and
one at ``IV65536`` on each of a hundred sheets, or an .ods cell repeated a million times
over), so the file's cells are counted here first, without holding them, and a workbook
whose used rectangles add up to more than :data:`MAX_CELLS` is refused. The same pass
finds the error cells (``#N/A``, ``#REF!``, ...), which python-calamine reads as blanks:
a blank where Excel had ``#N/A`` would be imported as "no value", so their places are
kept here and ``sheets`` reads them as :data:`~monitor.extract.workbook.ERROR_MARK` plus
the code, as the .xlsx reader does.

* .xls is an OLE2 compound file holding a BIFF8 (or BIFF5) "Workbook" stream: the stream
  is found through the file's allocation table, then its records are walked (cell records
  carry their row and column; ``BOOLERR`` and ``FORMULA`` records say when a cell is an
  error). A ``FILEPASS`` record means the workbook is encrypted.
* .ods is a zip holding ``content.xml``: it is parsed streaming (defusedxml, no entities),
  counting rows and columns with their ``number-*-repeated`` attributes; an error is a
  cell with ``calcext:value-type="error"``. An encrypted .ods says so in its manifest.

Every failure is an :class:`~monitor.extract.errors.Unreadable` naming the file, never a
traceback.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from monitor.extract.errors import Unreadable
from monitor.extract.workbook import checked_zip

#: The most cells (rows x columns of each sheet's used area, all sheets together) read:
#: python-calamine held 4 million in 544 MB (docs/operate/import.md), so about 280 MB.
MAX_CELLS = 2_000_000
#: The most an .ods file's parts may unpack to.
MAX_ODS_UNPACKED = 1 << 30

#: Error cells by sheet: (row, column), both from 0 -> the code Excel shows ("#N/A").
Errors = dict[str, dict[tuple[int, int], str]]

_BIFF_ERRORS = {
    0x00: "#NULL!",
    0x07: "#DIV/0!",
    0x0F: "#VALUE!",
    0x17: "#REF!",
    0x1D: "#NAME?",
    0x24: "#NUM!",
    0x2A: "#N/A",
    0x2B: "#GETTING_DATA",
}
# BIFF records: cells (row and column in their first four bytes), and the ones read here.
_CELLS = {0x0006, 0x00BD, 0x00D6, 0x00FD, 0x0203, 0x0204, 0x0205, 0x027E}
_MULRK, _BOOLERR, _FORMULA, _BOUNDSHEET, _FILEPASS, _EOF = 0x00BD, 0x0205, 0x0006, 0x0085, 0x002F, 0x000A
_FREE, _END = 0xFFFFFFFF, 0xFFFFFFFE
_TOO_MANY = "used cells, more than the {} read from {}: save it as .xlsx or as CSV"


class _Area:
    """The used rectangle of one sheet, grown cell by cell."""

    def __init__(self) -> None:
        self.top = self.left = 1 << 62
        self.bottom = self.right = -1

    def add(self, row: int, first: int, last: int, rows: int = 1) -> None:
        self.top, self.bottom = min(self.top, row), max(self.bottom, row + rows - 1)
        self.left, self.right = min(self.left, first), max(self.right, last)

    @property
    def cells(self) -> int:
        return 0 if self.bottom < 0 else (self.bottom - self.top + 1) * (self.right - self.left + 1)


def _bounded(path: Path, areas: list[_Area], kind: str) -> None:
    used = sum(a.cells for a in areas)
    if used > MAX_CELLS:
        raise Unreadable(f"{path.name}: holds {used:,} " + _TOO_MANY.format(f"{MAX_CELLS:,}", kind))


# --------------------------------------------------------------------------- .xls


def _stream(data: bytes, path: Path) -> bytes:
    """The workbook stream of an OLE2 compound file (``data``, the whole file)."""
    bad = Unreadable(f"{path.name}: not an .xls workbook (Excel 97-2003); save it from Excel as .xlsx or CSV")
    if len(data) < 512 or data[:8] != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise bad
    shift, mini_shift = struct.unpack_from("<HH", data, 30)
    if not 7 <= shift <= 16 or not 2 <= mini_shift < shift:
        raise bad
    bad = Unreadable(f"{path.name}: not a readable .xls workbook (damaged or cut short); save it again as .xlsx or CSV")
    size = 1 << shift
    sectors = len(data) // size - 1  # the header fills the first sector
    dir_start, cutoff, minifat_start = (struct.unpack_from("<I", data, o)[0] for o in (48, 56, 60))
    difat_start, difat_count = struct.unpack_from("<II", data, 68)

    def sector(n: int) -> bytes:
        if n >= sectors:
            raise bad
        return data[(n + 1) * size : (n + 2) * size]

    fat_sectors = list(struct.unpack_from("<109I", data, 76))
    nxt, hops = difat_start, 0
    while nxt not in (_FREE, _END) and hops <= difat_count:
        block = struct.unpack(f"<{size // 4}I", sector(nxt))
        fat_sectors.extend(block[:-1])
        nxt, hops = block[-1], hops + 1
    fat: list[int] = []
    for n in fat_sectors:
        if n not in (_FREE, _END):
            fat.extend(struct.unpack(f"<{size // 4}I", sector(n)))

    def chain(start: int, table: list[int]) -> list[int]:
        out: list[int] = []
        while start not in (_FREE, _END):
            if start >= len(table) or len(out) > len(table):
                raise bad
            out.append(start)
            start = table[start]
        return out

    directory = b"".join(sector(n) for n in chain(dir_start, fat))
    entries = {}
    for o in range(0, len(directory) - 127, 128):
        length, kind = struct.unpack_from("<HB", directory, o + 64)
        name = directory[o : o + min(length, 64)].decode("utf-16-le", "replace").rstrip("\x00")
        start, stream_size = struct.unpack_from("<II", directory, o + 116)
        if kind in (2, 5):
            entries[name.casefold()] = (start, stream_size)
    if "encryptedpackage" in entries or "encryptioninfo" in entries:
        raise Unreadable(f"{path.name}: is password-protected; save it without a password (as .xlsx or CSV)")
    found = entries.get("workbook") or entries.get("book")
    if found is None or "root entry" not in entries:
        raise bad
    start, length = found
    if length >= cutoff:
        return b"".join(sector(n) for n in chain(start, fat))[:length]
    mini = b"".join(sector(n) for n in chain(entries["root entry"][0], fat))
    minifat_bytes = b"".join(sector(n) for n in chain(minifat_start, fat))
    minifat = list(struct.unpack(f"<{len(minifat_bytes) // 4}I", minifat_bytes))
    step = 1 << mini_shift
    return b"".join(mini[n * step : (n + 1) * step] for n in chain(start, minifat))[:length]


def _records(stream: bytes, offset: int) -> Iterator[tuple[int, int, int]]:
    """(type, start of body, length) of the records from ``offset`` to the next EOF."""
    while offset + 4 <= len(stream):
        kind, length = struct.unpack_from("<HH", stream, offset)
        yield kind, offset + 4, min(length, len(stream) - offset - 4)
        offset += 4 + length
        if kind == _EOF:
            break


def _sheet_name(body: bytes, biff8: bool) -> str:
    count = body[6]
    if not biff8:
        return body[7 : 7 + count].decode("cp1252", "replace")
    if body[7] & 1:
        return body[8 : 8 + 2 * count].decode("utf-16-le", "replace")
    return body[8 : 8 + count].decode("latin-1")


def scan_xls(path: Path) -> Errors:
    """Refuse an .xls that is not one, is encrypted or is too large in cells; its error cells."""
    try:
        return _scan_xls(path)
    except Unreadable:
        raise
    except Exception as exc:  # struct.error, IndexError, OSError: a damaged or cut file
        raise Unreadable(f"{path.name}: not a readable .xls workbook ({type(exc).__name__})") from None


def _worksheets(stream: bytes, path: Path) -> list[tuple[str, int]]:
    """The workbook's worksheets from its globals: (name, where its records start)."""
    globals_ = list(_records(stream, 0))
    if not globals_ or globals_[0][0] != 0x0809 or globals_[0][2] < 2:
        raise Unreadable(f"{path.name}: not an .xls workbook (no BIFF workbook stream); save it as .xlsx or CSV")
    biff8 = struct.unpack_from("<H", stream, globals_[0][1])[0] >= 0x0600
    sheets: list[tuple[str, int]] = []
    for kind, at, length in globals_:
        body = stream[at : at + length]
        if kind == _FILEPASS:
            raise Unreadable(f"{path.name}: is password-protected; save it without a password (as .xlsx or CSV)")
        if kind == _BOUNDSHEET and len(body) >= 8 and body[5] == 0:  # a worksheet, not a chart or macros
            sheets.append((_sheet_name(body, biff8), struct.unpack_from("<I", body)[0]))
    return sheets


def sheet_names(path: Path) -> list[str]:
    """The worksheets of an .xls or .ods file, in order, without python-calamine.

    An .xls lists them at its start; an .ods is scanned whole (streaming), and refused
    as :func:`scan_ods` refuses it.
    """
    if path.suffix.lower() == ".ods":
        return list(scan_ods(path))
    try:
        return [name for name, _ in _worksheets(_stream(path.read_bytes(), path), path)]
    except Unreadable:
        raise
    except Exception as exc:
        raise Unreadable(f"{path.name}: not a readable .xls workbook ({type(exc).__name__})") from None


def _scan_xls(path: Path) -> Errors:
    stream = _stream(path.read_bytes(), path)
    sheets = _worksheets(stream, path)
    errors: Errors = {}
    areas: list[_Area] = []
    for name, offset in sheets:
        area, found = _Area(), errors.setdefault(name, {})
        areas.append(area)
        for kind, at, length in _records(stream, offset):
            if kind not in _CELLS or length < 6:
                continue
            row, col = struct.unpack_from("<HH", stream, at)
            last = struct.unpack_from("<H", stream, at + length - 2)[0] if kind == _MULRK else col
            area.add(row, col, last)
            if kind == _BOOLERR and length >= 8 and stream[at + 7] == 1:
                found[(row, col)] = _BIFF_ERRORS.get(stream[at + 6], "#VALUE!")
            elif kind == _FORMULA and length >= 14 and stream[at + 12 : at + 14] == b"\xff\xff" and stream[at + 6] == 2:
                found[(row, col)] = _BIFF_ERRORS.get(stream[at + 8], "#VALUE!")
        _bounded(path, areas, ".xls files")
    return errors


# --------------------------------------------------------------------------- .ods

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


def _ods_archive(path: Path) -> zipfile.ZipFile:
    not_zip = "not an .ods spreadsheet (not a zip file); save it as .xlsx or CSV"
    return checked_zip(path, not_zip=not_zip, max_unpacked=MAX_ODS_UNPACKED, too_big="save it as .xlsx or CSV")


def _repeat(element: object, name: str) -> int:
    value = element.get(f"{_TABLE}number-{name}-repeated", "1")  # type: ignore[attr-defined]
    try:
        return max(int(value), 1)
    except ValueError:
        return 1


def scan_ods(path: Path) -> Errors:
    """Refuse an .ods that is not one, is encrypted, a zip bomb or too large in cells; its error cells."""
    from defusedxml.ElementTree import iterparse

    errors: Errors = {}
    areas: list[_Area] = []
    with _ods_archive(path) as archive:
        names = set(archive.namelist())
        try:
            mime = archive.read("mimetype").strip() if "mimetype" in names else b""
            manifest = archive.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in names else b""
        except Exception:
            mime = manifest = b""
        if b"encryption-data" in manifest:
            raise Unreadable(f"{path.name}: is password-protected; save it without a password (as .xlsx or CSV)")
        if mime != _ODS_MIME or "content.xml" not in names:
            raise Unreadable(f"{path.name}: not an .ods spreadsheet (OpenDocument); save it as .xlsx or CSV")
        found: dict[tuple[int, int], str] = {}
        area, row, col = _Area(), 0, 0
        stack: list[Any] = []  # the open elements: each is dropped from its parent once read
        try:
            with archive.open("content.xml") as source:
                for event, element in iterparse(source, events=("start", "end")):
                    tag = element.tag
                    if event == "start":
                        stack.append(element)
                        if tag == f"{_TABLE}table":
                            sheet, row, area = element.get(f"{_TABLE}name", ""), 0, _Area()
                            found = errors.setdefault(sheet, {})
                            areas.append(area)
                        elif tag == f"{_TABLE}table-row":
                            col = 0
                        continue
                    stack.pop()
                    if tag in (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"):
                        wide = _repeat(element, "columns")
                        if element.get(f"{_OFFICE}value-type") or element.get(f"{_CALCEXT}value-type"):
                            area.add(row, col, col + wide - 1)
                            if element.get(f"{_CALCEXT}value-type") == "error":
                                code = "".join(element.itertext()).strip() or "#VALUE!"
                                for c in range(col, col + min(wide, MAX_CELLS)):
                                    found[(row, c)] = code[:16]
                        col += wide
                    elif tag == f"{_TABLE}table-row":
                        tall = _repeat(element, "rows")
                        if area.bottom == row and tall > 1:
                            area.add(row, area.left, area.right, tall)
                            _bounded(path, areas, ".ods files")
                            for (r, c), code in [kv for kv in found.items() if kv[0][0] == row]:
                                for extra in range(1, tall):
                                    found[(r + extra, c)] = code
                        row += tall
                        _bounded(path, areas, ".ods files")
                    else:
                        continue
                    element.clear()
                    if stack:
                        stack[-1].remove(element)
        except Unreadable:
            raise
        except Exception as exc:  # XML that does not parse, a damaged zip entry, entities refused
            raise Unreadable(f"{path.name}: not a readable .ods spreadsheet ({type(exc).__name__})") from None
    _bounded(path, areas, ".ods files")
    return errors
