"""How a job's failure is told, to ``job_runs`` and to the log, without personal data.

Jobs raise :class:`JobFailed`; the runner, the tick loop, the heartbeat, the import job and
the metrics endpoint all turn exceptions into text with :func:`safe_error`. One module
below all of them, so none of them has to import another to reach it.
"""

from __future__ import annotations

import traceback
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from monitor.core.config import ConfigError
from monitor.core.redact import redact
from monitor.register.db import SchemaError
from monitor.register.importer import ImportFailure


class JobFailed(Exception):
    """The job ran but must be recorded as failed; ``counts`` are kept with the run."""

    def __init__(self, message: str, counts: dict[str, Any] | None = None):
        super().__init__(message)
        self.counts = counts or {}


def safe_error(exc: BaseException) -> str:
    """An error text for job_runs and logs that carries no personal data.

    Our own exceptions (config, schema, import failures, JobFailed) are written to name a
    file, line or key, never a value. Database driver messages can quote row values, and
    arbitrary exceptions can carry anything, so for those only the type is kept.
    """
    trusted = (JobFailed, ConfigError, SchemaError, ImportFailure, OSError, TimeoutError)
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        inner = f" ({type(orig).__name__})" if orig is not None else ""
        return f"database error: {type(exc).__name__}{inner}"
    if isinstance(exc, trusted):
        text = redact(str(exc).splitlines()[0]) if str(exc) else ""
        return f"{type(exc).__name__}: {text[:500]}" if text else type(exc).__name__
    return f"{type(exc).__name__} (details withheld; see the traceback in the log)"


def traceback_frames(exc: BaseException) -> str:
    """Where it failed (file, line, code) without the exception message (may hold data)."""
    return "".join(traceback.format_tb(exc.__traceback__))
