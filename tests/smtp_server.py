"""A real, programmable SMTP relay for tests (aiosmtpd), with verified TLS and AUTH.

Delivery is tested against a real server, not smtplib mocks, because the failure modes
that matter (certificate checks, STARTTLS refusal, a connection dropped after DATA) live
in the wire protocol. The relay listens on 127.0.0.1 on a free port, presents a
certificate for ``localhost``/``127.0.0.1`` issued by a throwaway trustme CA (its PEM is
``relay.ca_file``, for ``smtp.ca_file``), requires STARTTLS before anything else and
accepts one fake user.

Use the ``smtp_relay`` fixture (import it into your test module: ``from smtp_server
import smtp_relay``) or build :class:`SmtpRelay` yourself for other shapes (plaintext,
implicit TLS, no AUTH). Program failures per test::

    relay.handler.fail_data_next = 2        # 451 at DATA for the next two messages
    relay.handler.reject_rcpt["x@police.example"] = "550 5.1.1 No such user"
    relay.handler.drop_after_data_next = 1  # receive the payload, then hang up unanswered
    relay.handler.data_delay_seconds = 0.5  # a slow relay: wait before answering DATA
    relay.handler.on_data = callback         # called with each Received before the reply
    relay.handler.close_after_reply_next = 1  # answer the next DATA, then close (idle timeout)
    relay.handler.close_reply = "421 4.4.2 Idle timeout"  # say this first, as Postfix does
    relay.handler.drop_at_mail_next = 1      # hang up unanswered at the next MAIL FROM
    relay.stop(); ...; relay.start()         # down, then back on the same port
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USERNAME = "relay-user"
PASSWORD = "not-a-real-password-1234"  # fake: for the test relay only


@dataclass
class Received:
    """One message the relay accepted (or took in before hanging up)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    authenticated: bool
    tls: bool
    connection: int  # id of the SMTP session: equal for messages sent over one connection

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class RelayHandler:
    """Records envelopes; failures are programmed by setting the public attributes."""

    received: list[Received] = field(default_factory=list)
    fail_data_next: int = 0
    fail_data_reply: str = "451 4.3.0 Temporary local problem, try again later"
    reject_rcpt: dict[str, str] = field(default_factory=dict)
    drop_after_data_next: int = 0
    data_delay_seconds: float = 0.0
    on_data: Callable[[Received], None] | None = None
    close_after_reply_next: int = 0
    close_reply: str = ""
    drop_at_mail_next: int = 0
    queued: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.reject_rcpt.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        with self._lock:
            drop = self.drop_at_mail_next > 0
            if drop:
                self.drop_at_mail_next -= 1
        if drop:
            _abort(server)
            return "250 never seen by the client"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            if self.fail_data_next > 0:
                self.fail_data_next -= 1
                return self.fail_data_reply
            content = envelope.original_content or b""
            got = Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                data=bytes(content),
                authenticated=bool(session.authenticated),
                tls=session.ssl is not None,
                connection=id(session),
            )
            self.received.append(got)
            drop = self.drop_after_data_next > 0
            if drop:
                self.drop_after_data_next -= 1
            close = self.close_after_reply_next > 0
            if close:
                self.close_after_reply_next -= 1
            self.queued += 1
            queue_id = f"Q{self.queued:05d}"
            callback = self.on_data
        if callback is not None:
            callback(got)
        if self.data_delay_seconds:
            await asyncio.sleep(self.data_delay_seconds)
        if drop:
            # Hang up after the payload arrived and before any reply: the client cannot
            # know whether the message was taken (the "unknown outcome" case).
            _abort(server)
            return "250 never seen by the client"
        if close:
            # Runs on the loop after this reply is written: the client has its 250 and the
            # connection then goes, as when a relay's idle timer fires between two messages.
            asyncio.get_running_loop().call_soon(self._hang_up, server)
        return f"250 2.0.0 Ok: queued as {queue_id}"

    def _hang_up(self, server: SMTP) -> None:
        if server.transport is None:
            return
        if self.close_reply:
            server.transport.write(f"{self.close_reply}\r\n".encode())
        server.transport.close()

    def message_ids(self) -> list[str]:
        return [r.message_id for r in self.received]


