"""Send what the outbox holds, and log every disclosure: the outbox side of delivery.

One call of :func:`deliver_pending` takes pending messages one at a time, re-checks each
recipient against the officer directory, claims the message just before handing it over
(the claim, committed before any network I/O, is the attempt: see
:mod:`monitor.mail.outbox`), hands the stored bytes unchanged (same Message-ID on every
attempt) to exactly one recipient through a transport, and records the outcome and its
disclosure in one transaction. A send whose claim was lost meanwhile is still disclosed.
While a message is on the wire a background thread renews its claim's lease, so a slow
relay never makes a live sender look dead. How a
message travels (SMTP over verified TLS, a maildir folder) is the transport's business
(:mod:`monitor.mail.transports`); what each kind of failure means for the outbox is decided
here, the same for every transport.

Outcomes, and why (the SMTP wording; each transport maps its own errors onto the same
failure kinds, :mod:`monitor.mail.transports.base`):

* **sent**: the relay answered 250 after DATA. Status ``sent``; the reply is logged.
* **blocked**: the recipient is no longer allowed (inactive, moved role, domain not
  allowed, address changed since queueing). Never sent; status ``blocked``.
* **not attempted** (``Unreachable``): the relay cannot be reached at all (connection
  refused, name not resolved, no greeting before the timeout, a 4xx greeting). Nothing
  was handed over, so *no attempt is spent* and no disclosure is written: the run stops,
  every message waits for the next run (no backoff), and the report says how many and
  why (``ok`` is False, ``deliver`` and ``digest`` exit 1). An outage of any length
  never turns the week's digests into dead letters.
* **retry** (``TransientFailure``): a 4xx reply, or the connection lost *before* the
  payload was handed over. Back to ``pending`` with exponential backoff
  (``retry_base_seconds * 2**(attempts-1)``, capped at ``retry_max_seconds``, plus up
  to 10 % jitter so workers do not retry in lockstep). After ``mail.max_attempts`` the
  message is dead-lettered (``failed``).
* **failed** (``PermanentFailure``): a 5xx reply at RCPT or DATA. Dead letter at once: retrying a
  refusal only repeats it.
* **unknown** (``UnknownOutcome``): the connection dropped *after* the whole payload was sent but before the
  relay's reply. The relay may have queued it. We resend at the next run with the same
  bytes and Message-ID (at-least-once: a possible duplicate is better than a lost
  overdue-visit warning, and the duplicate is recognisable).
* **batch stop** (``StopBatch``): a certificate or TLS failure, STARTTLS not offered, plaintext to a
  non-loopback host, a login refused, or the relay refusing our sender. These are about
  the relay or our configuration, not one message, so the whole run stops at once and
  nothing more is offered to that relay. The claimed messages go back to ``pending``
  *without* counting an attempt (no message content left us, and a broken certificate
  must not dead-letter the week's digests); no disclosure row is written because nothing
  was disclosed. The report says why and ``ok`` is False.

A database failure mid-run (a connection terminated) is retried a few times for the
write that records a send, so a send that happened is not forgotten, then stops the run
with one plain line (``database_error``); the next run carries on.

Logs carry outbox ids, officer ids, counts, outcomes and reply codes only; never bodies,
subjects' contents beyond the marking, addresses or the relay password.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.core.config import Config
from monitor.core.workers import make_worker_id
from monitor.mail import outbox
from monitor.mail.delivery_report import DeliveryReport, Detail
from monitor.mail.recipients import stored_message_problem
from monitor.mail.transports import make_transport
from monitor.mail.transports.base import (
    Outgoing,
    PermanentFailure,
    StopBatch,
    TransientFailure,
    Transport,
    UnknownOutcome,
    Unreachable,
)
from monitor.register.db import reading, transaction
from monitor.register.models import OutboxMessage

__all__ = ["DeliveryReport", "Detail", "backoff_seconds", "deliver_pending"]

log = logging.getLogger("monitor.mail.delivery")

#: How often the lease of a message on the wire is renewed (well inside outbox.CLAIM_LEASE).
RENEW_EVERY_SECONDS = 10.0
#: Tries of the write that records a send, when the database connection is lost.
RECORD_TRIES = 4
T = TypeVar("T")


def backoff_seconds(attempts: int, base: int, maximum: int) -> int:
    """Delay before attempt ``attempts + 1``: base, 2*base, 4*base, ... capped at maximum."""
    return int(min(base * 2 ** max(attempts - 1, 0), maximum))


def _now() -> datetime:
    return datetime.now(UTC)


def _log_code(reason: str) -> str:
    """A log-safe summary of a reply or reason: the reply code, or the error class."""
    first = reason.split(" ", 2)
    if first and first[0].isdigit():
        return " ".join(first[:2])
    return reason.split(":", 1)[0]


def database_error_text(exc: SQLAlchemyError) -> str:
    """A database failure in one line: the error class only (driver text can quote row values)."""
    lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
    return f"database error during delivery: {type(exc).__name__}" + (" (connection lost)" if lost else "")


class _Run:
    """One delivery run: the transport session and what happened to each message."""

    def __init__(
        self, engine: Engine, config: Config, transport: Transport, *, worker: str, keeper: outbox.LeaseKeeper
    ):
        self.engine, self.config, self.transport = engine, config, transport
        self.worker, self.keeper = worker, keeper
        self.report = DeliveryReport()
        self.opened = False
        self.halted = False
        #: Ids this run left waiting (retry, unknown outcome, released claim).
        self.left_pending: set[int] = set()

    # -- bookkeeping

    def _unsent(self, message_id: int, reason: str) -> None:
        self.left_pending.add(message_id)
        if self.report.unsent_reason is None:
            self.report.unsent_reason = reason

    def _halt_unreachable(self, reason: str) -> None:
        self.report.unreachable = reason
        self.report.unsent_reason = reason
        self.halted = True
        log.error("delivery: %s; nothing more tried this run (no attempt used)", reason)

    def _halt_stop(self, reason: str) -> None:
        self.report.stopped = reason
        self.report.unsent_reason = f"delivery stopped: {reason}"
        self.halted = True
        log.error("delivery stopped: %s", reason)

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction, again on a fresh connection if the database dropped it."""
        for attempt in range(RECORD_TRIES):
            try:
                with transaction(self.engine) as session:
                    return work(session)
            except (OperationalError, DBAPIError) as exc:
                transient = isinstance(exc, OperationalError) or exc.connection_invalidated
                if not transient or attempt == RECORD_TRIES - 1:
                    raise
                # Record what happened on a new connection, then stop the run: a database
                # that drops connections is an incident to report, not to work around.
                if self.report.database_error is None:
                    self.report.database_error = database_error_text(exc) + "; the run stopped"
                self.halted = True
                log.warning("recording a delivery outcome failed (%s); trying again", type(exc).__name__)
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def disclose(self, session: Session, message: OutboxMessage, outcome: str, reply: str | None) -> None:
        outbox.record_disclosure(
            session,
            kind=message.kind,
            recipient=message.recipient,
            email=message.email,
            case_refs=list(message.case_refs or []),
            message_id=message.message_id,
            transport=self.transport.name,
            outcome=outcome,
            relay_reply=reply,
            outbox_id=message.id,
            at=_now(),
        )

    def record(self, message: OutboxMessage, outcome: str, reply: str | None, **values: object) -> bool:
        """Move the row to its outcome and disclose it, in one transaction.

        The disclosure is written whether or not the claim is still ours: a send that
        happened is disclosed, always. A message that went although its claim was lost is
        marked ``sent`` if nobody is sending it now. True when the claim was still ours.
        """

        def work(session: Session) -> bool:
            ours = outbox.finish(session, message, **values)
            if not ours:
                if outcome == "sent":
                    outbox.mark_sent_if_waiting(session, message, _now())
                log.warning("outbox %s: the claim was lost while sending; outcome %s recorded", message.id, outcome)
            self.disclose(session, message, outcome, reply)
            return ours

        return self.write(work)

    def release(self, message: OutboxMessage, reason: str) -> None:
        """Give a claim back untouched: not an attempt, nothing disclosed."""
        self.write(
            lambda session: outbox.finish(
                session,
                message,
                status="pending",
                attempts=OutboxMessage.attempts - 1,
                last_error=f"not attempted: {reason}",
            )
        )
        self._unsent(message.id, reason)

    # -- one message

    def handle(self, candidate: OutboxMessage, problem: str | None) -> None:
        """Send ``candidate`` (read, not yet claimed), or block it when ``problem`` says why not."""
        report = self.report
        if problem:
            claimed = self._take(candidate, attempt=False)
            if claimed is not None:
                self.record(claimed, "blocked", f"blocked: {problem}", status="blocked", last_error=problem)
                report.blocked += 1
                report.blocked_details.append(Detail(claimed.id, claimed.recipient, problem))
                log.warning("outbox %s to officer %s: blocked (%s)", claimed.id, claimed.recipient, problem)
            return
        try:
            if not self.opened:
                self.transport.open()
                self.opened = True
        except Unreachable as exc:
            self._halt_unreachable(exc.reason)
            return
        except StopBatch as exc:
            self._halt_stop(exc.reason)
            return
        message = self._take(candidate, attempt=True)
        if message is not None:
            self.keeper.active = True
            try:
                self._send(message)
            finally:
                self.keeper.active = False

    def _take(self, candidate: OutboxMessage, *, attempt: bool) -> OutboxMessage | None:
        message = outbox.take(
            self.engine,
            candidate,
            worker=self.worker,
            token=self.keeper.token,
            now=_now(),
            attempt=attempt,
            transport=self.transport.name,
        )
        if message is not None and candidate.status == "sending":
            self.report.taken_over += 1
            log.warning(
                "outbox %s: taken over from worker %s, which stopped while sending; sending again (same Message-ID)",
                candidate.id,
                candidate.claimed_by or "unknown",
            )
        return message

    def _send(self, message: OutboxMessage) -> None:
        report, mail = self.report, self.config.mail
        outgoing = Outgoing(message.id, message.email, message.message_id, message.content)
        try:
            reply = self.transport.send(outgoing)
        except Unreachable as exc:  # the relay went away between messages: nothing handed over
            self.release(message, exc.reason)
            self._halt_unreachable(exc.reason)
        except StopBatch as exc:
            self.release(message, exc.reason)
            self._halt_stop(exc.reason)
        except PermanentFailure as exc:
            self.dead_letter(message, "failed", exc.reason)
        except UnknownOutcome as exc:
            if message.attempts >= mail.max_attempts:
                self.dead_letter(message, "unknown", f"{exc.reason}; attempts exhausted")
                return
            self.record(message, "unknown", exc.reason, status="pending", next_attempt_at=_now(), last_error=exc.reason)
            self._unsent(message.id, exc.reason)
            report.pending_details.append(Detail(message.id, message.recipient, exc.reason))
            log.warning("outbox %s to officer %s: outcome unknown, will resend", message.id, message.recipient)
        except TransientFailure as exc:
            if message.attempts >= mail.max_attempts:
                self.dead_letter(message, "failed", f"{exc.reason}; gave up after {message.attempts} attempts")
                return
            delay = backoff_seconds(message.attempts, mail.retry_base_seconds, mail.retry_max_seconds)
            retry_at = _now() + timedelta(seconds=delay + random.uniform(0, delay * 0.1))
            self.record(message, "retry", exc.reason, status="pending", next_attempt_at=retry_at, last_error=exc.reason)
            self._unsent(message.id, exc.reason)
            report.pending_details.append(Detail(message.id, message.recipient, exc.reason))
            log.warning(
                "outbox %s to officer %s: retry in %ss (attempt %s of %s; %s)",
                message.id,
                message.recipient,
                delay,
                message.attempts,
                mail.max_attempts,
                _log_code(exc.reason),
            )
        else:
            self.record(message, "sent", reply, status="sent", sent_at=_now(), last_error=None)
            report.sent += 1
            report.sent_details.append(Detail(message.id, message.recipient, reply))
            log.info("outbox %s to officer %s: sent (%s)", message.id, message.recipient, _log_code(reply))

    def dead_letter(self, message: OutboxMessage, outcome: str, reason: str) -> None:
        self.record(message, outcome, reason, status="failed", last_error=reason)
        self.report.failed += 1
        self.report.failed_details.append(Detail(message.id, message.recipient, reason))
        log.error("outbox %s to officer %s: failed (%s)", message.id, message.recipient, _log_code(reason))


