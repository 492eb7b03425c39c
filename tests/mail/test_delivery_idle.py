"""A reused SMTP connection that the relay closed while idle costs the next message nothing.

Relays drop idle connections, usually without a word (aiosmtpd, Exchange Online) or
with a 421 first (Postfix). The batch finds out only when the next message meets the
dead connection; as nothing of that message went, it is sent once more on a fresh
connection instead of spending one of its attempts. Once only, and never after the
payload went (that stays an unknown outcome, resent at the next run). Real aiosmtpd
relay (tests/smtp_server.py), real databases (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import test_delivery as td
from smtp_server import SmtpRelay, smtp_relay
from sqlalchemy import Engine

from monitor.core.config import Config
from monitor.mail.delivery import deliver_pending

__all__ = ["smtp_config", "smtp_relay"]  # the fixtures, imported for pytest
smtp_config = td.smtp_config


def _on_first_message(relay: SmtpRelay, action: Callable[[], None]) -> None:
    """Run ``action`` in the relay as the first message arrives (before it is answered)."""
    done: list[bool] = []

    def callback(_got: object) -> None:
        if not done:
            done.append(True)
            action()

    relay.handler.on_data = callback


@pytest.mark.parametrize("goodbye", ["", "421 4.4.2 relay.test Error: timeout exceeded"], ids=["silent", "421"])
def test_connection_closed_between_messages_is_reopened_without_spending_an_attempt(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config], goodbye: str
) -> None:
    a = td.queue(engine, "OM1")
    b = td.queue(engine, "OM2")
    smtp_relay.handler.close_after_reply_next = 1  # the idle timer fires right after the first
    smtp_relay.handler.close_reply = goodbye
    report = deliver_pending(engine, smtp_config())
    assert (report.sent, report.pending, report.failed) == (2, 0, 0), report.pending_details
    rows = td.outbox_rows(engine)
    assert [(rows[i].status, rows[i].attempts, rows[i].last_error) for i in (a, b)] == [("sent", 1, None)] * 2
    first, second = smtp_relay.received
    assert (first.message_id, second.message_id) == (rows[a].message_id, rows[b].message_id)
    assert first.connection != second.connection  # the second went on a new connection
    assert [(d.outbox_id, d.outcome) for d in td.disclosures(engine)] == [(a, "sent"), (b, "sent")]


def test_loss_after_the_payload_on_a_reused_connection_is_not_retried(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    a = td.queue(engine, "OM1")
    b = td.queue(engine, "OM2")
    _on_first_message(smtp_relay, lambda: setattr(smtp_relay.handler, "drop_after_data_next", 1))
    report = deliver_pending(engine, smtp_config())
    assert (report.sent, report.pending) == (1, 1)
    assert "after the message was sent" in report.pending_details[0].reason
    rows = td.outbox_rows(engine)
    assert (rows[b].status, rows[b].attempts) == ("pending", 1)
    # The relay took the second message exactly once, on the first connection: no resend now.
    assert [r.message_id for r in smtp_relay.received] == [rows[a].message_id, rows[b].message_id]
    assert len({r.connection for r in smtp_relay.received}) == 1
    assert [d.outcome for d in td.disclosures(engine)] == ["sent", "unknown"]


def test_reopened_once_only(engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]) -> None:
    """The fresh connection failing too is the message's failed attempt; the batch goes on."""
    a, b, c = (td.queue(engine, f"OM{i}") for i in (1, 2, 3))
    smtp_relay.handler.close_after_reply_next = 1
    _on_first_message(smtp_relay, lambda: setattr(smtp_relay.handler, "drop_at_mail_next", 1))
    report = deliver_pending(engine, smtp_config())
    assert (report.sent, report.pending, report.failed) == (2, 1, 0)
    assert "connection lost before the message was sent" in report.pending_details[0].reason
    rows = td.outbox_rows(engine)
    assert [(rows[i].status, rows[i].attempts) for i in (a, b, c)] == [("sent", 1), ("pending", 1), ("sent", 1)]
    assert [r.message_id for r in smtp_relay.received] == [rows[a].message_id, rows[c].message_id]
    assert smtp_relay.handler.drop_at_mail_next == 0  # the retry reached the relay and was dropped there
