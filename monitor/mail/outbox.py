"""The outbox: rendered messages waiting to be sent, and the disclosure log.

Digests are rendered once and stored as the exact bytes that will go on the wire, with
their Message-ID. Sending is then a separate, retryable step (``deliver``) that never
re-renders: a retry or a resend after an unknown outcome carries the same Message-ID,
so a recipient's mail client can spot a duplicate.

Claims use a conditional UPDATE (``... WHERE id = :id AND status = :observed``) committed
before any network I/O, so two workers (two daemons, or the daemon and a manual
``deliver``) never send the same message at the same time. A ``sending`` row whose claim
is older than :data:`CLAIM_LEASE` belongs to a worker that died mid-send: the outcome is
unknown, so it is claimed again and resent with the same Message-ID (at-least-once).

The disclosure log (DPA 2018 s.62) is append-only: when, to whom, which case references,
Message-ID, relay reply and outcome. It never holds a body or a secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import getaddresses

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.register.db import transaction
from monitor.register.models import Disclosure, OutboxMessage

#: How long a claim protects a ``sending`` row; after that the worker is presumed dead.
CLAIM_LEASE = timedelta(minutes=10)

OUTCOMES: frozenset[str] = frozenset({"sent", "retry", "failed", "blocked", "unknown"})
KINDS: frozenset[str] = frozenset({"officer", "team", "force", "escalation"})


def _single_address(message: EmailMessage, email: str) -> None:
    """The stored message must be addressed to exactly ``email`` and nobody else.

    Misdirected email is the commonest reported breach, so the queue refuses a message
    whose headers could reach anyone but the one recipient the directory vouched for.
    """
    for header in ("Cc", "Bcc"):
        if message.get_all(header):
            raise ValueError(f"outbox messages have exactly one recipient: {header} is not allowed")
    to = getaddresses([str(v) for v in message.get_all("To") or []])
    addresses = [addr.lower() for _name, addr in to if addr]
    if addresses != [email.lower()]:
        raise ValueError("the message's To header must be exactly the queued recipient's address")


def enqueue(
    session: Session,
    *,
    kind: str,
    recipient: str,
    email: str,
    period: str,
    message: EmailMessage,
    case_refs: Sequence[str],
    now: datetime,
) -> OutboxMessage | None:
    """Queue ``message`` once per (kind, recipient, period); None if it was already queued.

    Uses INSERT ... ON CONFLICT DO NOTHING on the unique key, so two digest runs racing
    for the same week queue one message and neither fails. The caller's transaction
    commits it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    message_id = message["Message-ID"]
    if not message_id or not str(message_id).strip():
        raise ValueError("an outbox message needs a Message-ID header")
    _single_address(message, email)
    values = {
        "kind": kind,
        "recipient": recipient,
        "email": email,
        "period": period,
        "message_id": str(message_id).strip(),
        "subject": str(message["Subject"] or ""),
        "content": message.as_bytes(policy=email_policy.SMTP),
        "case_refs": list(case_refs),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": None,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["kind", "recipient", "period"])
        .returning(OutboxMessage.id)
    )
    new_id = session.execute(stmt).scalar_one_or_none()
    if new_id is None:
        return None
    return session.get(OutboxMessage, new_id)


def record_disclosure(
    session: Session,
    *,
    kind: str,
    recipient: str,
    email: str,
    case_refs: Sequence[str],
    message_id: str,
    transport: str,
    outcome: str,
    relay_reply: str | None,
    outbox_id: int | None = None,
    at: datetime,
) -> None:
    """Append one disclosure row. Metadata only: callers pass no body and no secret.

    ``relay_reply`` is the relay's final reply for sent/failed/retry, or the reason for
    a blocked or unknown outcome (e.g. "blocked: inactive").
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown disclosure outcome {outcome!r}")
    session.add(
        Disclosure(
            at=at,
            outbox_id=outbox_id,
            message_id=message_id,
            kind=kind,
            recipient=recipient,
            email=email,
            case_refs=list(case_refs),
            transport=transport,
            relay_reply=relay_reply,
            outcome=outcome,
        )
    )
    session.flush()


def claim_batch(
    engine: Engine,
    *,
    worker: str,
    now: datetime,
    respect_backoff: bool,
    limit: int,
    exclude: Collection[int] = (),
) -> list[OutboxMessage]:
    """Claim up to ``limit`` messages for ``worker`` and commit the claim before returning.

    Claimable: ``pending`` rows whose backoff has passed (any pending row when
    ``respect_backoff`` is False), and ``sending`` rows whose claim is older than
    :data:`CLAIM_LEASE`. Each row is taken with an UPDATE conditional on the status and
    claim token we observed, so a row another worker took in between is skipped, never
    shared. ``exclude``: ids this worker already handled in the current run.

    The returned objects carry the new ``claim_token``; every later update of the row
    must be conditional on it (see :func:`still_ours`).
    """
    token = f"{worker[:40]}:{uuid.uuid4().hex[:20]}"
    due = OutboxMessage.status == "pending"
    if respect_backoff:
        due = and_(due, or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
    stale = and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - CLAIM_LEASE)
    query = select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.claim_token).where(or_(due, stale))
    if exclude:
        query = query.where(OutboxMessage.id.not_in(list(exclude)))
    query = query.order_by(OutboxMessage.id).limit(limit)

    claimed_ids: list[int] = []
    with transaction(engine) as session:
        for row_id, status, observed_token in session.execute(query).all():
            same_token = (
                OutboxMessage.claim_token.is_(None)
                if observed_token is None
                else OutboxMessage.claim_token == observed_token
            )
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.status == status, same_token)
                .values(
                    status="sending",
                    claim_token=token,
                    claimed_at=now,
                    attempts=OutboxMessage.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed_ids.append(row_id)
        if not claimed_ids:
            return []
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.id.in_(claimed_ids), OutboxMessage.claim_token == token)
            .order_by(OutboxMessage.id)
            .execution_options(populate_existing=True)
        ).all()
        for row in rows:
            session.expunge(row)
    return list(rows)


def _update_if_ours(session: Session, message: OutboxMessage, **values: object) -> bool:
    """UPDATE the row only while it is still ``sending`` under our claim token."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message.id,
            OutboxMessage.status == "sending",
            OutboxMessage.claim_token == message.claim_token,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def still_ours(session: Session, message: OutboxMessage, now: datetime) -> bool:
    """Renew our claim (conditional on the token); False if another worker took the row.

    Called just before the network send, so a batch that ran long cannot send a message
    whose lease expired and was taken over meanwhile.
    """
    return _update_if_ours(session, message, claimed_at=now)


#: Statuses whose stored message will never be sent again.
FINAL_STATUSES: tuple[str, ...] = ("sent", "failed", "blocked")


def purge_content(session: Session, *, queued_before: datetime) -> int:
    """Erase the stored bodies of finished messages queued before ``queued_before``.

    Data minimisation (DPA 2018 Part 3): once a message has gone (or never will), its body
    is only a second copy of case data. The row stays, with its key, Message-ID, case refs
    and outcome, so idempotency and the disclosure log are unaffected. Returns the count.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status.in_(FINAL_STATUSES),
            OutboxMessage.created_at < queued_before,
            func.length(OutboxMessage.content) > 0,
        )
        .values(content=b"")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def finish(session: Session, message: OutboxMessage, **values: object) -> bool:
    """Move a claimed row to its outcome (conditional on our claim token); clears the claim."""
    return _update_if_ours(session, message, claim_token=None, claimed_at=None, **values)
