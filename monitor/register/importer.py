"""Import of register extracts: ``offenders.csv``, ``visits.csv`` and ``officers.csv``
(and the planner's optional ``absences.csv``).

This module runs an import from end to end and is its public face (``import_directory``,
``ImportResult``, ``Reject``, ``ImportFailure``, ``ImportUsageError``). The work is split
by job: ``monitor.extract`` finds the files (the force's names, workbooks, sheets) and
reads them into numbered records of text (CSV in the declared encoding, or a sheet),
``contract`` checks the force's mapping against the contract, ``loading`` runs over the
files inside the transaction, where the header maps the force's columns and codes,
``fields`` turns a record into a row's values (or a reject), ``dedupe``
finds keys a file repeats in bounded memory, ``writing`` stores rows set-based (new ones
through ``bulk``, straight to the driver), ``results`` holds what an import reports,
``runlog`` records a failed run and ``progress`` draws the bar; ``absences`` does what only
absences.csv needs (keys made of two columns, a full extract's withdrawals).

A dry run (``check=True``, ``import --check``) goes through every step but the writes, in
a transaction the database keeps read-only (``db.dry_reading``), and reports exactly what
the import would do, with each file's header mapping and first rows as parsed.

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
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.core.config import Config
from monitor.extract.records import Unreadable
from monitor.register.contract import file_mappings
from monitor.register.db import dry_reading, transaction
from monitor.register.loading import Loader
from monitor.register.presence import (
    check_files,
    holds_files,
    locate_files,
    read_manifest,
)
from monitor.register.results import FilePreview, ImportFailure, ImportResult, ImportUsageError, Presence, Reject
from monitor.register.runlog import db_error_text, record_failure

__all__ = [
    "FilePreview",
    "ImportFailure",
    "ImportResult",
    "ImportUsageError",
    "Presence",
    "Reject",
    "holds_files",
    "import_directory",
    "locate_files",
]

log = logging.getLogger(__name__)


def import_directory(
    engine: Engine,
    config: Config,
    directory: Path,
    *,
    progress: bool = False,
    full: bool = False,
    force: bool = False,
    check: bool = False,
) -> ImportResult:
    """Import the extract in ``directory`` as one transaction; see the module docstring.

    ``full`` declares the extract the whole register (so does ``"full": true`` in its
    ``manifest.json``); ``force`` lets a full extract mark more than
    ``import.max_missing_percent`` absent; ``check`` makes it a dry run that writes nothing
    (not even the record of a failure). Raises ConfigError for a mapping the contract does
    not know, ImportUsageError when the directory holds none of the expected files, and
    ImportFailure (with ``import_id`` of the recorded failed run) on anything fatal.
    """
    directory = Path(directory)
    mappings = file_mappings(config)
    files = locate_files(directory, config.import_settings)
    source = str(directory.resolve())
    importer = Loader(config, files, progress, force=force, dry=check)
    started = importer.now

    def failed(failure: ImportFailure) -> ImportFailure:
        if not check:
            failure.import_id = record_failure(engine, source, started, str(failure))
        return failure

    try:
        manifest = read_manifest(directory)
        if manifest is not None:
            check_files(manifest, set(files))
        importer.manifest = manifest
        importer.full = full or (manifest is not None and manifest.full)
        with closing(importer.books):  # workbooks stay open (read once) from the headers to the end
            importer.check_headers(mappings)
            with dry_reading(engine) if check else transaction(engine) as session:
                result = importer.run(session, source)
    except (ImportFailure, Unreadable) as exc:
        failure = exc if isinstance(exc, ImportFailure) else ImportFailure(str(exc))
        failed(failure)
        # INFO: the caller reports the failure (the CLI in one line, the daemon in its job
        # log); at WARNING the CLI would print it twice.
        log.info("import of %s failed: %s", source, failure)
        if failure is exc:
            raise
        raise failure from None
    except SQLAlchemyError as exc:
        failure = failed(ImportFailure(f"database error: {db_error_text(exc)}"))
        log.info("import of %s failed: %s", source, failure)
        raise failure from exc
    except OSError as exc:
        failure = failed(ImportFailure(f"cannot read the extract: {exc.strerror or type(exc).__name__}"))
        raise failure from exc
    except Exception as exc:
        # A bug. The message may carry row values, so only the type is recorded.
        failure = failed(ImportFailure(f"unexpected error ({type(exc).__name__}); nothing was changed"))
        log.info("import of %s failed unexpectedly (%s)", source, type(exc).__name__)
        log.debug("import of %s failed unexpectedly", source, exc_info=True)
        raise failure from exc
    if check:
        return result
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
