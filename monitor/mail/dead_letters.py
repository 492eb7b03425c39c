"""Dead letters: listing what the outbox gave up on, and putting it back in the queue.

A message is dead-lettered (``failed``) on a permanent refusal or after ``mail.max_attempts``
real attempts; a ``blocked`` one was refused by the allow-list. Either way the outbox key
(kind, recipient, period) stops ``digest`` from queueing that week's digest again, so once
the cause is fixed (a mailbox restored, the directory corrected) an operator re-queues it
here: the very same stored bytes, with the same Message-ID, go back to ``pending`` with
their attempts reset, and the recipient is checked again at send time as always.

Every re-queue is an operator action on case data, so it is recorded twice: a row in
``outbox_requeues`` (who, when, which message, from which status, how many attempts it
had, its last error, the operator's note) and a log line naming the operator and the
outbox id (never an address or a body). A message whose stored body was already erased
(``mail.keep_sent_days``) cannot be re-sent and is reported, not re-queued.
"""

from __future__ import annotations

import getpass
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, func, select, update

from monitor.register.db import reading, transaction
from monitor.register.models import OutboxMessage, OutboxRequeue

log = logging.getLogger("monitor.mail.dead_letters")

#: Statuses an operator may re-queue: dead letters, and messages the allow-list blocked.
REQUEUEABLE: tuple[str, ...] = ("failed", "blocked")
#: ``--status`` words for listing; "dead" is the operator's name for ``failed``.
STATUS_ALIASES: dict[str, tuple[str, ...]] = {
    "dead": ("failed",),
    "failed": ("failed",),
    "blocked": ("blocked",),
    "pending": ("pending",),
    "sending": ("sending",),
    "sent": ("sent",),
    "all": ("pending", "sending", "sent", "failed", "blocked"),
}


@dataclass(frozen=True)
class Selection:
    """Which outbox rows a command acts on; empty fields do not filter."""

    statuses: tuple[str, ...]
    ids: tuple[int, ...] = ()
    kind: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class Listed:
    id: int
    kind: str
    recipient: str
    period: str
    status: str
    attempts: int
    created_at: datetime
    last_error: str | None
    routed_because: str | None


@dataclass
class RequeueResult:
    requeued: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (outbox id, why not)


def operator_name() -> str:
    """Who is running this command: the OS user at this host (for the audit row and log)."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        user = "unknown-user"
    return f"{user}@{socket.gethostname()}"


def _query(selection: Selection) -> Select[Any]:
    query = select(OutboxMessage).where(OutboxMessage.status.in_(selection.statuses))
    if selection.ids:
        query = query.where(OutboxMessage.id.in_(selection.ids))
    if selection.kind:
        query = query.where(OutboxMessage.kind == selection.kind)
    if selection.since is not None:
        query = query.where(OutboxMessage.created_at >= selection.since)
    return query.order_by(OutboxMessage.id)


def list_messages(engine: Engine, selection: Selection, limit: int = 500) -> tuple[list[Listed], int]:
    """The selected outbox rows (metadata only, never the body), and how many match in all."""
    query = _query(selection)
    with reading(engine) as session:
        total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        rows = [
            Listed(
                r.id,
                r.kind,
                r.recipient,
                r.period,
                r.status,
                r.attempts,
                r.created_at,
                r.last_error,
                r.routed_because,
            )
            for r in session.scalars(query.limit(limit))
        ]
    return rows, total


def requeue(
    engine: Engine,
    selection: Selection,
    *,
    operator: str,
    now: datetime,
    note: str | None = None,
) -> RequeueResult:
    """Put the selected dead letters back to ``pending`` (attempts 0), audited, in one transaction.

    Each row moves with an UPDATE conditional on the status we read, so a message another
    operator re-queued meanwhile is not re-queued twice.
    """
    statuses: Sequence[str] = [s for s in selection.statuses if s in REQUEUEABLE]
    if not statuses:
        raise ValueError(f"only {' and '.join(REQUEUEABLE)} messages can be re-queued")
    result = RequeueResult()
    what: list[tuple[int, str, str, str, str, int]] = []
    with transaction(engine) as session:
        rows = list(session.scalars(_query(Selection(tuple(statuses), selection.ids, selection.kind, selection.since))))
        for row in rows:
            if not row.content:
                result.refused.append((row.id, "its stored body was erased (mail.keep_sent_days)"))
                continue
            moved = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.status == row.status)
                .values(
                    status="pending",
                    attempts=0,
                    next_attempt_at=None,
                    claim_token=None,
                    claimed_at=None,
                    claimed_by=None,
                    last_error=None,
                )
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                continue
            session.add(
                OutboxRequeue(
                    at=now,
                    operator=operator,
                    outbox_id=row.id,
                    from_status=row.status,
                    attempts=row.attempts,
                    last_error=row.last_error,
                    note=note,
                )
            )
            result.requeued.append(row.id)
            what.append((row.id, row.kind, row.recipient, row.period, row.status, row.attempts))
    for outbox_id, kind, recipient, period, status, attempts in what:
        log.warning(
            "outbox %s re-queued by %s at %s: %s digest for officer %s, period %s (was %s after %s attempt(s))",
            outbox_id,
            operator,
            now.isoformat(),
            kind,
            recipient,
            period,
            status,
            attempts,
        )
    return result
