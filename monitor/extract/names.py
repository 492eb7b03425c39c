"""Which file of a folder is which: the force's file names, workbooks and sheets.

A records system writes ``RSO_Nominals_20250305.csv``; a spreadsheet keeps everything in
``Register.xlsx``. ``[import.files]`` gives each file's patterns (default ``offenders.csv``,
``offenders.xlsx``, ``offenders.xls`` or ``offenders.ods``, names compared without case),
``[import] workbook`` one workbook holding a sheet per file, ``[import.sheets]`` the sheets'
names. Where a pattern matches
several files the newest (modification time, then name) is read and the others are left
alone, so a drop folder may keep older deliveries (without a pattern of its own, two
candidates such as ``offenders.csv`` and ``Offenders.xlsx`` are one too many). Anything that could make one file stand
for two, or two files for one, stops before reading (:class:`NoExtract`): a file matching
two files' patterns, a role found both as a file and as a sheet, a workbook of several
sheets with none named. Hidden files and Excel's lock files (``~$Register.xlsx``) never match.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path

from monitor.core.import_settings import ImportSettings
from monitor.extract.records import WORKBOOK_SUFFIXES, NoExtract, Source, Unreadable, sheet_names
from monitor.extract.workbook import find_sheet

#: Spreadsheet formats that are not read (what to do instead is said).
_NOT_READ = {".xlsb": "Excel binary"}


def default_patterns(role: str) -> tuple[str, ...]:
    return (f"{role}.csv", f"{role}.xlsx", f"{role}.xls", f"{role}.ods")


def _candidates(directory: Path) -> list[Path]:
    return [
        entry for entry in sorted(directory.iterdir()) if not entry.name.startswith((".", "~$")) and entry.is_file()
    ]


def _matches(entries: list[Path], patterns: Sequence[str]) -> list[Path]:
    lowered = [p.lower() for p in patterns]
    return [e for e in entries if any(fnmatchcase(e.name.lower(), p) for p in lowered)]


def _newest(matches: list[Path], patterns: Sequence[str]) -> tuple[Path, str]:
    chosen = max(matches, key=lambda p: (p.stat().st_mtime, p.name))
    shown = " or ".join(f'"{p}"' for p in patterns)
    note = f"newest of {len(matches)} files matching {shown}" if len(matches) > 1 else ""
    return chosen, note


def _sheet_of(path: Path, wanted: str, role: str) -> str:
    names = sheet_names(path)
    if wanted:
        found = find_sheet(names, wanted)
        if found is None:
            listed = ", ".join(repr(n) for n in names[:20])
            raise Unreadable(f"{path.name}: has no sheet {wanted!r} for {role} (it has {listed})")
        return found
    if len(names) == 1:
        return ""  # its only sheet: the file's name says enough
    found = find_sheet(names, role)
    if found is not None:
        return found
    listed = ", ".join(repr(n) for n in names[:20])
    raise Unreadable(f"{path.name}: has {len(names)} sheets ({listed}): name the {role} sheet in [import.sheets]")


def locate(directory: Path, roles: Sequence[str], settings: ImportSettings) -> dict[str, Source]:
    """The extract's files by role, in ``roles`` order (processing order); see the module docstring."""
    expected = ", ".join(f"{r}.csv" for r in roles)
    if not directory.is_dir():
        raise NoExtract(f"{directory}: not a directory (expected one holding {expected})")
    entries = _candidates(directory)
    found: dict[str, Source] = {}
    matched: dict[Path, str] = {}
    if settings.workbook:
        books = _matches(entries, (settings.workbook,))
        if books:
            book, note = _newest(books, (settings.workbook,))
            sheets = sheet_names(book)
            for role in roles:
                sheet = find_sheet(sheets, settings.sheets.get(role, role))
                if sheet is not None:
                    found[role] = Source(role, book, sheet, note)
            if not found:
                wanted = ", ".join(repr(settings.sheets.get(r, r)) for r in roles)
                listed = ", ".join(repr(n) for n in sheets[:20])
                raise NoExtract(f"{book.name}: none of the sheets {wanted} (it has {listed}); see [import.sheets]")
            for other in books:
                matched[other] = "workbook"
    for role in roles:
        patterns = settings.files.get(role, default_patterns(role))
        matches = _matches(entries, patterns)
        for path in matches:
            if matched.get(path, role) != role:
                raise NoExtract(
                    f"{directory}: {path.name} matches the names of both {matched[path]} and {role}; "
                    "make [import.files] tell them apart"
                )
            matched[path] = role
        if not matches:
            continue
        if len(matches) > 1 and role not in settings.files:
            names = " and ".join(p.name for p in matches)
            raise NoExtract(f"{directory}: both {names} present; keep one")
        path, note = _newest(matches, patterns)
        suffix = path.suffix.lower()
        if suffix in _NOT_READ:
            raise Unreadable(f"{path.name}: {_NOT_READ[suffix]} files are not read; save it as .xlsx or as CSV")
        if role in found:
            raise NoExtract(f"{directory}: both {found[role].label} and {path.name} hold {role}; keep one")
        sheet = _sheet_of(path, settings.sheets.get(role, ""), role) if suffix in WORKBOOK_SUFFIXES else ""
        found[role] = Source(role, path, sheet, note)
    if not found:
        raise NoExtract(f"{directory}: none of the expected files found (expected at least one of {expected})")
    return {role: found[role] for role in roles if role in found}


def holds_extract(directory: Path, roles: Sequence[str], settings: ImportSettings) -> bool:
    """Whether ``directory`` holds any file an import would read (for the drop folder)."""
    entries = _candidates(directory)
    patterns = [p for role in roles for p in settings.files.get(role, default_patterns(role))]
    if settings.workbook:
        patterns.append(settings.workbook)
    return bool(_matches(entries, patterns))
