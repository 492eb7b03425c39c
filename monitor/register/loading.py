"""One run over the files of one extract: read, map, parse, hold back repeats, write or count.

``importer`` opens the transaction and reports; this is the work inside it, file by file in
the contract's order (officers, offenders, visits, absences). Each record is mapped (the force's codes
to the contract's values), parsed by ``fields`` into a row or a reject, checked for a key the
file repeats (``dedupe``, in bounded memory) and written a chunk at a time (``writing``). A
full extract also marks who it leaves out (``presence``). A dry run does all of it but the
writes, and keeps what ``import --check`` shows: each file's mapping, its first rows as
parsed and the characters beyond ASCII it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from monitor.core.clock import now_utc
from monitor.core.config import Config
from monitor.extract.books import Books
from monitor.extract.csvfile import physical_lines
from monitor.extract.mapping import FileMapping, Header
from monitor.extract.records import Source, first_record
from monitor.register import models
from monitor.register.absences import after_absences, record_key
from monitor.register.bulk import NewRows
from monitor.register.cells import Bad, Cells, ParseState
from monitor.register.dedupe import FirstSeen, KeySpool, first_lines
from monitor.register.derived import refresh_after_import
from monitor.register.fields import PARSERS, row_key
from monitor.register.import_warnings import HIGH_RISK, long_plan, long_plan_warning, reactive_warning
from monitor.register.presence import PRESENCE_FILES, Manifest, absent_keys, check_count, mark_absent, presence
from monitor.register.progress import Advance, ProgressDisplay
from monitor.register.results import FilePreview, ImportFailure, ImportResult, Presence, Reject
from monitor.register.specs import ABSENCES, MAX_LENGTH, OFFENDERS, PRACTICE_COLUMNS, SPECS, VISITS, Spec
from monitor.register.writing import (
    CHUNK_ROWS,
    MAX_IN_KEYS,
    build_indexes,
    drop_indexes,
    finish,
    is_empty,
    prepare,
    refresh_statistics,
    store_rejects,
    write_chunk,
)

#: Rows a dry run shows per file, as parsed.
PREVIEW_ROWS = 5
#: Characters beyond ASCII a dry run lists per field.
PREVIEW_CHARACTERS = 40


class Loader:
    """One run over the files of one extract, inside one transaction."""

    def __init__(
        self,
        config: Config,
        files: dict[str, Source],
        progress: bool,
        *,
        full: bool = False,
        force: bool = False,
        manifest: Manifest | None = None,
        dry: bool = False,
    ):
        self.files = files
        self.progress = progress
        self.full = full
        self.force = force
        self.manifest = manifest
        self.dry = dry
        self.max_missing_percent = config.import_max_missing_percent
        self.recent_n = config.policy.practice.predictable_visits_last
        self.measures = config.policy.practice.measures
        self.intervals = config.policy.intervals
        self.warn_multiple = config.policy.practice.plan_interval_warn_multiple
        #: The optional practice columns this extract's files have (register.derived keeps them).
        self.practice_columns: set[str] = set()
        self.encoding = config.import_settings.encoding
        self.mappings: dict[str, FileMapping] = {}
        self.presence: list[Presence] = []
        self.headers: dict[str, Header] = {}
        self.previews: dict[str, FilePreview] = {}
        self.rejects: list[Reject] = []
        self.warnings: list[str] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.state = ParseState(config.tz, config.import_settings.date_formats)
        self.import_id = 0
        self.now = now_utc()
        self.on = self.now.astimezone(config.tz).date()
        self.in_limit = MAX_IN_KEYS
        self.fresh = False  # the current file's table was empty when it began
        self.new_rows: NewRows | None = None
        self.reactive_high: list[str] = []  # the current file's, for one warning
        self.long_plans: list[str] = []  # the current file's plan intervals past the warning multiple
        self.returned: set[str] = set()  # a dry run's: marked keys the current file names again
        #: Workbooks this run has open (each read once); closed by the caller when the run ends.
        self.books = Books()
        self.spool: KeySpool | None = None  # the current file's, when it is a workbook

    # -- checks before any write ------------------------------------------------------

    def check_headers(self, mappings: dict[str, FileMapping]) -> None:
        """Read every header first so a missing column fails before anything is written."""
        self.mappings = mappings
        for name, source in self.files.items():
            spec = SPECS[name]
            records = source.open(self.encoding, self.books)
            try:
                first = first_record(records)
            finally:
                records.close()
            if first is None:
                raise ImportFailure(
                    f"{source.label}: empty file (expected a header line with {', '.join(spec.required)})"
                )
            header = Header(
                source.label, first[1], known=spec.known, required=spec.required, mapping=mappings.get(name)
            )
            self.headers[name] = header
            self.practice_columns.update(c for c in PRACTICE_COLUMNS.get(name, ()) if c in header.present)
            self.warnings.extend(header.warnings)
            if self.dry:
                self.previews[name] = FilePreview(
                    file=name,
                    label=source.label,
                    note=source.note,
                    reading=f"sheet {source.sheet!r}" if source.is_workbook else f"encoding {self.encoding}",
                    matched=header.matched,
                    codes={f: list(m.pairs()) for f, m in header.value_maps.items()},
                )

    # -- the run ------------------------------------------------------------------------

    def run(self, session: Session, source: str) -> ImportResult:
        self.in_limit = prepare(session, dry=self.dry)
        run: models.ImportRun | None = None
        if not self.dry:
            run = models.ImportRun(source=source, started_at=self.now, outcome="running", counts={})
            session.add(run)
            session.flush()
            self.import_id = run.id
        with ProgressDisplay(self.progress) as advance:
            for name, source_file in self.files.items():
                self.counts[name] = self._import_file(session, SPECS[name], source_file, advance)
        result = ImportResult(
            import_id=self.import_id,
            counts=self.counts,
            rejects=self.rejects,
            warnings=self.warnings,
            full=self.full,
            presence=self.presence,
            dry=self.dry,
            previews=list(self.previews.values()),
        )
        finish(session)
        if run is not None:
            if self.rejects:
                store_rejects(session, run.id, self.rejects)
            refresh_statistics(session, self.counts)
            refresh_after_import(
                session, run.id, self.counts, self.recent_n, self.practice_columns, measures=self.measures
            )
            run.outcome = result.outcome
            run.counts = self.counts
            run.finished_at = now_utc()
        return result

    def _import_file(self, session: Session, spec: Spec, source: Source, advance: Advance) -> dict[str, int]:
        header = self.headers[spec.name]
        counts = {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        if spec.name == VISITS:
            # Visits may name offenders already in the register: one query for all refs
            # (a force holds thousands, England and Wales ~70,000) instead of one per chunk.
            self.state.known_refs.update(session.scalars(select(models.Offender.ref)))
        self.fresh = is_empty(session, spec)
        # A table that began empty gets its secondary indexes after its rows (SQLite).
        unindexed = drop_indexes(session, spec) if self.fresh and not self.dry else []
        tracked = spec.name in PRESENCE_FILES
        absent_before = absent_keys(session, spec) if tracked else set()
        self.returned = set()
        # Every key the file names, stored or rejected: only a full extract needs them.
        named: set[str] | None = set() if self.full and tracked else None
        translate = self._translate(header)
        key_pos = header.positions.get(spec.key, 0)  # (a made key: absences, see key_of)
        # A key made of several columns (absences.csv), read off a raw record.
        key_of = record_key(self.state, spec, header, translate) if spec.key_columns else None
        # The absences a full extract names (stored or rejected), for its withdrawals.
        named_absences: set[str] | None = set() if self.full and spec.name == ABSENCES else None
        parse = PARSERS[spec.name]
        preview = self.previews.get(spec.name)
        # Keys seen so far, in bounded memory: rows whose key may repeat one are held
        # back and settled after the file (see ``dedupe``).
        seen = FirstSeen.for_file(source)
        # A workbook is costly to read twice: its keys are kept for the settling pass.
        spool = KeySpool() if source.is_workbook else None
        self.spool = spool
        width = header.width
        held: list[tuple[int, str, dict[str, Any] | Bad]] = []
        buffer: list[dict[str, Any]] = []
        self.reactive_high = []
        self.long_plans = []
        rejects_from = len(self.rejects)
        blank = records = 0
        total = physical_lines(source.path) if self.progress and not source.is_workbook else 0
        task = advance(spec.name, total, 0)
        rows = source.open(self.encoding, self.books)
        # Everything is new in a table that began empty: on PostgreSQL one COPY streams it.
        self.new_rows = None if self.dry else NewRows(session, cast(Table, spec.model.__table__), stream=self.fresh)
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
                made: str | None = None
                if problem is None and len(record) == width:
                    made = key_of(record) if key_of is not None else record[key_pos].strip()
                    if spool is not None and made is not None:
                        spool.add(line, made)
                if named_absences is not None and key_of is not None and made is not None:
                    named_absences.add(made)
                if named is not None and key_pos < len(record):
                    named_key = record[key_pos].strip()
                    if named_key and len(named_key) <= MAX_LENGTH and named_key.isprintable():
                        named.add(named_key)
                if preview is not None and not "".join(record).isascii():
                    _characters(preview, header, record)
                try:
                    if problem is not None:
                        raise Bad(None, problem)
                    cells = Cells(header, translate(record) if translate is not None else record)
                    key = row_key(self.state, spec, cells)
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
                    self._reject(source, line, bad, counts)
                    continue
                self._accept(session, spec, line, values, buffer, counts)
                if records % CHUNK_ROWS == 0:
                    advance(spec.name, total, rows.line_num, task)
            if held:
                self._settle(session, spec, source, held, buffer, counts)
                self.rejects[rejects_from:] = sorted(self.rejects[rejects_from:], key=lambda r: r.line)
            if buffer:
                self._write(session, spec, buffer, counts)
            if self.new_rows is not None:
                self.new_rows.close()
            build_indexes(session, unindexed)
            advance(spec.name, total, total or rows.line_num, task)
        finally:
            if self.new_rows is not None:
                self.new_rows.abort()  # a no-op once closed
            rows.close()
            if spool is not None:
                spool.close()
                self.spool = None
        self.warnings.extend(rows.warnings)
        reactive_high, long_plans = self.reactive_high, self.long_plans
        check_count(self.manifest, spec.name, records)
        if blank:
            self.warnings.append(f"{source.label}: skipped {blank} blank line{'s' if blank != 1 else ''}")
        if reactive_high:
            self.warnings.append(reactive_warning(source.label, reactive_high))
        if long_plans:
            self.warnings.append(long_plan_warning(source.label, long_plans, self.warn_multiple))
        if spec.name == ABSENCES:
            self.warnings.extend(after_absences(session, source.label, named_absences, on=self.on, dry=self.dry))
        returned = self.returned if self.dry else None
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
                    returned=returned,
                )
            )
        elif tracked:
            self.presence.append(presence(session, spec, absent_before, marked=[], on=self.on, returned=returned))
        if self.dry and tracked:
            self.returned = set()
        return counts

    @staticmethod
    def _translate(header: Header) -> Callable[[list[str]], list[str]] | None:
        """The header's translation of the force's codes, when it has any to make."""
        return header.translate if header.translates else None

    def _reject(self, source: Source, line: int, bad: Bad, counts: dict[str, int]) -> None:
        self.rejects.append(Reject(source.label, line, bad.field, bad.reason))
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
        if self.dry:
            preview = self.previews[spec.name]
            if len(preview.rows) < PREVIEW_ROWS:  # the key first, as the file has it; no bookkeeping
                shown = {spec.key: values[spec.key]} | {k: v for k, v in values.items() if k not in spec.derived}
                preview.rows.append((line, shown))
            if spec.name in PRESENCE_FILES:
                self.returned.add(values[spec.key])
        buffer.append(values)
        if len(buffer) >= CHUNK_ROWS:
            self._write(session, spec, buffer, counts)
            buffer.clear()

    def _settle(
        self,
        session: Session,
        spec: Spec,
        source: Source,
        held: list[tuple[int, str, dict[str, Any] | Bad]],
        buffer: list[dict[str, Any]],
        counts: dict[str, int],
    ) -> None:
        """Rows held back as maybe repeating a key: a duplicate, or the first after all."""
        keys = {key for _line, key, _outcome in held}
        header = self.headers[spec.name]
        key_of = record_key(self.state, spec, header, self._translate(header)) if spec.key_columns else None
        first = first_lines(
            source,
            self.encoding,
            header,
            spec.key,
            keys,
            until=held[-1][0],
            books=self.books,
            spool=self.spool,
            key_of=key_of,
        )
        for line, key, outcome in held:
            if first[key] < line:
                duplicate = Bad(spec.key_field, f"duplicate {spec.key_label}, first seen on line {first[key]}")
                self._reject(source, line, duplicate, counts)
            elif isinstance(outcome, Bad):
                self._reject(source, line, outcome, counts)
            else:
                self._accept(session, spec, line, outcome, buffer, counts)

    def _write(self, session: Session, spec: Spec, rows: list[dict[str, Any]], counts: dict[str, int]) -> None:
        """Hand one chunk to ``writing``, stamped with this run (a dry run only counts it)."""
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


def _characters(preview: FilePreview, header: Header, record: list[str]) -> None:
    """Note the characters beyond ASCII in each field's cell (a dry run shows them)."""
    for name, pos in header.positions.items():
        if pos < len(record) and not record[pos].isascii():
            found = preview.characters.setdefault(name, set())
            if len(found) < PREVIEW_CHARACTERS:
                found.update(ch for ch in record[pos] if not ch.isascii() and ch.isprintable())
