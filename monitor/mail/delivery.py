"""Send what the outbox holds, over verified TLS, and log every disclosure.

One call of :func:`deliver_pending` claims pending messages (committing the claim before
any network I/O), re-checks each recipient against the officer directory, sends the
stored bytes unchanged (same Message-ID on every attempt) to exactly one recipient, and
records the outcome in the outbox and in the disclosure log.

Outcomes, and why:

* **sent**: the relay answered 250 after DATA. Status ``sent``; the reply is logged.
* **blocked**: the recipient is no longer allowed (inactive, moved role, domain not
  allowed, address changed since queueing). Never sent; status ``blocked``.
* **retry** (transient): a 4xx reply, the relay unreachable, or the connection lost
  *before* the payload was handed over. Back to ``pending`` with exponential backoff
  (``retry_base_seconds * 2**(attempts-1)``, capped at ``retry_max_seconds``, plus up
  to 10 % jitter so workers do not retry in lockstep). After ``mail.max_attempts`` the
  message is dead-lettered (``failed``).
* **failed** (permanent): a 5xx reply at RCPT or DATA. Dead letter at once: retrying a
  refusal only repeats it.
* **unknown**: the connection dropped *after* the whole payload was sent but before the
  relay's reply. The relay may have queued it. We resend at the next run with the same
  bytes and Message-ID (at-least-once: a possible duplicate is better than a lost
  overdue-visit warning, and the duplicate is recognisable).
* **batch stop**: a certificate or TLS failure, STARTTLS not offered, plaintext to a
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

import contextlib
import logging
import os
import random
import re
import smtplib
import socket
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from monitor.core.config import Config
from monitor.core.files import private_mkdir
from monitor.mail import outbox
from monitor.register.db import reading, transaction
from monitor.register.models import Officer, OutboxMessage

if TYPE_CHECKING:
    from typing_extensions import Buffer

log = logging.getLogger("monitor.mail.delivery")

BATCH_SIZE = 50
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
#: Which directory role may receive each kind of message.
ROLE_FOR_KIND: dict[str, str] = {
    "officer": "offender_manager",
    "team": "supervisor",
    "escalation": "supervisor",
    "force": "lead",
}
#: Replies that mean "you are not logged in / not allowed": a configuration problem.
AUTH_CODES = frozenset({530, 534, 535, 538})


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


# --- outcomes a transport reports -------------------------------------------------------


class SendError(Exception):
    """Base: ``reason`` is safe to store in the outbox and disclosure log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class StopBatch(SendError):
    """The relay cannot be trusted or refuses us: stop the run, send nothing more."""


class TransientFailure(SendError):
    """Try again later with backoff."""


class Unreachable(TransientFailure):
    """Could not connect at all: every other message of the run would fail the same way."""


class PermanentFailure(SendError):
    """The relay refused this message for good (5xx): dead letter."""


class UnknownOutcome(SendError):
    """Connection lost after the payload was sent: the relay may or may not have it."""


class Transport(Protocol):
    name: str

    def send(self, message: OutboxMessage) -> str: ...

    def close(self) -> None: ...


# --- SMTP --------------------------------------------------------------------------------


def tls_context(ca_file: str) -> ssl.SSLContext:
    """Verified TLS, always: CA bundle (or the system store), hostname check, TLS >= 1.2."""
    ctx = ssl.create_default_context(cafile=ca_file or None)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class _TrackingSMTP(smtplib.SMTP):
    """smtplib.SMTP that remembers the DATA reply and whether the payload went out.

    ``sendmail`` discards the final reply (which we log as proof of hand-over) and a
    disconnect looks the same before and after the payload; telling those apart is what
    separates "retry" from "unknown outcome".
    """

    payload_sent = False
    data_reply: tuple[int, bytes] | None = None
    _in_data = False

    def data(self, msg: Buffer | str) -> tuple[int, bytes]:
        self._in_data, self.payload_sent = True, False
        try:
            reply = super().data(msg)
            self.data_reply = reply
            return reply
        finally:
            self._in_data = False

    def send(self, s: Buffer | str) -> None:
        super().send(s)
        if self._in_data and not isinstance(s, str):  # the dot-terminated payload (commands are str)
            self.payload_sent = True


class _TrackingSMTPSSL(_TrackingSMTP, smtplib.SMTP_SSL):
    """Implicit TLS variant of :class:`_TrackingSMTP`."""


