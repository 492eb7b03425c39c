"""What an import reports back (its result and the rows it rejected) and how it fails.

Every stage of an import (reading the files, parsing the fields, writing the rows) can
reject a row or stop the whole import, so these types sit below all of them. Callers take
them from ``monitor.register.importer``, the public face of the import.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date


class ImportFailure(Exception):
    """Fatal for the whole import: unreadable file, missing required column, database error.

    The transaction has been rolled back. The message names the file (and line or column
    where known) and never contains personal data. ``import_id`` is the ``import_runs``
    row that records the failure (None if even that could not be written).
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.import_id: int | None = None


class ImportUsageError(ImportFailure):
    """The directory is not usable as an extract (missing, or none of the expected files).

    Nothing was attempted, so no ``import_runs`` row is written; the CLI exits 2.
    """


@dataclass(frozen=True)
class Reject:
    """A row that was not stored: where it is and why (never the row's values)."""

    file: str
    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


@dataclass(frozen=True)
class Presence:
    """Who is, and is not, in the extract for one of officers.csv and offenders.csv.

    ``marked`` is only ever filled by a full extract (see ``register.presence``).
    """

    file: str
    #: Keys newly marked "not in the latest full extract" by this import (sorted).
    marked: list[str]
    #: Rows that were marked and are back in this extract (the mark is cleared).
    returned: int
    #: Rows in the register not in the latest full extract, after this import.
    absent: int
    #: The date a mark made by this import carries.
    since: date


@dataclass
class FilePreview:
    """What a dry run (``import --check``) shows of one file before the counts."""

    #: The contract file (``offenders.csv``) and what the extract calls it.
    file: str
    label: str
    #: How it was chosen ('newest of 3 files matching ...'), and how it was read.
    note: str
    reading: str
    #: Each header of the file, in order, with the field it became (None: ignored).
    matched: list[tuple[str, str | None]]
    #: Field -> [(the force's code, the contract's value)] as configured.
    codes: dict[str, list[tuple[str, str]]]
    #: The first rows accepted: (line, field -> value as parsed).
    rows: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    #: Field -> the characters beyond ASCII its cells hold (does the encoding read names right?).
    characters: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class ImportResult:
    """What an import did. ``counts`` is keyed by the canonical file name."""

    import_id: int
    counts: dict[str, dict[str, int]]
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Whether the import was a full extract (``--full`` or its manifest said so).
    full: bool = False
    presence: list[Presence] = field(default_factory=list)
    #: A dry run (``import --check``): nothing was written, ``import_id`` is 0.
    dry: bool = False
    previews: list[FilePreview] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The CLI contract: 3 when any row was rejected, else 0."""
        return 3 if self.rejects else 0

    @property
    def outcome(self) -> str:
        return "rejected_rows" if self.rejects else "ok"

    def reject_report_csv(self) -> str:
        """The rejects as CSV (file,line,field,reason), for the people fixing the extract."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["file", "line", "field", "reason"])
        for r in self.rejects:
            writer.writerow([r.file, r.line, r.field or "", r.reason])
        return out.getvalue()
