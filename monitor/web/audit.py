"""The access log (DPA 2018 s.62): every view, export, sign-in, sign-out and refusal.

One row per request that touches anything behind sign-in, written before the response
leaves; if the row cannot be written the response is replaced by an error page, so
nothing is ever shown that was not logged. Metadata only: time, officer id, the IdP
subject, the page, the scope asked for, the filters, how many cases were shown and
whether it was allowed. Never case references, names or email addresses. Whatever a
request sent is stored escaped (:func:`escaped`), so a hostile path is logged as well.

The rows live in the web store (:mod:`monitor.web.store`): on SQLite a file of its own,
so an import holding the register's write lock never delays or fails a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session

from monitor.core.clock import now_utc
from monitor.register.db import transaction
from monitor.register.models import AccessLogEntry

ACTIONS: tuple[str, ...] = ("view", "export", "sign_in", "sign_out", "refused")
OUTCOMES: tuple[str, ...] = ("allowed", "refused", "not_found")


@dataclass
class Audit:
    """What the current request will log; views fill in ``cases`` and ``action``."""

    officer_id: str | None = None
    subject: str | None = None
    action: str = "view"
    scope: str = "none"
    filters: str = ""
    cases: int = 0
    outcome: str = "allowed"


def escaped(value: str, limit: int) -> str:
    """``value`` as it can be stored and read back: a value holding a control character written out.

    A probe's path may hold NUL (which PostgreSQL refuses to store, so its refusal would
    go unlogged), other controls (a terminal's escape sequences), line separators or lone
    surrogates: in such a value each becomes ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN`` (and a
    backslash is doubled), so the row is always stored and no control character reaches
    whoever reads the log. Printable values (every key the register can hold) are stored
    as they are, so filtering the log by officer id works as before.
    """
    if value.isprintable():
        return value[:limit]
    out: list[str] = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)[:limit]


def record(engine: Engine, audit: Audit, *, page: str, status: int, at: datetime | None = None) -> None:
    """Write one row to the access log in ``engine`` (the web store); raises if it cannot."""
    with transaction(engine) as db:
        db.add(
            AccessLogEntry(
                at=at or now_utc(),
                officer_id=escaped(audit.officer_id, 64) if audit.officer_id else None,
                subject=escaped(audit.subject or "", 255) or None,
                action=audit.action,
                page=escaped(page, 255),
                scope=escaped(audit.scope, 100),
                filters=escaped(audit.filters, 255),
                cases_shown=audit.cases,
                outcome=audit.outcome,
                status=status,
            )
        )


@dataclass(frozen=True)
class LogQuery:
    officer: str = ""
    action: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1


PAGE_SIZE = 100


def search(db: Session, query: LogQuery, tz: Any) -> tuple[list[AccessLogEntry], bool]:
    """Newest first, filtered; returns one page of rows and whether there are more."""
    stmt: Select[Any] = select(AccessLogEntry)
    if query.officer:
        stmt = stmt.where(AccessLogEntry.officer_id == query.officer)
    if query.action:
        stmt = stmt.where(AccessLogEntry.action == query.action)
    if query.outcome:
        stmt = stmt.where(AccessLogEntry.outcome == query.outcome)
    if query.since is not None:
        stmt = stmt.where(AccessLogEntry.at >= datetime.combine(query.since, time(0), tz))
    if query.until is not None:
        stmt = stmt.where(AccessLogEntry.at < datetime.combine(query.until + timedelta(days=1), time(0), tz))
    stmt = stmt.order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
    rows = list(db.scalars(stmt.offset((query.page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
