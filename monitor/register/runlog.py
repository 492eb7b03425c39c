"""Failed imports, recorded on their own after the import's transaction was rolled back.

Why a separate transaction: an import is all or nothing, so its own ImportRun row goes
with the rollback; the daemon's job log, ``visit-monitor health`` and the web app's ops
page must still see that an attempt failed and why. The reason is the database's first
line or the importer's own words, never SQLAlchemy's rendering, which quotes row values.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.core.clock import now_utc
from monitor.register import models
from monitor.register.db import transaction

log = logging.getLogger("monitor.register.importer")


def db_error_text(exc: SQLAlchemyError) -> str:
    """The database's own first line, never SQLAlchemy's rendering (which includes row values)."""
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else type(exc).__name__
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def record_failure(engine: Engine, source: str, started: datetime, error: str) -> int | None:
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
        log.error("import failed and could not be recorded: %s", db_error_text(exc))
        return None