def _abort(server: SMTP) -> None:
    """Drop the connection at once, unanswered (the TLS layer and the socket beneath it)."""
    original = getattr(server, "_original_transport", None)
    for transport in (server.transport, original):
        if transport is not None:
            transport.abort()


def _authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def make_test_message(
    to: str,
    *,
    subject: str = "OFFICIAL-SENSITIVE: officer digest 2026-W48",
    text: str = "Synthetic digest body.",
    message_id: str | None = None,
) -> EmailMessage:
    """A small multipart (text + HTML) message like a digest, with a Message-ID."""
    msg = EmailMessage()
    msg["From"] = "visit-monitor@monitor.police.example"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="monitor.police.example")
    msg.set_content(text)
    msg.add_alternative(f"<html><body><p>{text}</p></body></html>", subtype="html")
    return msg


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpRelay:
    """A test relay on 127.0.0.1.

    ``mode``: "starttls" (default: STARTTLS required, AUTH only after TLS),
    "tls" (implicit TLS from the first byte) or "plain" (no TLS at all: the relay a
    client must refuse to use).
    """

    def __init__(self, directory: Path, *, mode: str = "starttls", auth: bool = True, ca: trustme.CA | None = None):
        self.mode = mode
        self.auth = auth
        self.ca = ca or trustme.CA()
        self.server_cert = self.ca.issue_cert("localhost", "127.0.0.1")
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = directory / "relay-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.handler = RelayHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self._controller: Controller | None = None
        self._started = False

    def _server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(ctx)
        return ctx

    def start(self) -> SmtpRelay:
        """Start (or restart, on the same port) the relay."""
        kwargs: dict[str, Any] = {"hostname": self.host, "port": self.port, "server_hostname": "relay.test"}
        if self.mode == "starttls":
            kwargs.update(tls_context=self._server_context(), require_starttls=True)
        elif self.mode == "tls":
            kwargs.update(ssl_context=self._server_context())
        if self.auth:
            # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; an implicit-TLS
            # listener is encrypted from the first byte, so the check is not needed there.
            kwargs.update(authenticator=_authenticator, auth_require_tls=self.mode == "starttls", auth_required=True)
        self._controller = self._listen(lambda port: Controller(self.handler, **{**kwargs, "port": port}))
        return self

    def _listen(self, make: Callable[[int], Controller]) -> Controller:
        """A started controller on ``self.port``. On the first start only, a port another
        process took since :func:`free_port` chose it (which cannot reserve it) is swapped
        for a new one; a restart keeps its port, as the relay-down tests require."""
        for _attempt in range(5):
            controller = make(self.port)
            try:
                controller.start()
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or self._started:
                    raise
                self.port = free_port()
                continue
            self._started = True
            return controller
        raise OSError(errno.EADDRINUSE, "no free port for the test relay after 5 tries")

    def stop(self) -> None:
        """Take the relay down: connections to the port are refused until ``start``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def smtp_settings(self, **overrides: Any) -> dict[str, Any]:
        """The ``[smtp]`` section a client config needs to reach and trust this relay."""
        security = {"starttls": "starttls", "tls": "tls", "plain": "none"}[self.mode]
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": security,
            "username": USERNAME if self.auth else "",
            "ca_file": str(self.ca_file),
            "timeout": 5,
        }
        values.update(overrides)
        return values


@pytest.fixture
def smtp_relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpRelay]:
    """A running STARTTLS+AUTH relay; $MONITOR_SMTP_PASSWORD is set to its password."""
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", PASSWORD)
    relay = SmtpRelay(tmp_path / "relay").start()
    try:
        yield relay
    finally:
        relay.stop()
