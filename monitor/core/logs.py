"""Logging set-up: readable text by default, JSON lines for log shippers.

JSON lines carry ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and, when a
call passes them in ``extra``, the structured fields in :data:`STRUCTURED_FIELDS`
(job, scheduled_for, outcome, counts, ...). Only those whitelisted fields are emitted, so
a stray ``extra`` can never leak a row into the log. Tracebacks are rendered as frames
and exception type only: exception messages from drivers can quote data values, and
this service must never log personal data or message bodies. Every line is passed
through :func:`monitor.core.redact.redact`, so a password or URL credential that reaches a
message (a driver error, a reload refusal) is masked.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import IO, Any

from monitor.core.redact import redact

STRUCTURED_FIELDS: tuple[str, ...] = (
    "job",
    "scheduled_for",
    "outcome",
    "counts",
    "duration_s",
    "worker",
    "error",
)
FORMATS = ("text", "json")


def _exception_summary(record: logging.LogRecord) -> str | None:
    if not record.exc_info or record.exc_info[0] is None:
        return None
    exc_type, _exc, tb = record.exc_info
    return "".join(traceback.format_tb(tb)) + exc_type.__name__


class JsonFormatter(logging.Formatter):
    """One JSON object per line; see the module docstring for the keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in STRUCTURED_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = redact(value) if isinstance(value, str) else value
        exc = _exception_summary(record)
        if exc:
            entry["exception"] = exc
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-11-26 07:00:01 INFO monitor.daemon.schedule: message job=... outcome=...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            text = super().format(record)
        finally:
            record.exc_info, record.exc_text = saved
        extras = []
        for name in STRUCTURED_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                rendered = json.dumps(value, default=str, separators=(",", ":")) if isinstance(value, dict) else value
                extras.append(f"{name}={rendered}")
        if extras:
            text += " [" + " ".join(str(e) for e in extras) + "]"
        exc = _exception_summary(record)
        if exc:
            text += "\n" + exc
        return redact(text)


class RedactingFilter(logging.Filter):
    """Masks secrets in records bound for a handler whose formatter is not ours (the CLI's)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        return True


class EchoOfErrorFilter(logging.Filter):
    """Drops psycopg's "error ignored terminating ..." warning on the CLI.

    psycopg logs it while closing a pipeline or cursor whose connection was just lost, as the
    exception that lost it is on its way up to the command; the command then reports that
    exception in its one line ("import failed, nothing was changed: database error: ...").
    A second line about the same loss, in a library's words, breaks "one clear line" and
    says nothing new. Every other psycopg warning still shows.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("psycopg") and str(record.msg).startswith("error ignored terminating"))


def setup_logging(fmt: str = "text", level: str = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Route all logging to ``stream`` (stderr) in ``fmt``; replaces earlier handlers.

    Called by ``run`` (and again on reload), so the CLI's default WARNING-level
    basicConfig is replaced rather than doubled.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: expected one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every interval tick, Alembic every plugin, at INFO: keep them quiet.
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    return handler
