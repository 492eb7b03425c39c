"""Full extracts: who has dropped out of the register's source, and whether to believe it.

An ordinary import only adds and updates, so a person left out of a later extract stayed
in the register for ever, overdue for ever, and nothing told "deregistered and dropped from
the export" from "the export was cut short". An import can therefore declare itself the
whole register (``import --full``, or ``"full": true`` in the extract's ``manifest.json``).
Then every person or officer in the register whom no row of the file names is marked
``absent_since`` (the import's date) - never deleted: a supervisor resolves each one - and
the mark is cleared when a later extract has them again.

Two checks stop a damaged extract before it marks half the force absent: a manifest may
give each file's row count (a file with fewer or more rows is cut short or padded), and a
full extract that would leave out more than ``import.max_missing_percent`` of the people
or officers in the register is refused as probably truncated unless forced.

Which files a folder holds (``locate_files``) is settled here too, beside the manifest's
own list of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.core.import_settings import ImportSettings
from monitor.extract.names import holds_extract, locate
from monitor.extract.records import NoExtract, Source, Unreadable
from monitor.register.results import ImportFailure, ImportUsageError, Presence
from monitor.register.specs import FILE_ORDER, OFFENDERS, OFFICERS, SPECS, Spec

MANIFEST = "manifest.json"
#: The files a full extract speaks for (visits are history: an old one may leave an export).
PRESENCE_FILES = (OFFICERS, OFFENDERS)
#: Keys per UPDATE ... WHERE key IN (...): below every bind-parameter limit.
_IN_KEYS = 500


@dataclass(frozen=True)
class Manifest:
    """What an extract says about itself (``manifest.json``); every key is optional."""

    full: bool = False
    #: Data rows per file (records after the header, blank lines not counted).
    rows: dict[str, int] = field(default_factory=dict)


def read_manifest(directory: Path) -> Manifest | None:
    """The extract's ``manifest.json`` (name case-insensitive), or None when there is none."""
    found = [p for p in directory.iterdir() if p.name.lower() == MANIFEST and p.is_file()]
    if not found:
        return None
    path = found[0]
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ImportFailure(f"{path.name}: not readable JSON ({type(exc).__name__})") from None
    expected = '{"full": true, "rows": {"offenders.csv": 2000, ...}}'
    if not isinstance(raw, dict) or set(raw) - {"full", "rows"}:
        raise ImportFailure(f"{path.name}: expected an object with only the keys full and rows, such as {expected}")
    full = raw.get("full", False)
    rows = raw.get("rows", {})
    if not isinstance(full, bool):
        raise ImportFailure(f"{path.name}: full must be true or false")
    if not isinstance(rows, dict) or not all(
        isinstance(k, str) and k.lower() in FILE_ORDER and type(v) is int and v >= 0 for k, v in rows.items()
    ):
        raise ImportFailure(
            f"{path.name}: rows must map {', '.join(FILE_ORDER)} to whole numbers of rows, such as {expected}"
        )
    return Manifest(full=full, rows={k.lower(): v for k, v in rows.items()})


def check_files(manifest: Manifest, present: set[str]) -> None:
    """Every file the manifest counts must be there: a missing one is an extract cut short."""
    missing = [name for name in FILE_ORDER if name in manifest.rows and name not in present]
    if missing:
        raise ImportFailure(
            f"{MANIFEST} counts rows of {', '.join(missing)} but the extract has no such file; nothing was changed"
        )


def check_count(manifest: Manifest | None, name: str, records: int) -> None:
    """The file holds exactly the rows its manifest says (else it was cut short or padded)."""
    if manifest is None or name not in manifest.rows or manifest.rows[name] == records:
        return
    expected = manifest.rows[name]
    what = "cut short" if records < expected else "not the extract the manifest describes"
    raise ImportFailure(
        f"{name}: {records:,} rows but {MANIFEST} says {expected:,}: the extract looks {what}; nothing was changed"
    )


def absent_keys(session: Session, spec: Spec) -> set[str]:
    """Keys of ``spec``'s table currently marked absent."""
    model: Any = spec.model
    return set(session.scalars(select(getattr(model, spec.key)).where(model.absent_since.is_not(None))))


def mark_absent(
    session: Session,
    spec: Spec,
    named: set[str],
    absent_before: set[str],
    *,
    on: date,
    max_missing_percent: float,
    force: bool,
    returned: set[str] | None = None,
) -> Presence:
    """Mark rows of ``spec``'s table that no row of the full file ``named``; refuse a truncated file.

    ``named`` holds every key the file mentioned, stored or rejected (a rejected row is a
    person still in the source system, whose row needs fixing). Called after the file's
    rows were written, inside the import's transaction: a refusal rolls everything back.
    A dry run passes ``returned`` (see :func:`presence`) and nothing is marked.
    """
    model: Any = spec.model
    key = getattr(model, spec.key)
    present = set(session.scalars(select(key).where(model.absent_since.is_(None))))
    missing = sorted(present - named)
    if missing and not force and len(missing) * 100 > max_missing_percent * len(present):
        what = "people" if spec.name == OFFENDERS else "officers"
        raise ImportFailure(
            f"{spec.name}: this full extract leaves out {len(missing):,} of the {len(present):,} {what} in the "
            f"register ({100 * len(missing) / len(present):.1f}%, more than import.max_missing_percent = "
            f"{max_missing_percent:g}); it looks cut short, so nothing was changed (import --full --force "
            "if they really have gone)"
        )
    if returned is None:
        for start in range(0, len(missing), _IN_KEYS):
            session.execute(update(model).where(key.in_(missing[start : start + _IN_KEYS])).values(absent_since=on))
    return presence(session, spec, absent_before, marked=missing, on=on, returned=returned)


def presence(
    session: Session,
    spec: Spec,
    absent_before: set[str],
    *,
    marked: list[str],
    on: date,
    returned: set[str] | None = None,
) -> Presence:
    """The table's presence after this import's rows (and marks) were written.

    A dry run wrote nothing to ask, so it says which marked keys its rows named
    (``returned``, rows accepted: a rejected row does not clear a mark).
    """
    still = absent_keys(session, spec) if returned is None else (absent_before - returned) | set(marked)
    return Presence(file=spec.name, marked=marked, returned=len(absent_before - still), absent=len(still), since=on)


def locate_files(directory: Path, settings: ImportSettings | None = None) -> dict[str, Source]:
    """The extract files in ``directory``, by contract file name, in processing order.

    Which names count is ``[import]``'s (``monitor.extract.names``): by default
    ``offenders.csv``, ``.xlsx``, ``.xls`` or ``.ods``, names case-insensitive.
    """
    roles = [SPECS[name].role for name in FILE_ORDER]
    try:
        found = locate(directory, roles, settings or ImportSettings())
    except NoExtract as exc:
        raise ImportUsageError(str(exc)) from None
    except Unreadable as exc:  # a workbook without the sheet named, an old Excel file
        raise ImportFailure(str(exc)) from None
    return {f"{role}.csv": source for role, source in found.items()}


def holds_files(directory: Path, settings: ImportSettings) -> bool:
    """Whether ``directory`` holds any file an import would read (the drop folder asks)."""
    return holds_extract(directory, [SPECS[name].role for name in FILE_ORDER], settings)