def deliver_pending(
    engine: Engine,
    config: Config,
    *,
    respect_backoff: bool = True,
    worker: str | None = None,
) -> DeliveryReport:
    """Send every claimable outbox message once; see the module docstring for outcomes.

    ``respect_backoff=False`` (the ``deliver`` command) also sends messages still waiting
    on their backoff. Safe to run from several workers at once: claims never overlap.
    Never raises for a relay or database failure: the report says what happened.
    """
    worker = worker or make_worker_id()  # host:pid:nonce, recorded on every claim
    transport = make_transport(config)
    with outbox.LeaseKeeper(engine, outbox.new_token(worker), RENEW_EVERY_SECONDS) as keeper:
        run = _Run(engine, config, transport, worker=worker, keeper=keeper)
        report = run.report
        cursor, skip = 0, set[int]()
        try:
            while not run.halted:
                with reading(engine) as session:
                    candidate = outbox.next_candidate(
                        session, now=_now(), respect_backoff=respect_backoff, after_id=cursor, skip=skip
                    )
                    problem = stored_message_problem(session, candidate, config) if candidate is not None else None
                if candidate is None:
                    break
                run.handle(candidate, problem)
                if run.halted:
                    break
                skip.add(candidate.id)
                if candidate.status == "pending":
                    cursor = max(cursor, candidate.id)
        except SQLAlchemyError as exc:
            report.database_error = database_error_text(exc)
            run.halted = True
            log.error("delivery stopped: %s", report.database_error)
        finally:
            transport.close()
    _finish(engine, config, run, cursor, respect_backoff)
    log.info(
        "delivery run: sent %s, pending %s, failed %s, blocked %s, not delivered %s%s",
        report.sent,
        report.pending,
        report.failed,
        report.blocked,
        report.unsent,
        " (stopped)" if run.halted else "",
    )
    return report


def _finish(engine: Engine, config: Config, run: _Run, cursor: int, respect_backoff: bool) -> None:
    """Count what is left (and what this run could not deliver) and purge old bodies."""
    report = run.report
    try:
        left = set(run.left_pending)
        if run.halted:
            left |= set(outbox.due_ids(engine, now=_now(), respect_backoff=respect_backoff, after_id=cursor))
        report.unsent = len(left)
        with transaction(engine) as session:
            keep = timedelta(days=config.mail.keep_sent_days)
            report.purged = outbox.purge_content(session, queued_before=_now() - keep)
        with reading(engine) as session:
            report.pending, report.elsewhere = outbox.waiting_counts(session, other_than=run.keeper.token)
    except SQLAlchemyError as exc:
        report.unsent = max(report.unsent, len(run.left_pending))
        report.database_error = report.database_error or database_error_text(exc)
        log.error("delivery: %s", report.database_error)
