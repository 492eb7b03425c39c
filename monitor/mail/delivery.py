"""Send what the outbox holds, and log every disclosure: the outbox side of delivery.

One call of :func:`deliver_pending` claims pending messages (committing the claim before
any network I/O), re-checks each recipient against the officer directory, hands the
stored bytes unchanged (same Message-ID on every attempt) to exactly one recipient through
a transport, and records the outcome in the outbox and in the disclosure log. How a
message travels (SMTP over verified TLS, a maildir folder) is the transport's business
(:mod:`monitor.mail.transports`); what each kind of failure means for the outbox is decided
here, the same for every transport.

Outcomes, and why (the SMTP wording; each transport maps its own errors onto the same
failure kinds, :mod:`monitor.mail.transports.base`):

* **sent**: the relay answered 250 after DATA. Status ``sent``; the reply is logged.
* **blocked**: the recipient is no longer allowed (inactive, moved role, domain not
  allowed, address changed since queueing). Never sent; status ``blocked``.
* **retry** (``TransientFailure``, ``Unreachable``): a 4xx reply, the relay unreachable, or the connection lost
  *before* the payload was handed over. Back to ``pending`` with exponential backoff
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

Logs carry outbox ids, officer ids, counts, outcomes and reply codes only; never bodies,
subjects' contents beyond the marking, addresses or the relay password.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import NamedTuple

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from monitor.core.config import Config
from monitor.mail import outbox
from monitor.mail.recipients import recipient_problem
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
from monitor.register.models import Officer, OutboxMessage

log = logging.getLogger("monitor.mail.delivery")

BATCH_SIZE = 50
#: Which directory role may receive each kind of message.
ROLE_FOR_KIND: dict[str, str] = {
    "officer": "offender_manager",
    "team": "supervisor",
    "escalation": "supervisor",
    "force": "lead",
}


class Detail(NamedTuple):
    outbox_id: int
    recipient: str
    reason: str


@dataclass
class DeliveryReport:
    """What one delivery run did.

    ``sent``/``failed``/``blocked`` count outcomes of this run; ``pending`` is how many
    messages are left waiting in the outbox afterwards (retries, backoff, unknown
    outcomes, released claims). ``stopped`` names why the run stopped early, if it did.
    """

    sent: int = 0
    pending: int = 0
    failed: int = 0
    blocked: int = 0
    sent_details: list[Detail] = field(default_factory=list)
    pending_details: list[Detail] = field(default_factory=list)
    failed_details: list[Detail] = field(default_factory=list)
    blocked_details: list[Detail] = field(default_factory=list)
    stopped: str | None = None
    #: Stored bodies of finished messages erased this run (mail.keep_sent_days).
    purged: int = 0

    @property
    def ok(self) -> bool:
        """No dead letter in this run and no stop on a relay/TLS/auth problem."""
        return self.failed == 0 and self.stopped is None

    def counts(self) -> dict[str, int]:
        return {"sent": self.sent, "pending": self.pending, "failed": self.failed, "blocked": self.blocked}

    def summary_lines(self) -> list[str]:
        """Human summary for the CLI: counts, then one line per problem."""
        lines = [f"sent {self.sent}, pending {self.pending}, failed {self.failed}, blocked {self.blocked}"]
        if self.stopped:
            lines.append(f"STOPPED: {self.stopped}")
        for label, details in (
            ("failed", self.failed_details),
            ("blocked", self.blocked_details),
            ("retry", self.pending_details),
        ):
            lines.extend(f"  {label}: outbox {d.outbox_id} to {d.recipient}: {d.reason}" for d in details)
        return lines


# --- the run -----------------------------------------------------------------------------


def backoff_seconds(attempts: int, base: int, maximum: int) -> int:
    """Delay before attempt ``attempts + 1``: base, 2*base, 4*base, ... capped at maximum."""
    return int(min(base * 2 ** max(attempts - 1, 0), maximum))


def _now() -> datetime:
    return datetime.now(UTC)


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _header_problem(message: OutboxMessage) -> str | None:
    """The stored bytes must still address exactly the queued recipient (defence in depth)."""
    headers = BytesHeaderParser().parsebytes(message.content)
    if headers.get_all("Cc") or headers.get_all("Bcc"):
        return "stored message has Cc/Bcc recipients"
    to = [addr.lower() for _n, addr in getaddresses([str(v) for v in headers.get_all("To") or []]) if addr]
    if to != [message.email.lower()]:
        return "stored message is not addressed to exactly the queued recipient"
    return None


def _recipient_problem(engine: Engine, message: OutboxMessage, config: Config) -> str | None:
    role = ROLE_FOR_KIND.get(message.kind)
    if role is None:
        return f"unknown message kind {message.kind!r}"
    with reading(engine) as session:
        officer = session.get(Officer, message.recipient)
        problem = recipient_problem(officer, role, config)
        if problem is None and officer is not None and officer.email.lower() != message.email.lower():
            problem = "the officer's address changed since the message was queued"
    return problem or _header_problem(message)


def _log_code(reason: str) -> str:
    """A log-safe summary of a reply or reason: the reply code, or the error class."""
    first = reason.split(" ", 2)
    if first and first[0].isdigit():
        return " ".join(first[:2])
    return reason.split(":", 1)[0]


class _Run:
    """One delivery run: the transport session and what happened to each message."""

    def __init__(self, engine: Engine, config: Config, transport: Transport, report: DeliveryReport):
        self.engine, self.config, self.transport, self.report = engine, config, transport, report
        self.opened = False
        #: Why the session could not be opened, once it could not: not tried again this run.
        self.unreachable: str | None = None

    def send(self, message: OutboxMessage) -> str:
        """Hand ``message`` to the transport, opening its session on first use.

        The session opens only for a message that passed its checks, so a run with nothing
        to send contacts nobody. After :class:`Unreachable` every later message of the run
        gets the same answer without another attempt to connect.
        """
        if self.unreachable is not None:
            raise Unreachable(self.unreachable)
        try:
            if not self.opened:
                self.transport.open()
                self.opened = True
            return self.transport.send(
                Outgoing(outbox_id=message.id, to=message.email, message_id=message.message_id, content=message.content)
            )
        except Unreachable as exc:
            self.unreachable = exc.reason
            raise

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

    def release(self, message: OutboxMessage, reason: str) -> None:
        """Give a claim back untouched: not an attempt, nothing disclosed."""
        with transaction(self.engine) as session:
            outbox.finish(
                session,
                message,
                status="pending",
                attempts=OutboxMessage.attempts - 1,
                last_error=f"not attempted: {reason}",
            )
        self.report.pending_details.append(Detail(message.id, message.recipient, f"not attempted: {reason}"))

    def handle(self, message: OutboxMessage) -> None:
        report = self.report
        if self.report.stopped:
            self.release(message, self.report.stopped)
            return
        problem = _recipient_problem(self.engine, message, self.config)
        if problem:
            with transaction(self.engine) as session:
                if outbox.finish(session, message, status="blocked", last_error=problem):
                    self.disclose(session, message, "blocked", f"blocked: {problem}")
            report.blocked += 1
            report.blocked_details.append(Detail(message.id, message.recipient, problem))
            log.warning("outbox %s to officer %s: blocked (%s)", message.id, message.recipient, problem)
            return
        with transaction(self.engine) as session:
            if not outbox.still_ours(session, message, _now()):
                log.warning("outbox %s: claim taken over by another worker; skipped", message.id)
                return
        try:
            reply = self.send(message)
        except StopBatch as exc:
            report.stopped = exc.reason
            log.error("delivery stopped: %s", exc.reason)
            self.release(message, exc.reason)
        except PermanentFailure as exc:
            self.dead_letter(message, "failed", exc.reason)
        except UnknownOutcome as exc:
            if message.attempts >= self.config.mail.max_attempts:
                self.dead_letter(message, "unknown", f"{exc.reason}; attempts exhausted")
                return
            with transaction(self.engine) as session:
                if outbox.finish(session, message, status="pending", next_attempt_at=_now(), last_error=exc.reason):
                    self.disclose(session, message, "unknown", exc.reason)
            report.pending_details.append(Detail(message.id, message.recipient, exc.reason))
            log.warning("outbox %s to officer %s: outcome unknown, will resend", message.id, message.recipient)
        except TransientFailure as exc:
            if message.attempts >= self.config.mail.max_attempts:
                self.dead_letter(message, "failed", f"{exc.reason}; gave up after {message.attempts} attempts")
                return
            mail = self.config.mail
            delay = backoff_seconds(message.attempts, mail.retry_base_seconds, mail.retry_max_seconds)
            delay_with_jitter = delay + random.uniform(0, delay * 0.1)
            retry_at = _now() + timedelta(seconds=delay_with_jitter)
            with transaction(self.engine) as session:
                if outbox.finish(session, message, status="pending", next_attempt_at=retry_at, last_error=exc.reason):
                    self.disclose(session, message, "retry", exc.reason)
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
            with transaction(self.engine) as session:
                if outbox.finish(session, message, status="sent", sent_at=_now(), last_error=None):
                    self.disclose(session, message, "sent", reply)
            report.sent += 1
            report.sent_details.append(Detail(message.id, message.recipient, reply))
            log.info("outbox %s to officer %s: sent (%s)", message.id, message.recipient, _log_code(reply))

    def dead_letter(self, message: OutboxMessage, outcome: str, reason: str) -> None:
        with transaction(self.engine) as session:
            if outbox.finish(session, message, status="failed", last_error=reason):
                self.disclose(session, message, outcome, reason)
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
    """
    worker = worker or default_worker()
    report = DeliveryReport()
    transport = make_transport(config)
    run = _Run(engine, config, transport, report)
    handled: set[int] = set()
    try:
        while True:
            batch = outbox.claim_batch(
                engine,
                worker=worker,
                now=_now(),
                respect_backoff=respect_backoff,
                limit=BATCH_SIZE,
                exclude=handled,
            )
            if not batch:
                break
            for message in batch:
                handled.add(message.id)
                run.handle(message)
            if report.stopped:
                break
    finally:
        transport.close()
    with transaction(engine) as session:
        keep = timedelta(days=config.mail.keep_sent_days)
        report.purged = outbox.purge_content(session, queued_before=_now() - keep)
    with reading(engine) as session:
        report.pending = int(
            session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
            )
            or 0
        )
    log.info(
        "delivery run: sent %s, pending %s, failed %s, blocked %s%s",
        report.sent,
        report.pending,
        report.failed,
        report.blocked,
        " (stopped)" if report.stopped else "",
    )
    return report
