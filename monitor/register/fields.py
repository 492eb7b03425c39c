"""Import of register extracts: ``offenders.csv``, ``visits.csv`` and ``officers.csv``.

Extracts come from case-management systems and spreadsheets, so the reader is forgiving
about *form* (BOM, CRLF, header case, "Very High" for ``very_high``, UK dates, datetimes
where a date is expected) and strict about *meaning*: a row that cannot be understood is
never guessed at, it is rejected with the file, physical line, field and what was
expected. Nothing is dropped silently: every row is stored, counted as unchanged, or
reported back (and kept in ``import_rejects``).

One import is one transaction. A failure midway (unreadable file, database error, a bug)
rolls the register back to exactly what it was, and the failed attempt is then recorded
in its own small transaction so the daemon and operators can see it.

The work is set-based because a force's visit history runs to a million rows: rows are
parsed and validated in Python, then written per chunk with one bulk SELECT of the
existing keys, one ORM bulk INSERT of the new rows and one ORM bulk UPDATE (by primary
key) of the changed ones. Unchanged rows are not written at all, so re-importing the same
extract leaves ``updated_at`` and ``import_id`` as they were.

Personal data (surname, forenames, date of birth; an officer's name and email) is never
echoed in a reject reason, a warning or a log line: those say what was expected, not
what was found.
"""

from __future__ import annotations

import csv
import io
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.clock import DATE_EXPECTED, now_utc, parse_date_or_datetime
from monitor.core.config import RISK_LEVELS, Config
from monitor.register import models
from monitor.register.db import transaction

log = logging.getLogger(__name__)

OFFICERS, OFFENDERS, VISITS = "officers.csv", "offenders.csv", "visits.csv"
#: Processing order: officers first, then offenders, then visits (which may refer to
#: offenders from this extract or already in the register).
FILE_ORDER: tuple[str, ...] = (OFFICERS, OFFENDERS, VISITS)

STATUSES = ("community", "custody", "hospital", "abroad", "missing", "deceased", "deregistered")
MANAGEMENT = ("active", "reactive")
OUTCOMES = ("completed", "no_access", "cancelled")
VISIT_TYPES = ("home", "other")
ROLES = ("offender_manager", "supervisor", "lead")

#: Fields whose values are never repeated back in reasons, warnings or logs.
NO_ECHO = frozenset({"surname", "forenames", "date_of_birth", "name", "email"})

#: Rows validated before a bulk write; bounds memory whatever the file size.
CHUNK_ROWS = 5000
#: Keys per ``IN (...)`` list: far below SQLite's and PostgreSQL's bind-parameter limits.
MAX_IN_KEYS = 5000
#: Distinct date strings remembered per import (visit dates repeat a lot; datetimes don't).
DATE_CACHE_MAX = 50_000

#: PostgreSQL advisory lock held by an import's transaction ("vmim").
IMPORT_LOCK_KEY = 0x766D696D

_TRUE = frozenset({"true", "yes", "1", "y"})
_FALSE = frozenset({"false", "no", "0", "n"})


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


@dataclass
class ImportResult:
    """What an import did. ``counts`` is keyed by the canonical file name."""

    import_id: int
    counts: dict[str, dict[str, int]]
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

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