def _reply_text(code: int, resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return f"{code} {' '.join(text.split())}"


class SmtpTransport:
    """One authenticated, verified connection reused for the whole run."""

    name = "smtp"

    def __init__(self, config: Config):
        self.config = config
        self._conn: _TrackingSMTP | None = None
        self._unreachable: str | None = None

    def _connect(self) -> _TrackingSMTP:
        s = self.config.smtp
        if s.security == "none" and s.host not in LOOPBACK_HOSTS:
            raise StopBatch("plaintext SMTP (security = none) is allowed only to a loopback host")
        ctx = tls_context(s.ca_file) if s.security != "none" else None
        helo = s.helo or None
        conn: _TrackingSMTP | None = None
        try:
            if s.security == "tls":
                conn = _TrackingSMTPSSL(s.host, s.port, local_hostname=helo, timeout=s.timeout, context=ctx)
            else:
                conn = _TrackingSMTP(s.host, s.port, local_hostname=helo, timeout=s.timeout)
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise StopBatch("the relay did not offer STARTTLS: refusing to send in plaintext")
                conn.starttls(context=ctx)
                conn.ehlo()
            if s.username:
                if not conn.has_extn("auth"):
                    raise StopBatch("the relay offers no AUTH but smtp.username is set: refusing to send")
                conn.login(s.username, s.password)
        except (StopBatch, OSError, smtplib.SMTPResponseException, smtplib.SMTPNotSupportedError) as exc:
            _close_quietly(conn)
            failure = _session_failure(exc)
            if failure is exc:
                raise
            raise failure from None
        return conn

    def send(self, message: OutboxMessage) -> str:
        if self._unreachable:
            raise Unreachable(self._unreachable)
        if self._conn is None or self._conn.sock is None:
            self._conn = None
            try:
                self._conn = self._connect()
            except Unreachable as exc:
                self._unreachable = exc.reason
                raise
        conn = self._conn
        conn.payload_sent, conn.data_reply = False, None
        options = ["BODY=8BITMIME"] if conn.has_extn("8bitmime") and not message.content.isascii() else []
        try:
            conn.sendmail(self.config.mail.sender, [message.email], message.content, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, resp = next(iter(exc.recipients.values()))
            raise _classify(code, resp, "RCPT") from None
        except smtplib.SMTPSenderRefused as exc:
            reply = _reply_text(exc.smtp_code, exc.smtp_error)
            if exc.smtp_code in AUTH_CODES:
                raise StopBatch(f"relay requires authentication: {reply}") from None
            if 400 <= exc.smtp_code < 500:
                raise TransientFailure(f"{reply} (deferred at MAIL FROM)") from None
            raise StopBatch(f"relay refused our sender address: {reply}") from None
        except smtplib.SMTPDataError as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, "DATA") from None
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error, "SMTP") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            _close_quietly(conn)
            self._conn = None
            if conn.payload_sent:
                raise UnknownOutcome(
                    f"connection lost after the message was sent, before the relay replied ({exc})"
                ) from None
            raise TransientFailure(f"connection lost before the message was sent ({exc})") from None
        if conn.data_reply is None:  # pragma: no cover - sendmail always calls data()
            return "250"
        return _reply_text(*conn.data_reply)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                _close_quietly(conn)


def _classify(code: int, resp: bytes | str, stage: str) -> SendError:
    reply = _reply_text(code, resp)
    if code in AUTH_CODES:
        return StopBatch(f"relay requires authentication: {reply}")
    if 400 <= code < 500:
        return TransientFailure(f"{reply} (deferred at {stage})")
    return PermanentFailure(f"{reply} (refused at {stage})")


def _session_failure(exc: Exception) -> SendError:
    """How the run treats a failure to set up the relay session (checked most specific first).

    Anything about trust (certificate, TLS, login, missing extensions, a 5xx greeting)
    stops the batch; a 4xx greeting or no connection at all is transient.
    """
    if isinstance(exc, StopBatch):
        return exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return StopBatch(f"relay TLS certificate not trusted: {exc.verify_message or exc}")
    if isinstance(exc, ssl.SSLError):
        return StopBatch(f"TLS with the relay failed: {exc.reason or exc}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return StopBatch(f"relay refused our login: {_reply_text(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return StopBatch(f"relay does not support a required extension: {exc}")
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = _reply_text(exc.smtp_code, exc.smtp_error)
        if 400 <= exc.smtp_code < 500:
            return Unreachable(f"relay not accepting connections: {reply}")
        return StopBatch(f"relay refused the session: {reply}")
    return Unreachable(f"relay unreachable: {type(exc).__name__}: {exc}")


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            conn.close()


# --- maildir -----------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class MaildirTransport:
    """Writes each message as ``<outbox id>-<Message-ID>.eml``; for demos and air gaps.

    The write is atomic (temp file, fsync, rename), so a reader never sees half a
    message; files are 0600 and the folder 0700 because these are sensitive messages.
    """

    name = "maildir"

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: OutboxMessage) -> str:
        safe_id = _UNSAFE.sub("_", message.message_id.strip("<>"))[:120]
        name = f"{message.id:08d}-{safe_id}.eml"
        try:
            private_mkdir(self.directory)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(message.content)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.directory / name)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise TransientFailure(f"cannot write to {self.directory}: {exc.strerror or exc}") from None
        return f"stored {name}"

    def close(self) -> None:
        return None


def make_transport(config: Config) -> Transport:
    if config.mail.transport == "smtp":
        return SmtpTransport(config)
    return MaildirTransport(config.mail.maildir)


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
    from monitor.mail.recipients import recipient_problem

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
    def __init__(self, engine: Engine, config: Config, transport: Transport, report: DeliveryReport):
        self.engine, self.config, self.transport, self.report = engine, config, transport, report

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
            reply = self.transport.send(message)
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
