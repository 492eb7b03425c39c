"""The outbox: rendered messages waiting to be sent, and the disclosure log.

Digests are rendered once and stored as the exact bytes that will go on the wire, with
their Message-ID. Sending is then a separate, retryable step (``deliver``) that never
re-renders: a retry or a resend after an unknown outcome carries the same Message-ID,
so a recipient's mail client can spot a duplicate.

Claims are taken one message at a time, just before it is handed over, with a
conditional UPDATE (``... WHERE id = :id AND status = :observed AND claim_token =
:observed``) committed before any network I/O, so two workers (two daemons, or the daemon
and a manual ``deliver``) never send the same message at the same time. The claim is the
attempt: ``attempts`` counts hand-overs only, and a ``sending`` row is always a message
on the wire. The claim records its worker (``host:pid:nonce``) and a lease the sender
renews while it waits for the relay; a worker that died is seen at once on its own host
(its process is gone) and elsewhere when the lease lapses. Its message is then taken over
and resent with the same Message-ID (at-least-once), and the possible first hand-over is
logged as an ``unknown`` disclosure.

The disclosure log (DPA 2018 s.62) is append-only: when, to whom, which case references,
Message-ID, relay reply and outcome. It never holds a body or a secret.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.core.workers import worker_is_gone
from monitor.mail.messages import addressing_problem, message_bytes
from monitor.register.db import reading, transaction
from monitor.register.models import Disclosure, OutboxMessage

log = logging.getLogger("monitor.mail.outbox")

#: How long a claim protects a ``sending`` row without being renewed. The sending worker
#: renews it while the message is on the wire (:func:`renew`); a claim not renewed for
#: this long belongs to a worker that is gone. On the same host a dead claimer is seen at
#: once (its process no longer exists) without waiting for the lease.
CLAIM_LEASE = timedelta(seconds=30)

#: Disclosure outcomes. ``unrouted``: a digest nobody could be sent (no mailable recipient
#: and no mailable force lead); nothing left, the row is the loud record of it.
OUTCOMES: frozenset[str] = frozenset({"sent", "retry", "failed", "blocked", "unknown", "unrouted"})
KINDS: frozenset[str] = frozenset({"officer", "team", "force", "escalation"})


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
    routed_because: str | None = None,
) -> OutboxMessage | None:
    """Queue ``message`` once per (kind, recipient, period); None if it was already queued.

    ``routed_because``: the digest's own recipient could not be mailed and it goes to a
    force lead instead (delivery then checks the lead role, not the kind's).

    Uses INSERT ... ON CONFLICT DO NOTHING on the unique key, so two digest runs racing
    for the same week queue one message and neither fails. The caller's transaction
    commits it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    message_id = message["Message-ID"]
    if not message_id or not str(message_id).strip():
        raise ValueError("an outbox message needs a Message-ID header")
    content = message_bytes(message, email_policy.SMTP)
    # Misdirected email is the commonest reported breach: the queue refuses a message whose
    # headers could reach anyone but the one recipient the directory vouched for.
    problem = addressing_problem(content, email)
    if problem:
        raise ValueError(problem)
    values = {
        "kind": kind,
        "recipient": recipient,
        "email": email,
        "period": period,
        "message_id": str(message_id).strip(),
        "subject": str(message["Subject"] or ""),
        "content": content,
        "case_refs": list(case_refs),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": None,
        "created_at": now,
        "routed_because": routed_because,
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


def _claimable_sending(row: OutboxMessage, now: datetime) -> bool:
    """A ``sending`` row whose worker is gone: its lease lapsed, or (same host) its process died."""
    if row.claimed_at is None or row.claimed_at < now - CLAIM_LEASE:
        return True
    return row.claimed_by is not None and worker_is_gone(row.claimed_by)


def next_candidate(
    session: Session,
    *,
    now: datetime,
    respect_backoff: bool,
    after_id: int = 0,
    skip: Collection[int] = (),
) -> OutboxMessage | None:
    """The next message a worker could take, read without claiming it (detached, with its bytes).

    First a ``sending`` row whose worker is gone (it was in flight: see
    :func:`take`), then the lowest ``pending`` id above ``after_id`` whose backoff has
    passed (any pending row when ``respect_backoff`` is False). ``after_id`` and ``skip``
    keep one run from taking a message twice. ``session`` is a reading session (the
    caller may check the recipient in the same one).
    """
    for row in session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == "sending").order_by(OutboxMessage.id)
    ):
        if row.id not in skip and _claimable_sending(row, now):
            session.expunge(row)
            return row
    due = and_(OutboxMessage.status == "pending", OutboxMessage.id > after_id)
    if respect_backoff:
        due = and_(due, or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
    first = session.scalars(select(OutboxMessage).where(due).order_by(OutboxMessage.id).limit(1)).first()
    if first is not None:
        session.expunge(first)
    return first


def due_ids(engine: Engine, *, now: datetime, respect_backoff: bool, after_id: int = 0) -> list[int]:
    """Ids of pending messages above ``after_id`` that a run would still try (for its report)."""
    due = and_(OutboxMessage.status == "pending", OutboxMessage.id > after_id)
    if respect_backoff:
        due = and_(due, or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
    with reading(engine) as session:
        return list(session.scalars(select(OutboxMessage.id).where(due).order_by(OutboxMessage.id)))


def new_token(worker: str) -> str:
    """A claim token: the worker (shortened) and a random part, unique per delivery run."""
    return f"{worker[:40]}:{uuid.uuid4().hex[:20]}"


def take(
    engine: Engine,
    candidate: OutboxMessage,
    *,
    worker: str,
    token: str,
    now: datetime,
    attempt: bool,
    transport: str,
) -> OutboxMessage | None:
    """Claim ``candidate`` for ``worker`` and commit, or None if another worker got there first.

    The UPDATE is conditional on the status and claim token we read, so a row is never
    shared. With ``attempt`` the claim *is* the attempt: it is taken just before the
    message is handed over and counts one (``attempts + 1``); a row only ever sits in
    ``sending`` while it is on the wire. Taking over a dead worker's ``sending`` row
    therefore means its message may have gone: that is written to the disclosure log
    (outcome ``unknown``) in the same transaction, and the message is resent with the
    same bytes and Message-ID.
    """
    same_token = (
        OutboxMessage.claim_token.is_(None)
        if candidate.claim_token is None
        else OutboxMessage.claim_token == candidate.claim_token
    )
    values: dict[str, Any] = {"status": "sending", "claim_token": token, "claimed_by": worker, "claimed_at": now}
    if attempt:
        values["attempts"] = OutboxMessage.attempts + 1
    with transaction(engine) as session:
        attempts = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == candidate.id, OutboxMessage.status == candidate.status, same_token)
            .values(**values)
            .returning(OutboxMessage.attempts)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if attempts is None:
            return None
        if candidate.status == "sending":
            record_disclosure(
                session,
                kind=candidate.kind,
                recipient=candidate.recipient,
                email=candidate.email,
                case_refs=list(candidate.case_refs or []),
                message_id=candidate.message_id,
                transport=transport,
                outcome="unknown",
                relay_reply=f"worker {candidate.claimed_by or 'unknown'} died mid-send; outcome unknown, sending again",
                outbox_id=candidate.id,
                at=now,
            )
    taken = OutboxMessage(**{c.key: getattr(candidate, c.key) for c in OutboxMessage.__table__.columns})
    for key, value in {**values, "attempts": attempts}.items():
        setattr(taken, key, value)
    return taken


def claim_next(
    engine: Engine, *, worker: str, now: datetime, respect_backoff: bool, transport: str = "none"
) -> OutboxMessage | None:
    """Take the next claimable message for an attempt (a convenience over the two steps)."""
    token = new_token(worker)
    skip: set[int] = set()
    while True:
        with reading(engine) as session:
            candidate = next_candidate(session, now=now, respect_backoff=respect_backoff, skip=skip)
        if candidate is None:
            return None
        taken = take(engine, candidate, worker=worker, token=token, now=now, attempt=True, transport=transport)
        if taken is not None:
            return taken
        skip.add(candidate.id)


def renew(engine: Engine, token: str, now: datetime) -> int:
    """Renew the lease of every row still ``sending`` under ``token``: the sender is alive."""
    with transaction(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending", OutboxMessage.claim_token == token)
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


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


def mark_sent_if_waiting(session: Session, message: OutboxMessage, at: datetime) -> bool:
    """After a send whose claim was lost: if nobody is sending the row now, it went: ``sent``.

    A row another worker is sending at this moment is left to that worker (it may send a
    recognisable duplicate: at-least-once).
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == "pending")
        .values(status="sent", sent_at=at, claim_token=None, claimed_at=None, claimed_by=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


#: Statuses whose stored message will never be sent again.
FINAL_STATUSES: tuple[str, ...] = ("sent", "failed", "blocked")


def waiting_counts(session: Session, *, other_than: str) -> tuple[int, int]:
    """Messages still to go (pending or sending), and those being sent under another claim.

    One pass over the outbox for both counts a delivery run reports at its end.
    """
    sending_elsewhere = and_(OutboxMessage.status == "sending", OutboxMessage.claim_token != other_than)
    row = session.execute(
        select(
            func.count().filter(OutboxMessage.status.in_(("pending", "sending"))),
            func.count().filter(sending_elsewhere),
        ).select_from(OutboxMessage)
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


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
    return _update_if_ours(session, message, claim_token=None, claimed_at=None, claimed_by=None, **values)


class LeaseKeeper:
    """Renews the lease of the message on the wire while the relay takes its time."""

    def __init__(self, engine: Engine, token: str, every: float) -> None:
        self.engine, self.token, self.every = engine, token, every
        self.active = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-lease", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if self.active:
                try:
                    renew(self.engine, self.token, datetime.now(UTC))
                except Exception as exc:  # the run itself reports database trouble
                    log.warning("renewing the outbox claim failed: %s", type(exc).__name__)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