class _Bad(Exception):
    """One row's first problem; becomes a Reject."""

    def __init__(self, field: str | None, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


def normalise_token(text: str) -> str:
    """``"Very High"``, ``"very-high"``, ``" VERY_HIGH "`` -> ``"very_high"`` (headers too)."""
    lowered = text.strip().lower().replace("-", "_").replace(" ", "_")
    if "__" in lowered:
        lowered = "_".join(part for part in lowered.split("_") if part)
    return lowered


#: Spellings seen in enum cells ("Very High" -> "very_high"); extracts repeat a handful.
_TOKENS: dict[str, str] = {}


def _shown(value: str) -> str:
    """A value safe and short enough to repeat in a reason (only for non-personal fields)."""
    return repr(value if len(value) <= 40 else value[:37] + "...")


@dataclass(frozen=True)
class _Spec:
    """How one file maps onto one table."""

    name: str
    model: type[models.Base]
    key: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    #: Values for columns a file does not have, used only when a row is inserted.
    insert_defaults: dict[str, Any]
    #: Stored columns that come from parsing rather than from a CSV column of that name.
    derived: tuple[str, ...] = ()

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def columns(self) -> tuple[str, ...]:
        """Stored columns compared to decide updated vs unchanged (besides the key)."""
        return tuple(c for c in self.known if c != self.key) + self.derived


OFFENDER_OPTIONAL: tuple[str, ...] = (
    "status_since",
    "management",
    "risk_assessed_on",
    "last_notified_on",
    "no_fixed_abode",
    "registration_ends",
    "surname",
    "forenames",
    "date_of_birth",
)

SPECS: dict[str, _Spec] = {
    OFFICERS: _Spec(
        name=OFFICERS,
        model=models.Officer,
        key="officer_id",
        required=("officer_id", "name", "email", "team", "role"),
        optional=("active",),
        insert_defaults={"active": True},
    ),
    OFFENDERS: _Spec(
        name=OFFENDERS,
        model=models.Offender,
        key="ref",
        required=("ref", "risk_level", "status", "team", "offender_manager", "registered_on"),
        optional=OFFENDER_OPTIONAL,
        insert_defaults={
            **dict.fromkeys(OFFENDER_OPTIONAL, None),
            "management": "active",
            "no_fixed_abode": False,
        },
    ),
    VISITS: _Spec(
        name=VISITS,
        model=models.Visit,
        key="visit_id",
        required=("visit_id", "ref", "visit_date", "outcome"),
        optional=("visit_type", "officer"),
        derived=("visited_at",),
        insert_defaults={"visit_type": "home", "officer": None},
    ),
}


def locate_files(directory: Path) -> dict[str, Path]:
    """The extract files present in ``directory``, by canonical name (names case-insensitive)."""
    expected = ", ".join(FILE_ORDER)
    if not directory.is_dir():
        raise ImportUsageError(f"{directory}: not a directory (expected one holding {expected})")
    found: dict[str, Path] = {}
    for entry in sorted(directory.iterdir()):
        canonical = entry.name.lower()
        if canonical in SPECS and entry.is_file():
            if canonical in found:
                raise ImportUsageError(f"{directory}: both {found[canonical].name} and {entry.name} present; keep one")
            found[canonical] = entry
    if not found:
        raise ImportUsageError(f"{directory}: none of the expected files found (expected at least one of {expected})")
    return {name: found[name] for name in FILE_ORDER if name in found}


class _Rows:
    """A CSV file read record by record with the physical line each record starts on."""

    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        try:
            self._fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise ImportFailure(f"{self.name}: cannot be read ({exc.strerror or exc})") from None
        # strict: an unclosed quote fails loudly instead of swallowing the rest of the file.
        self._reader = csv.reader(self._fh, strict=True)
        self.line_num = 0

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        while True:
            start = self._reader.line_num + 1
            try:
                record = next(self._reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise ImportFailure(f"{self.name}: not UTF-8 text (line {_first_bad_utf8_line(self.path)})") from None
            except csv.Error as exc:
                raise ImportFailure(
                    f"{self.name}: malformed CSV in the record starting on line {start} ({exc})"
                ) from None
            self.line_num = self._reader.line_num
            yield start, record

    def close(self) -> None:
        self._fh.close()


def _first_bad_utf8_line(path: Path) -> int:
    """The physical line holding the first invalid UTF-8 (the decoder reads ahead in blocks)."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _physical_lines(path: Path) -> int:
    """Count lines cheaply (bytes), for the progress bar's total."""
    lines, last = 0, b""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
            last = block
    return lines + (1 if last and not last.endswith(b"\n") else 0)


class _Header:
    """A file's header: which known column sits at which position."""

    def __init__(self, spec: _Spec, name: str, cells: list[str]):
        self.positions: dict[str, int] = {}
        self.width = len(cells)
        self.warnings: list[str] = []
        seen: set[str] = set()
        for pos, raw in enumerate(cells):
            col = normalise_token(raw)
            if not col:
                self.warnings.append(f"{name}: ignoring the unnamed column {pos + 1}")
                continue
            if col in seen:
                raise ImportFailure(f"{name}: column {col!r} appears twice in the header")
            seen.add(col)
            if col in spec.known:
                self.positions[col] = pos
            else:
                self.warnings.append(f"{name}: ignoring unknown column {col!r}")
        for col in spec.required:
            if col not in self.positions:
                raise ImportFailure(f"{name}: missing required column {col!r} (required: {', '.join(spec.required)})")
        self.present = frozenset(self.positions)


def _read_header(spec: _Spec, path: Path) -> _Header:
    rows = _Rows(path)
    try:
        for _line, record in rows:
            if any(c.strip() for c in record):
                return _Header(spec, path.name, record)
        raise ImportFailure(f"{path.name}: empty file (expected a header line with {', '.join(spec.required)})")
    finally:
        rows.close()


class _Importer:
    """One run over the files of one extract, inside one transaction."""

    def __init__(self, config: Config, files: dict[str, Path], progress: bool):
        self.tz: ZoneInfo = config.tz
        self.files = files
        self.progress = progress
        self.headers: dict[str, _Header] = {}
        self.rejects: list[Reject] = []
        self.warnings: list[str] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.known_refs: set[str] = set()
        self._date_cache: dict[str, tuple[date, datetime | None] | str] = {}
        self.import_id = 0
        self.now = now_utc()
        self.in_limit = MAX_IN_KEYS

    # -- checks before any write ------------------------------------------------------

    def check_headers(self) -> None:
        """Read every header first so a missing column fails before anything is written."""
        for name, path in self.files.items():
            header = _read_header(SPECS[name], path)
            self.headers[name] = header
            self.warnings.extend(header.warnings)

    # -- the run ------------------------------------------------------------------------

    def run(self, session: Session, source: str) -> ImportResult:
        dialect = session.get_bind().dialect.name
        if dialect == "sqlite":
            # BEGIN IMMEDIATE (see db.transaction) already serialises writers.
            self.in_limit = min(MAX_IN_KEYS, _sqlite_variable_limit(session) - 10)
        elif dialect == "postgresql":
            # Two imports at once (the daemon's scheduled one and a manual one) would both
            # see a new key as absent and the second would fail on the primary key: take
            # turns instead, for the length of the transaction.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})
        run = models.ImportRun(source=source, started_at=self.now, outcome="running", counts={})
        session.add(run)
        session.flush()
        self.import_id = run.id
        with _ProgressDisplay(self.progress) as advance:
            for name, path in self.files.items():
                self.counts[name] = self._import_file(session, SPECS[name], path, advance)
        if self.rejects:
            for chunk in _chunks(self.rejects, CHUNK_ROWS):
                session.execute(
                    insert(models.ImportReject),
                    [
                        {"import_id": run.id, "file": r.file, "line": r.line, "field": r.field, "reason": r.reason}
                        for r in chunk
                    ],
                )
        if dialect == "postgresql" and any(c.get("inserted") or c.get("updated") for c in self.counts.values()):
            # Fresh planner statistics, in the same transaction. Without them PostgreSQL
            # guesses one row for the scan's visit aggregate right after a big import and
            # picks a nested loop: the force-wide scan took ~300 s instead of ~1 s at
            # 100,000 people (autovacuum may not have run before the next digest job).
            session.execute(text("ANALYZE officers, offenders, visits"))
        result = ImportResult(import_id=run.id, counts=self.counts, rejects=self.rejects, warnings=self.warnings)
        run.outcome = result.outcome
        run.counts = self.counts
        run.finished_at = now_utc()
        return result

    def _import_file(self, session: Session, spec: _Spec, path: Path, advance: _Advance) -> dict[str, int]:
        header = self.headers[spec.name]
        counts = {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        if spec.name == VISITS:
            # Visits may name offenders already in the register: one query for all refs
            # (a force holds thousands, England and Wales ~70,000) instead of one per chunk.
            self.known_refs.update(session.scalars(select(models.Offender.ref)))
        parse = _PARSERS[spec.name]
        seen: dict[str, int] = {}
        buffer: list[dict[str, Any]] = []
        blank = 0
        total = _physical_lines(path) if self.progress else 0
        task = advance(spec.name, total, 0)
        rows = _Rows(path)
        try:
            records = iter(rows)
            for _line, record in records:  # skip to the header, already checked
                if any(c.strip() for c in record):
                    break
            for line, record in records:
                if not any(c.strip() for c in record):
                    blank += 1
                    continue
                try:
                    cells = _Cells(header, record)
                    key = cells.text(spec.key, required=True, maxlen=64)
                    assert key is not None
                    first = seen.get(key)
                    if first is not None:
                        raise _Bad(spec.key, f"duplicate {spec.key}, first seen on line {first}")
                    seen[key] = line
                    values = parse(self, cells)
                    values[spec.key] = key
                except _Bad as bad:
                    self.rejects.append(Reject(path.name, line, bad.field, bad.reason))
                    counts["rejected"] += 1
                    continue
                if spec.name == OFFENDERS:
                    self.known_refs.add(key)
                buffer.append(values)
                if len(buffer) >= CHUNK_ROWS:
                    self._write(session, spec, buffer, counts)
                    buffer.clear()
                    advance(spec.name, total, rows.line_num, task)
            if buffer:
                self._write(session, spec, buffer, counts)
            advance(spec.name, total, total or rows.line_num, task)
        finally:
            rows.close()
        if blank:
            self.warnings.append(f"{path.name}: skipped {blank} blank line{'s' if blank != 1 else ''}")
        return counts

    def _write(self, session: Session, spec: _Spec, rows: list[dict[str, Any]], counts: dict[str, int]) -> None:
        """Set-based upsert of one chunk: bulk SELECT existing, bulk INSERT new, bulk UPDATE changed."""
        model = spec.model
        key_col = getattr(model, spec.key)
        cols = [getattr(model, c) for c in spec.columns]
        existing: dict[str, Sequence[Any]] = {}
        keys = [r[spec.key] for r in rows]
        for chunk in _chunks(keys, self.in_limit):
            for found in session.execute(select(key_col, *cols).where(key_col.in_(chunk))):
                existing[found[0]] = found[1:]
        position = {c: i for i, c in enumerate(spec.columns)}
        stamp = {"import_id": self.import_id, "updated_at": self.now}
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for values in rows:
            old = existing.get(values[spec.key])
            if old is None:
                inserts.append({**spec.insert_defaults, **values, **stamp})
            elif any(old[position[c]] != v for c, v in values.items() if c != spec.key):
                updates.append({**values, **stamp})
            else:
                counts["unchanged"] += 1
        # The ORM groups consecutive rows by which values are None and emits one
        # statement per group: sort so a chunk is a handful of executemany calls, not
        # thousands (visits alternate between having a time and not).
        if inserts:
            inserts.sort(key=_none_pattern)
            session.execute(insert(model), inserts)
            counts["inserted"] += len(inserts)
        if updates:
            updates.sort(key=_none_pattern)
            session.execute(update(model), updates)
            counts["updated"] += len(updates)

    # -- value parsing (shared by the row parsers) ---------------------------------------

    def parse_date(self, cells: _Cells, name: str, *, required: bool) -> tuple[date | None, datetime | None]:
        raw = cells.raw(name)
        if not raw:
            if required:
                raise _Bad(name, "required value is missing")
            return None, None
        parsed = self._date_cache.get(raw)
        if parsed is None:
            try:
                parsed = parse_date_or_datetime(raw, self.tz)
            except ValueError as exc:
                parsed = str(exc)
            if len(self._date_cache) < DATE_CACHE_MAX:
                self._date_cache[raw] = parsed
        if isinstance(parsed, str):
            if name in NO_ECHO:
                raise _Bad(name, f"invalid date: expected {DATE_EXPECTED}")
            raise _Bad(name, parsed)
        return parsed


def _none_pattern(row: dict[str, Any]) -> tuple[bool, ...]:
    return tuple(v is None for v in row.values())


def _sqlite_variable_limit(session: Session) -> int:
    """SQLite's bind-parameter limit for this connection (999 on old builds)."""
    try:
        dbapi = session.connection().connection.dbapi_connection
        if isinstance(dbapi, sqlite3.Connection):
            return int(dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):
        pass
    return 999


class _Cells:
    """One record's cells looked up by column name, with the checks every field shares."""

    __slots__ = ("header", "record")

    def __init__(self, header: _Header, record: list[str]):
        if len(record) > header.width and any(c.strip() for c in record[header.width :]):
            raise _Bad(None, f"has {len(record)} values but the header has {header.width} columns")
        self.header = header
        self.record = record

    def present(self, name: str) -> bool:
        return name in self.header.present

    def raw(self, name: str) -> str:
        pos = self.header.positions.get(name)
        if pos is None or pos >= len(self.record):
            return ""
        return self.record[pos].strip()

    def text(self, name: str, *, required: bool, maxlen: int) -> str | None:
        value = self.raw(name)
        if not value:
            if required:
                raise _Bad(name, "required value is missing")
            return None
        if "\n" in value or "\r" in value:
            raise _Bad(name, "must be on one line (a line break inside quotes?)")
        if len(value) > maxlen:
            raise _Bad(name, f"longer than {maxlen} characters")
        return value

    def choice(self, name: str, choices: tuple[str, ...], *, default: str | None = None) -> str:
        raw = self.raw(name)
        if not raw:
            if default is None:
                raise _Bad(name, "required value is missing")
            return default
        value = _TOKENS.get(raw)
        if value is None:
            value = normalise_token(raw)
            if len(_TOKENS) < 10_000:
                _TOKENS[raw] = value
        if value not in choices:
            raise _Bad(name, f"expected one of {', '.join(choices)}, got {_shown(raw)}")
        return value

    def flag(self, name: str, *, default: bool) -> bool:
        raw = self.raw(name)
        if not raw:
            return default
        value = raw.lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise _Bad(name, f"expected true/false, yes/no, 1/0 or y/n, got {_shown(raw)}")


def _not_before(name: str, value: date | None, other_name: str, other: date) -> None:
    if value is not None and value < other:
        raise _Bad(name, f"must not be before {other_name} ({other.isoformat()}), got {value.isoformat()}")


def _parse_officer(imp: _Importer, cells: _Cells) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": cells.text("name", required=True, maxlen=200),
    }
    email = cells.text("email", required=True, maxlen=320)
    assert email is not None
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or any(ch in email for ch in ' \t<>,;:"()[]\\'):
        raise _Bad("email", "expected an email address such as name@police.example")
    out["email"] = email
    out["team"] = cells.text("team", required=True, maxlen=64)
    out["role"] = cells.choice("role", ROLES)
    if cells.present("active"):
        out["active"] = cells.flag("active", default=True)
    return out


def _parse_offender(imp: _Importer, cells: _Cells) -> dict[str, Any]:
    out: dict[str, Any] = {
        "risk_level": cells.choice("risk_level", RISK_LEVELS),
        "status": cells.choice("status", STATUSES),
        "team": cells.text("team", required=True, maxlen=64),
        "offender_manager": cells.text("offender_manager", required=True, maxlen=64),
    }
    registered_on = imp.parse_date(cells, "registered_on", required=True)[0]
    assert registered_on is not None
    out["registered_on"] = registered_on
    if cells.present("status_since"):
        since = imp.parse_date(cells, "status_since", required=False)[0]
        _not_before("status_since", since, "registered_on", registered_on)
        out["status_since"] = since
    if cells.present("management"):
        out["management"] = cells.choice("management", MANAGEMENT, default="active")
    for name in ("risk_assessed_on", "last_notified_on"):
        if cells.present(name):
            out[name] = imp.parse_date(cells, name, required=False)[0]
    if cells.present("no_fixed_abode"):
        out["no_fixed_abode"] = cells.flag("no_fixed_abode", default=False)
    if cells.present("registration_ends"):
        ends = imp.parse_date(cells, "registration_ends", required=False)[0]
        _not_before("registration_ends", ends, "registered_on", registered_on)
        out["registration_ends"] = ends
    for name in ("surname", "forenames"):
        if cells.present(name):
            out[name] = cells.text(name, required=False, maxlen=200)
    if cells.present("date_of_birth"):
        out["date_of_birth"] = imp.parse_date(cells, "date_of_birth", required=False)[0]
    return out


def _parse_visit(imp: _Importer, cells: _Cells) -> dict[str, Any]:
    ref = cells.text("ref", required=True, maxlen=64)
    assert ref is not None
    if ref not in imp.known_refs:
        raise _Bad("ref", f"unknown ref {_shown(ref)}: not in this extract's offenders.csv or the register")
    visit_date, visited_at = imp.parse_date(cells, "visit_date", required=True)
    out: dict[str, Any] = {
        "ref": ref,
        "visit_date": visit_date,
        "visited_at": visited_at,
        "outcome": cells.choice("outcome", OUTCOMES),
    }
    if cells.present("visit_type"):
        out["visit_type"] = cells.choice("visit_type", VISIT_TYPES, default="home")
    if cells.present("officer"):
        out["officer"] = cells.text("officer", required=False, maxlen=64)
    return out


_PARSERS: dict[str, Callable[[_Importer, _Cells], dict[str, Any]]] = {
    OFFICERS: _parse_officer,
    OFFENDERS: _parse_offender,
    VISITS: _parse_visit,
}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Advance:
    """Progress callback: ``(file, total, done, task=None) -> task``; a no-op when off."""

    def __init__(self, progress: Any = None):
        self._progress = progress

    def __call__(self, name: str, total: int, done: int, task: Any = None) -> Any:
        if self._progress is None:
            return None
        if task is None:
            return self._progress.add_task(name, total=total or None)
        self._progress.update(task, completed=done)
        return task


class _ProgressDisplay:
    """A rich progress bar on stderr when asked for (the CLI asks only on a terminal)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._progress: Any = None

    def __enter__(self) -> _Advance:
        if not self.enabled:
            return _Advance()
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("lines"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._progress.start()
        return _Advance(self._progress)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def _db_error_text(exc: SQLAlchemyError) -> str:
    """The database's own first line, never SQLAlchemy's rendering (which includes row values)."""
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else type(exc).__name__
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _record_failure(engine: Engine, source: str, started: datetime, error: str) -> int | None:
    """Record a failed import in its own transaction, after the import's was rolled back."""
    try:
        with transaction(engine) as session:
            run = models.ImportRun(
                source=source,
                started_at=started,
                finished_at=now_utc(),
                outcome="failed",
                counts={},
                error=error,
            )
            session.add(run)
            session.flush()
            return run.id
    except SQLAlchemyError as exc:
        log.error("import failed and could not be recorded: %s", _db_error_text(exc))
        return None


def import_directory(engine: Engine, config: Config, directory: Path, *, progress: bool = False) -> ImportResult:
    """Import the extract in ``directory`` as one transaction; see the module docstring.

    Raises ImportUsageError when the directory holds none of the expected files, and
    ImportFailure (with ``import_id`` of the recorded failed run) on anything fatal.
    """
    directory = Path(directory)
    files = locate_files(directory)
    source = str(directory.resolve())
    importer = _Importer(config, files, progress)
    started = importer.now
    try:
        importer.check_headers()
        with transaction(engine) as session:
            result = importer.run(session, source)
    except ImportFailure as exc:
        exc.import_id = _record_failure(engine, source, started, str(exc))
        log.error("import of %s failed: %s", source, exc)
        raise
    except SQLAlchemyError as exc:
        failure = ImportFailure(f"database error: {_db_error_text(exc)}")
        failure.import_id = _record_failure(engine, source, started, str(failure))
        log.error("import of %s failed: %s", source, failure)
        raise failure from exc
    except OSError as exc:
        failure = ImportFailure(f"cannot read the extract: {exc.strerror or type(exc).__name__}")
        failure.import_id = _record_failure(engine, source, started, str(failure))
        raise failure from exc
    except Exception as exc:
        # A bug. The message may carry row values, so only the type is recorded.
        failure = ImportFailure(f"unexpected error ({type(exc).__name__}); nothing was changed")
        failure.import_id = _record_failure(engine, source, started, str(failure))
        log.error("import of %s failed unexpectedly", source, exc_info=True)
        raise failure from exc
    log.info(
        "import %s of %s: %s (%s)",
        result.import_id,
        source,
        result.outcome,
        "; ".join(f"{name} {c}" for name, c in result.counts.items()),
    )
    return result
