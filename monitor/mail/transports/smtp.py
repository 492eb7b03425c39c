"""SMTP to the force's relay, over verified TLS, with one connection reused for the batch.

What a relay's answers mean for a message (see :mod:`monitor.mail.transports.base`):

* 250 after DATA: accepted; the reply is returned as proof of hand-over.
* 4xx at MAIL, RCPT or DATA, or the connection lost *before* the payload went:
  :class:`TransientFailure`. 5xx at RCPT or DATA: :class:`PermanentFailure`.
* The connection lost *after* the whole payload was sent but before the reply:
  :class:`UnknownOutcome` (the relay may have queued it).
* Anything about trust or our configuration (certificate, TLS, STARTTLS not offered,
  plaintext to a non-loopback host, login refused, AUTH required, our sender refused, a
  5xx greeting): :class:`StopBatch`. No connection at all, or a 4xx greeting:
  :class:`Unreachable`.

The password is handed to smtplib only; no reply text that could echo it is built here.

With ``[smtp] auth = "oauth2"`` the login is XOAUTH2 instead (Exchange Online, after
STARTTLS, as the mailbox in ``smtp.username``) with an app-only token from
:mod:`.tokens`: got once per batch (or reused from an earlier run while still good), and
a session is never used past its token's renewal time: the next message reconnects with
a new token. A cached token the relay refuses is renewed once; a token we cannot get, or
a fresh one refused, stops the batch like a refused password.

Relays close idle connections (Exchange Online after about a minute, Postfix after
``smtpd_timeout``), often silently, and the batch only finds out when the next message
meets a dead socket. When a message on a *reused* connection fails that way before any of
its payload went (the connection lost, or a 421 "closing channel" at MAIL FROM), it is
sent once more on a fresh connection: the relay took nothing, so the retry cannot
duplicate it, and an idle timeout no longer costs the message an attempt. A failure on
the fresh connection is reported as before; a loss after the payload went is never
retried (:class:`UnknownOutcome`).
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from monitor.core.config import Config
from monitor.mail.transports.base import (
    Outgoing,
    PermanentFailure,
    SendError,
    StopBatch,
    TransientFailure,
    Transport,
    UnknownOutcome,
    Unreachable,
)
from monitor.mail.transports.tokens import SMTP_SCOPE, Token, provider_for

if TYPE_CHECKING:
    from typing_extensions import Buffer

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
#: Replies that mean "you are not logged in / not allowed": a configuration problem.
AUTH_CODES = frozenset({530, 534, 535, 538})


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
    #: A message has been offered on this connection already (a drop now may be an idle timeout).
    used = False
    _in_data = False

    def data(self, msg: Buffer | str) -> tuple[int, bytes]:
        self._in_data, self.payload_sent = True, False
        try:
            reply = super().data(msg)
            self.data_reply = reply
            return reply
        finally:
            self._in_data = False

    def connect(self, host: str = "localhost", port: int = 0, source_address: Any = None) -> tuple[int, bytes]:
        reply = super().connect(host, port, source_address)
        # Each message ends with a short segment that Nagle holds until the relay ACKs the
        # previous one, and a relay delays that ACK (up to 40 ms on Linux) while it waits
        # for the rest: without this, one connection carried about 15 messages a second.
        if self.sock is not None:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reply

    def send(self, s: Buffer | str) -> None:
        super().send(s)
        if self._in_data and not isinstance(s, str):  # the dot-terminated payload (commands are str)
            self.payload_sent = True


class _TrackingSMTPSSL(_TrackingSMTP, smtplib.SMTP_SSL):
    """Implicit TLS variant of :class:`_TrackingSMTP`."""


def _reply_text(code: int, resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return f"{code} {' '.join(text.split())}"


class SmtpTransport(Transport):
    """One authenticated, verified connection, opened for the batch and reused for each message.

    If the relay drops the connection between messages, the next :meth:`send` connects
    again (at once when smtplib saw the loss, else once the message meets the dead
    connection, before any of it went); a failure to do so is reported like a failed
    :meth:`open`.
    """

    name = "smtp"

    def __init__(self, config: Config):
        self.config = config
        self._conn: _TrackingSMTP | None = None
        #: The token the open session signed in with (XOAUTH2 only).
        self._token: Token | None = None

    def open(self) -> None:
        self._session()

    def _session(self) -> _TrackingSMTP:
        """The open connection, connecting (again) when there is none or the relay dropped it."""
        if self._conn is not None and self._token is not None and self._token.due():
            self.close()  # the session's token is due for renewal: sign in again with a new one
        if self._conn is None or self._conn.sock is None:
            self._conn = None
            self._conn = self._connect()
        return self._conn

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
            self._log_in(conn)
        except (SendError, OSError, smtplib.SMTPResponseException, smtplib.SMTPNotSupportedError) as exc:
            _close_quietly(conn)
            failure = _session_failure(exc, _where(s.host, s.port))
            if failure is exc:
                raise
            raise failure from None
        return conn

    def _log_in(self, conn: _TrackingSMTP) -> None:
        """AUTH with ``smtp.username``/``smtp.password``, when a username is set.

        The one place that knows how we authenticate (another mechanism, such as OAuth2
        XOAUTH2, replaces this method); a refusal surfaces as SMTPAuthenticationError and
        stops the batch.
        """
        s = self.config.smtp
        if s.auth == "oauth2":
            self._log_in_xoauth2(conn)
        elif s.username:
            if not conn.has_extn("auth"):
                raise StopBatch("the relay offers no AUTH but smtp.username is set: refusing to send")
            conn.login(s.username, s.password)

    def _log_in_xoauth2(self, conn: _TrackingSMTP) -> None:
        """AUTH XOAUTH2 as ``smtp.username`` with an app-only token for Exchange Online."""
        s = self.config.smtp
        if "XOAUTH2" not in str(conn.esmtp_features.get("auth", "")).upper().split():
            raise StopBatch("the relay does not offer AUTH XOAUTH2 (smtp.auth = oauth2)")
        tokens = provider_for(s.oauth, SMTP_SCOPE, ca_file=s.ca_file, timeout=s.timeout)
        token = tokens.token()
        try:
            conn.auth("XOAUTH2", _xoauth2(s.username, token.value), initial_response_ok=False)
        except smtplib.SMTPAuthenticationError:
            if token.issued:
                raise
            token = tokens.renew()  # a token from the cache that the relay no longer takes
            conn.auth("XOAUTH2", _xoauth2(s.username, token.value), initial_response_ok=False)
        self._token = token

    def send(self, message: Outgoing) -> str:
        conn = self._session()
        reused, conn.used = conn.used, True
        try:
            return self._send_on(conn, message)
        except _DroppedBeforePayload as dropped:
            if not reused:
                raise TransientFailure(dropped.reason) from None
        # The relay closed the idle connection and took nothing of this message: once more,
        # on a fresh connection (a failure to connect raises Unreachable/StopBatch here).
        conn = self._session()
        conn.used = True
        try:
            return self._send_on(conn, message)
        except _DroppedBeforePayload as dropped:
            raise TransientFailure(dropped.reason) from None

    def _send_on(self, conn: _TrackingSMTP, message: Outgoing) -> str:
        """One attempt on ``conn``; :class:`_DroppedBeforePayload` when it may be retried."""
        conn.payload_sent, conn.data_reply = False, None
        options = ["BODY=8BITMIME"] if conn.has_extn("8bitmime") and not message.content.isascii() else []
        try:
            conn.sendmail(self.config.mail.sender, [message.to], message.content, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, resp = next(iter(exc.recipients.values()))
            raise _classify(code, resp, "RCPT") from None
        except smtplib.SMTPSenderRefused as exc:
            reply = _reply_text(exc.smtp_code, exc.smtp_error)
            if exc.smtp_code in AUTH_CODES:
                raise StopBatch(f"relay requires authentication: {reply}") from None
            if exc.smtp_code == 421:  # the relay is closing the channel (smtplib has closed it)
                _close_quietly(conn)
                self._conn = None
                raise _DroppedBeforePayload(f"{reply} (deferred at MAIL FROM)") from None
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
            raise _DroppedBeforePayload(f"connection lost before the message was sent ({exc})") from None
        if conn.data_reply is None:  # pragma: no cover - sendmail always calls data()
            return "250"
        return _reply_text(*conn.data_reply)

    def close(self) -> None:
        conn, self._conn, self._token = self._conn, None, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                _close_quietly(conn)


class _DroppedBeforePayload(Exception):
    """The relay closed the connection before any of the message went (internal to send)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _xoauth2(user: str, token: str) -> Callable[..., str]:
    """smtplib's ``authobject`` for XOAUTH2: the initial client response, then "" to an error.

    A server that refuses the token sends a 334 challenge with a JSON error; the client
    answers with an empty line and the server then replies 535.
    """
    calls = 0

    def respond(challenge: bytes | None = None) -> str:
        nonlocal calls
        calls += 1
        return f"user={user}\x01auth=Bearer {token}\x01\x01" if calls == 1 else ""

    return respond


def _classify(code: int, resp: bytes | str, stage: str) -> SendError:
    reply = _reply_text(code, resp)
    if code in AUTH_CODES:
        return StopBatch(f"relay requires authentication: {reply}")
    if 400 <= code < 500:
        return TransientFailure(f"{reply} (deferred at {stage})")
    return PermanentFailure(f"{reply} (refused at {stage})")


def _where(host: str, port: int) -> str:
    """``relay.police.example:587`` (``[::1]:25`` for an IPv6 address)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _session_failure(exc: Exception, where: str = "") -> SendError:
    """How the run treats a failure to set up the relay session (checked most specific first).

    Anything about trust (certificate, TLS, login, missing extensions, a 5xx greeting)
    stops the batch; a 4xx greeting or no connection at all is transient. ``where`` (host
    and port) goes into the reason when the relay could not be reached, so a typo in
    ``[smtp] host`` or a wrong port is seen in the first line an operator reads.
    """
    at = f" at {where}" if where else ""
    if isinstance(exc, SendError):
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
            return Unreachable(f"relay{at} not accepting connections: {reply}")
        return StopBatch(f"relay refused the session: {reply}")
    return Unreachable(f"relay unreachable{at}: {type(exc).__name__}: {exc}")


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            conn.close()
