"""Import of register extracts: ``offenders.csv``, ``visits.csv`` and ``officers.csv``.

This module runs an import from end to end and is its public face (``import_directory``,
``ImportResult``, ``Reject``, ``ImportFailure``, ``ImportUsageError``). The work is split
by job: ``csvfile`` reads a file into numbered records, ``fields`` turns a record into a
row's values (or a reject), ``dedupe`` finds keys a file repeats in bounded memory,
``writing`` stores rows set-based (new ones through ``bulk``, straight to the driver),
``results`` holds what an import reports, ``runlog`` records a failed run and ``progress``
draws the bar.

Nothing is dropped silently: every row is stored, counted as unchanged, or reported back
(and kept in ``import_rejects``). A row that cannot be understood is rejected with the
file, physical line, field and what was expected; personal data is never echoed in a
reject reason, a warning or a log line.

One import is one transaction. A failure midway (unreadable file, database error, a bug)
rolls the register back to exactly what it was, and the failed attempt is then recorded
in its own small transaction so the daemon and operators can see it.

A full extract (``full=True`` or its ``manifest.json``) also marks whoever it leaves out;
``presence`` says how, and when such an extract is refused as cut short.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.clock import now_utc
from monitor.core.config import Config
from monitor.register import models
from monitor.register.bulk import NewRows
from monitor.register.csvfile import Header, Rows, physical_lines, read_header
from monitor.register.db import transaction
from monitor.register.dedupe import FirstSeen, first_lines
from monitor.register.derived import refresh_after_import
from monitor.register.fields import (
    MAX_LENGTH,
    OFFENDERS,
    PARSERS,
    PRACTICE_COLUMNS,
    SPECS,
    VISITS,
    Bad,
    Cells,
    ParseState,
    Spec,
)
from monitor.register.import_warnings import HIGH_RISK, long_plan, long_plan_warning, reactive_warning
from monitor.register.presence import (
    PRESENCE_FILES,
    Manifest,
    absent_keys,
    check_count,
    check_files,
    locate_files,
    mark_absent,
    presence,
    read_manifest,
)
from monitor.register.progress import Advance, ProgressDisplay
from monitor.register.results import ImportFailure, ImportResult, ImportUsageError, Presence, Reject
from monitor.register.runlog import db_error_text, record_failure
from monitor.register.writing import (
    CHUNK_ROWS,
    MAX_IN_KEYS,
    is_empty,
    prepare,
    refresh_statistics,
    store_rejects,
    write_chunk,
)

__all__ = [
    "ImportFailure",
    "ImportResult",
    "ImportUsageError",
    "Presence",
    "Reject",
    "import_directory",
    "locate_files",
]

log = logging.getLogger(__name__)


class _Importer:
    """One run over the files of one extract, inside one transaction."""

    def __init__(
        self,
        config: Config,
        files: dict[str, Path],
        progress: bool,
        *,
        full: bool = False,
        force: bool = False,
        manifest: Manifest | None = None,
    ):
        self.files = files
        self.progress = progress
        self.full = full
        self.force = force
        self.manifest = manifest
        self.max_missing_percent = config.import_max_missing_percent
        self.recent_n = config.policy.practice.predictable_visits_last
        self.measures = config.policy.practice.measures
        self.presence: list[Presence] = []
        self.headers: dict[str, Header] = {}
        self.rejects: list[Reject] = []
        self.warnings: list[str] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.state = ParseState(config.tz)
        self.import_id = 0
        self.now = now_utc()
        self.on = self.now.astimezone(config.tz).date()
        self.in_limit = MAX_IN_KEYS
        self.fresh = False  # the current file's table was empty when it began
        self.new_rows: NewRows | None = None
        self.reactive_high: list[str] = []  # the current file's, for one warning
        self.long_plans: list[str] = []  # the current file's plan intervals past the warning multiple
        self.intervals = config.policy.intervals
        self.warn_multiple = config.policy.practice.plan_interval_warn_multiple
        #: The optional practice columns this extract's files have (register.derived keeps them).
        self.practice_columns: set[str] = set()

    # -- checks before any write ------------------------------------------------------

    def check_headers(self) -> None:
        """Read every header first so a missing column fails before anything is written."""
        for name, path in self.files.items():
            spec = SPECS[name]
            header = read_header(path, known=spec.known, required=spec.required)
            self.headers[name] = header
            self.practice_columns.update(c for c in PRACTICE_COLUMNS.get(name, ()) if c in header.present)
            self.warnings.extend(header.warnings)

    # -- the run ------------------------------------------------------------------------

    def run(self, session: Session, source: str) -> ImportResult:
        self.in_limit = prepare(session)
        run = models.ImportRun(source=source, started_at=self.now, outcome="running", counts={})
        session.add(run)
        session.flush()
        self.import_id = run.id
        with ProgressDisplay(self.progress) as advance:
            for name, path in self.files.items():
                self.counts[name] = self._import_file(session, SPECS[name], path, advance)
        if self.rejects:
            store_rejects(session, run.id, self.rejects)
        refresh_statistics(session, self.counts)
        refresh_after_import(session, run.id, self.counts, self.recent_n, self.practice_columns, measures=self.measures)
        result = ImportResult(
            import_id=run.id,
            counts=self.counts,
            rejects=self.rejects,
            warnings=self.warnings,
            full=self.full,
            presence=self.presence,
        )
        run.outcome = result.outcome
        run.counts = self.counts
        run.finished_at = now_utc()
        return result

    def _import_file(self, session: Session, spec: Spec, path: Path, advance: Advance) -> dict[str, int]:
        header = self.headers[spec.name]
        counts = {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        if spec.name == VISITS:
            # Visits may name offenders already in the register: one query for all refs
            # (a force holds thousands, England and Wales ~70,000) instead of one per chunk.
            self.state.known_refs.update(session.scalars(select(models.Offender.ref)))
        self.fresh = is_empty(session, spec)
        tracked = spec.name in PRESENCE_FILES
        absent_before = absent_keys(session, spec) if tracked else set()
        # Every key the file names, stored or rejected: only a full extract needs them.
        named: set[str] | None = set() if self.full and tracked else None
        key_pos = header.positions[spec.key]
        parse = PARSERS[spec.name]
        # Keys seen so far, in bounded memory: rows whose key may repeat one are held
        # back and settled after the file (see ``dedupe``).
        seen = FirstSeen.for_file(path)
        held: list[tuple[int, str, dict[str, Any] | Bad]] = []
        buffer: list[dict[str, Any]] = []
        self.reactive_high = []
        self.long_plans = []
        rejects_from = len(self.rejects)
        blank = records = 0
        total = physical_lines(path) if self.progress else 0
        task = advance(spec.name, total, 0)
        rows = Rows(path)
        # Everything is new in a table that began empty: on PostgreSQL one COPY streams it.
        self.new_rows = NewRows(session, cast(Table, spec.model.__table__), stream=self.fresh)
        try:
            items = iter(rows)
            for _line, record, _problem in items:  # skip to the header, already checked
                if "".join(record).strip():
                    break
            for line, record, problem in items:
                if problem is None and not "".join(record).strip():
                    blank += 1
                    continue
                records += 1
                if named is not None and key_pos < len(record):
                    named_key = record[key_pos].strip()
                    if named_key and len(named_key) <= MAX_LENGTH and named_key.isprintable():
                        named.add(named_key)
                try:
                    if problem is not None:
                        raise Bad(None, problem)
                    cells = Cells(header, record)
                    key = cells.text(spec.key, required=True)
                    assert key is not None
                    maybe_seen = seen.add(key)
                    try:
                        values = parse(self.state, cells)
                    except Bad as bad:
                        if not maybe_seen:
                            raise
                        held.append((line, key, bad))  # a duplicate is reported as one
                        continue
                    values[spec.key] = key
                    if maybe_seen:
                        held.append((line, key, values))
                        continue
                except Bad as bad:
                    self._reject(path, line, bad, counts)
                    continue
                self._accept(session, spec, line, values, buffer, counts)
                if records % CHUNK_ROWS == 0:
                    advance(spec.name, total, rows.line_num, task)
            if held:
                self._settle(session, spec, path, held, buffer, counts)
                self.rejects[rejects_from:] = sorted(self.rejects[rejects_from:], key=lambda r: r.line)
            if buffer:
                self._write(session, spec, buffer, counts)
            self.new_rows.close()
            advance(spec.name, total, total or rows.line_num, task)
        finally:
            self.new_rows.abort()  # a no-op once closed
            rows.close()
        reactive_high, long_plans = self.reactive_high, self.long_plans
        check_count(self.manifest, spec.name, records)
        if blank:
            self.warnings.append(f"{path.name}: skipped {blank} blank line{'s' if blank != 1 else ''}")
        if reactive_high:
            self.warnings.append(reactive_warning(path.name, reactive_high))
        if long_plans:
            self.warnings.append(long_plan_warning(path.name, long_plans, self.warn_multiple))
        if named is not None:
            self.presence.append(
                mark_absent(
                    session,
                    spec,
                    named,
                    absent_before,
                    on=self.on,
                    max_missing_percent=self.max_missing_percent,
                    force=self.force,
                )
            )
        elif tracked:
            self.presence.append(presence(session, spec, absent_before, marked=[], on=self.on))
        return counts

    def _reject(self, path: Path, line: int, bad: Bad, counts: dict[str, int]) -> None:
        self.rejects.append(Reject(path.name, line, bad.field, bad.reason))
        counts["rejected"] += 1

    def _accept(
        self,
        session: Session,
        spec: Spec,
        line: int,
        values: dict[str, Any],
        buffer: list[dict[str, Any]],
        counts: dict[str, int],
    ) -> None:
        """A good row: note what later files and warnings need, and write full chunks."""
        if spec.name == OFFENDERS:
            key = values[spec.key]
            self.state.known_refs.add(key)
            if values.get("management") == "reactive" and values["risk_level"] in HIGH_RISK:
                self.reactive_high.append(f"{key} (line {line})")
            default = self.intervals[values["risk_level"]]
            if long_plan(values.get("visit_interval"), default, self.warn_multiple):
                self.long_plans.append(f"{key} (line {line}: {values['visit_interval']} against {default})")
        buffer.append(values)
        if len(buffer) >= CHUNK_ROWS:
            self._write(session, spec, buffer, counts)
            buffer.clear()

    def _settle(
        self,
        session: Session,
        spec: Spec,
        path: Path,
        held: list[tuple[int, str, dict[str, Any] | Bad]],
        buffer: list[dict[str, Any]],
        counts: dict[str, int],
    ) -> None:
        """Rows held back as maybe repeating a key: a duplicate, or the first after all."""
        keys = {key for _line, key, _outcome in held}
        first = first_lines(path, self.headers[spec.name], spec.key, keys, until=held[-1][0])
        for line, key, outcome in held:
            if first[key] < line:
                self._reject(
                    path, line, Bad(spec.key, f"duplicate {spec.key}, first seen on line {first[key]}"), counts
                )
            elif isinstance(outcome, Bad):
                self._reject(path, line, outcome, counts)
            else:
                self._accept(session, spec, line, outcome, buffer, counts)

    def _write(self, session: Session, spec: Spec, rows: list[dict[str, Any]], counts: dict[str, int]) -> None:
        """Hand one chunk to ``writing``, stamped with this run."""
        assert self.new_rows is not None
        write_chunk(
            session,
            spec,
            rows,
            counts,
            import_id=self.import_id,
            now=self.now,
            in_limit=self.in_limit,
            new_rows=self.new_rows,
            fresh=self.fresh,
        )


def import_directory(
    engine: Engine,
    config: Config,
    directory: Path,
    *,
    progress: bool = False,
    full: bool = False,
    force: bool = False,
) -> ImportResult:
    """Import the extract in ``directory`` as one transaction; see the module docstring.

    ``full`` declares the extract the whole register (so does ``"full": true`` in its
    ``manifest.json``); ``force`` lets a full extract mark more than
    ``import.max_missing_percent`` absent. Raises ImportUsageError when the directory holds
    none of the expected files, and ImportFailure (with ``import_id`` of the recorded
    failed run) on anything fatal.
    """
    directory = Path(directory)
    files = locate_files(directory)
    source = str(directory.resolve())
    importer = _Importer(config, files, progress, force=force)
    started = importer.now
    try:
        manifest = read_manifest(directory)
        if manifest is not None:
            check_files(manifest, set(files))
        importer.manifest = manifest
        importer.full = full or (manifest is not None and manifest.full)
        importer.check_headers()
        with transaction(engine) as session:
            result = importer.run(session, source)
    except ImportFailure as exc:
        exc.import_id = record_failure(engine, source, started, str(exc))
        # INFO: the caller reports the failure (the CLI in one line, the daemon in its job
        # log); at WARNING the CLI would print it twice.
        log.info("import of %s failed: %s", source, exc)
        raise
    except SQLAlchemyError as exc:
        failure = ImportFailure(f"database error: {db_error_text(exc)}")
        failure.import_id = record_failure(engine, source, started, str(failure))
        log.info("import of %s failed: %s", source, failure)
        raise failure from exc
    except OSError as exc:
        failure = ImportFailure(f"cannot read the extract: {exc.strerror or type(exc).__name__}")
        failure.import_id = record_failure(engine, source, started, str(failure))
        raise failure from exc
    except Exception as exc:
        # A bug. The message may carry row values, so only the type is recorded.
        failure = ImportFailure(f"unexpected error ({type(exc).__name__}); nothing was changed")
        failure.import_id = record_failure(engine, source, started, str(failure))
        log.info("import of %s failed unexpectedly (%s)", source, type(exc).__name__)
        log.debug("import of %s failed unexpectedly", source, exc_info=True)
        raise failure from exc
    log.info(
        "import %s of %s: %s%s (%s)",
        result.import_id,
        source,
        result.outcome,
        " (full extract)" if result.full else "",
        "; ".join(f"{name} {c}" for name, c in result.counts.items()),
    )
    for p in result.presence:
        if p.marked or p.returned:
            log.info(
                "import %s: %s: %d newly not in the full extract, %d back, %d absent in all",
                result.import_id,
                p.file,
                len(p.marked),
                p.returned,
                p.absent,
            )
    return result
