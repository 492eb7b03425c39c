"""Delivery against a real SMTP relay (aiosmtpd): TLS, AUTH, retries, dead letters, disclosures.

No smtplib mocks: certificate checks, STARTTLS refusal and "connection dropped after
DATA" only mean something on the wire. The relay is in tests/smtp_server.py.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from click.testing import CliRunner
from smtp_server import PASSWORD, SmtpRelay, make_test_message, smtp_relay
from sqlalchemy import Engine, select, update

from monitor.core.config import Config
from monitor.mail import outbox
from monitor.mail.delivery import backoff_seconds, deliver_pending
from monitor.mail.transports.base import StopBatch
from monitor.mail.transports.smtp import SmtpTransport
from monitor.register.db import reading, transaction
from monitor.register.models import Disclosure, Officer, OutboxMessage

__all__ = ["smtp_relay"]  # the fixture, imported for pytest

BODY_MARKER = "SYNTHETIC-BODY-7f3a9c: overdue visit to case C-0001 by 42 days"
NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
ROLE = {"officer": "offender_manager", "team": "supervisor", "escalation": "supervisor", "force": "lead"}


def add_officer(engine: Engine, officer_id: str, *, role: str = "offender_manager", **values: Any) -> str:
    email = values.pop("email", f"{officer_id.lower()}@police.example")
    with transaction(engine) as session:
        session.add(
            Officer(
                officer_id=officer_id,
                name=f"Officer {officer_id}",
                email=email,
                team="T1",
                role=role,
                active=values.pop("active", True),
                updated_at=NOW,
            )
        )
    return email


def queue(engine: Engine, officer_id: str, *, kind: str = "officer", refs: tuple[str, ...] = ("C-0001",)) -> int:
    """Put an officer in the directory (with the right role) and queue one message to them."""
    email = add_officer(engine, officer_id, role=ROLE[kind])
    with transaction(engine) as session:
        row = outbox.enqueue(
            session,
            kind=kind,
            recipient=officer_id,
            email=email,
            period="2026-W48",
            message=make_test_message(email, text=BODY_MARKER),
            case_refs=list(refs),
            now=NOW,
        )
        assert row is not None
        return row.id


def outbox_rows(engine: Engine) -> dict[int, OutboxMessage]:
    with reading(engine) as session:
        return {r.id: r for r in session.scalars(select(OutboxMessage))}


def disclosures(engine: Engine) -> list[Disclosure]:
    with reading(engine) as session:
        return list(session.scalars(select(Disclosure).order_by(Disclosure.id)))


@pytest.fixture
def smtp_config(make_config: Callable[..., Config], db_url: str, smtp_relay: SmtpRelay) -> Callable[..., Config]:
    """A config pointing at the test relay; keyword args override [smtp] / [mail] keys."""

    def _make(smtp: dict[str, Any] | None = None, **mail: Any) -> Config:
        mail_section = {"transport": "smtp", "retry_base_seconds": 1, "retry_max_seconds": 60, "max_attempts": 3}
        mail_section.update(mail)
        return make_config(db_url, mail=mail_section, smtp=smtp_relay.smtp_settings(**(smtp or {})))

    return _make


# --- success -------------------------------------------------------------------------------


def test_sends_over_verified_starttls_with_auth_one_recipient_each(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    a = queue(engine, "OM1", refs=("C-0001", "C-0002"))
    b = queue(engine, "SUP1", kind="team")
    report = deliver_pending(engine, smtp_config())
    assert (report.sent, report.pending, report.failed, report.blocked, report.ok) == (2, 0, 0, 0, True)

    received = smtp_relay.received
    assert len(received) == 2
    assert len({r.connection for r in received}) == 1  # one connection for the batch
    rows = outbox_rows(engine)
    for got, oid in zip(received, (a, b), strict=True):
        row = rows[oid]
        assert got.rcpt_tos == [row.email]  # exactly one recipient per message
        assert got.mail_from == "visit-monitor@monitor.police.example"
        assert got.tls and got.authenticated
        assert got.message.is_multipart()
        assert got.message_id == row.message_id
        assert got.data.rstrip(b"\r\n") == row.content.rstrip(b"\r\n")
        assert row.status == "sent" and row.sent_at is not None and row.claim_token is None
        assert row.attempts == 1

    log = disclosures(engine)
    assert [(d.outbox_id, d.outcome, d.transport) for d in log] == [(a, "sent", "smtp"), (b, "sent", "smtp")]
    assert log[0].case_refs == ["C-0001", "C-0002"]
    assert log[0].recipient == "OM1" and log[0].email == "om1@police.example"
    assert log[0].message_id == rows[a].message_id
    assert log[0].relay_reply is not None and log[0].relay_reply.startswith("250 2.0.0 Ok: queued as Q")

    # Nothing left: a second run sends nothing again.
    again = deliver_pending(engine, smtp_config(), respect_backoff=False)
    assert again.sent == 0 and len(smtp_relay.received) == 2


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_relay(
    engine: Engine, make_config: Callable[..., Config], db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", PASSWORD)
    relay = SmtpRelay(tmp_path / "tls-relay", mode="tls").start()
    try:
        queue(engine, "OM1")
        config = make_config(db_url, mail={"transport": "smtp"}, smtp=relay.smtp_settings())
        report = deliver_pending(engine, config)
        assert report.sent == 1 and report.ok
        assert len(relay.received) == 1 and relay.received[0].authenticated
    finally:
        relay.stop()


# --- transient failures and backoff ---------------------------------------------------------


def test_relay_down_then_back(engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]) -> None:
    """Issue 8 finding 9: an unreachable relay spends no attempt and sets no backoff."""
    a = queue(engine, "OM1")
    b = queue(engine, "OM2")
    smtp_relay.stop()
    report = deliver_pending(engine, smtp_config(retry_base_seconds=30))
    assert (report.sent, report.pending, report.failed, report.unsent, report.ok) == (0, 2, 0, 2, False)
    assert report.unreachable is not None and "unreachable" in report.unreachable
    for row in outbox_rows(engine).values():
        assert (row.status, row.attempts, row.next_attempt_at, row.claim_token) == ("pending", 0, None, None)
    assert disclosures(engine) == []  # nothing was handed to anyone

    # Back up: the next scheduled run (which respects backoff) sends both at once.
    smtp_relay.start()
    report = deliver_pending(engine, smtp_config())
    assert report.sent == 2 and report.pending == 0 and report.ok
    assert sorted(r.message_id for r in smtp_relay.received) == sorted(
        outbox_rows(engine)[i].message_id for i in (a, b)
    )
    assert all(r.attempts == 1 for r in outbox_rows(engine).values())
    assert [d.outcome for d in disclosures(engine)] == ["sent", "sent"]


def test_451_at_data_is_retried_and_arrives_once(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    oid = queue(engine, "OM1")
    smtp_relay.handler.fail_data_next = 1
    report = deliver_pending(engine, smtp_config())
    assert (report.sent, report.pending, report.unsent, report.ok) == (0, 1, 1, False)  # not delivered: says so
    assert "451" in report.pending_details[0].reason
    assert outbox_rows(engine)[oid].status == "pending"
    report = deliver_pending(engine, smtp_config(), respect_backoff=False)
    assert report.sent == 1
    assert len(smtp_relay.received) == 1
    assert [(d.outcome, (d.relay_reply or "")[:3]) for d in disclosures(engine)] == [("retry", "451"), ("sent", "250")]


def test_backoff_schedule_doubles_and_caps() -> None:
    assert [backoff_seconds(n, 60, 3600) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff_seconds(1, 1, 60) == 1


def test_dead_letter_after_max_attempts(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    oid = queue(engine, "OM1")
    smtp_relay.handler.fail_data_next = 10
    config = smtp_config(max_attempts=2)
    first = deliver_pending(engine, config, respect_backoff=False)
    assert first.pending == 1 and first.unsent == 1
    second = deliver_pending(engine, config, respect_backoff=False)
    assert (second.failed, second.pending, second.ok) == (1, 0, False)
    assert "gave up after 2 attempts" in second.failed_details[0].reason
    row = outbox_rows(engine)[oid]
    assert (row.status, row.attempts) == ("failed", 2)
    third = deliver_pending(engine, config, respect_backoff=False)
    assert (third.sent, third.failed) == (0, 0)
    assert smtp_relay.handler.fail_data_next == 8  # exactly two attempts reached DATA
    assert [d.outcome for d in disclosures(engine)] == ["retry", "failed"]


# --- permanent failures -------------------------------------------------------------------------


def test_550_for_one_recipient_fails_it_and_delivers_the_others(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    ids = [queue(engine, f"OM{i}") for i in range(3)]
    smtp_relay.handler.reject_rcpt["om1@police.example"] = "550 5.1.1 <om1@police.example>: mailbox unavailable"
    report = deliver_pending(engine, smtp_config())
    assert (report.sent, report.failed, report.pending, report.ok) == (2, 1, 0, False)
    (failure,) = report.failed_details
    assert failure.outbox_id == ids[1] and failure.recipient == "OM1" and "550 5.1.1" in failure.reason
    assert sorted(r.rcpt_tos[0] for r in smtp_relay.received) == ["om0@police.example", "om2@police.example"]
    row = outbox_rows(engine)[ids[1]]
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error is not None and "550" in row.last_error
    # Dead letters are never retried, even by the "send everything now" command path.
    later = deliver_pending(engine, smtp_config(), respect_backoff=False)
    assert (later.sent, later.failed, later.ok) == (0, 0, True)
    assert len(smtp_relay.received) == 2
    assert sorted(d.outcome for d in disclosures(engine)) == ["failed", "sent", "sent"]


def test_connection_dropped_after_data_is_resent_with_the_same_message_id(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    oid = queue(engine, "OM1")
    smtp_relay.handler.drop_after_data_next = 1
    report = deliver_pending(engine, smtp_config())
    assert (report.sent, report.pending, report.failed) == (0, 1, 0)
    assert "after the message was sent" in report.pending_details[0].reason
    row = outbox_rows(engine)[oid]
    assert row.status == "pending" and row.next_attempt_at is not None
    assert row.next_attempt_at <= datetime.now(UTC)  # no backoff: resend at the next run
    assert [d.outcome for d in disclosures(engine)] == ["unknown"]

    report = deliver_pending(engine, smtp_config())
    assert report.sent == 1
    first, second = smtp_relay.received
    assert first.message_id == second.message_id == row.message_id  # at-least-once, recognisable
    assert first.data == second.data
    assert [d.outcome for d in disclosures(engine)] == ["unknown", "sent"]


# --- the relay is not trusted: stop the batch --------------------------------------------------


def _assert_untouched(engine: Engine, smtp_relay: SmtpRelay) -> None:
    assert smtp_relay.received == []
    for row in outbox_rows(engine).values():
        assert (row.status, row.attempts, row.claim_token) == ("pending", 0, None)
        assert row.last_error is None or row.last_error.startswith("not attempted")
    assert disclosures(engine) == []  # nothing was disclosed to anyone


@pytest.mark.parametrize("ca", ["system store", "another CA"])
def test_untrusted_certificate_stops_the_batch(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config], tmp_path: Path, ca: str
) -> None:
    queue(engine, "OM1")
    queue(engine, "OM2")
    ca_file = ""
    if ca == "another CA":
        other = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other))
        ca_file = str(other)
    report = deliver_pending(engine, smtp_config(smtp={"ca_file": ca_file}))
    assert not report.ok
    assert report.stopped is not None and "certificate" in report.stopped
    assert (report.sent, report.failed, report.pending) == (0, 0, 2)
    _assert_untouched(engine, smtp_relay)


def test_hostname_mismatch_stops_the_batch(
    engine: Engine, smtp_relay: SmtpRelay, make_config: Callable[..., Config], db_url: str, tmp_path: Path
) -> None:
    # A CA we trust, but a certificate for another name.
    relay = SmtpRelay(tmp_path / "wrong-name", ca=smtp_relay.ca)
    relay.server_cert = relay.ca.issue_cert("mail.elsewhere.example")
    relay.start()
    try:
        queue(engine, "OM1")
        report = deliver_pending(engine, make_config(db_url, mail={"transport": "smtp"}, smtp=relay.smtp_settings()))
        assert report.stopped is not None and "certificate" in report.stopped
        assert relay.received == []
    finally:
        relay.stop()


def test_relay_without_starttls_is_refused(
    engine: Engine, make_config: Callable[..., Config], db_url: str, tmp_path: Path
) -> None:
    relay = SmtpRelay(tmp_path / "plain", mode="plain", auth=False).start()
    try:
        queue(engine, "OM1")
        config = make_config(db_url, mail={"transport": "smtp"}, smtp=relay.smtp_settings(security="starttls"))
        report = deliver_pending(engine, config)
        assert report.stopped is not None and "STARTTLS" in report.stopped
        _assert_untouched(engine, relay)
        # The one sanctioned plaintext case: security = "none" to a loopback relay.
        plain = make_config(db_url, mail={"transport": "smtp"}, smtp=relay.smtp_settings(security="none"))
        assert deliver_pending(engine, plain).sent == 1
    finally:
        relay.stop()


def test_plaintext_to_a_non_loopback_host_is_refused_at_send_time(
    make_config: Callable[..., Config], db_url: str
) -> None:
    config = make_config(db_url)  # maildir transport: the config check does not apply
    bad = dataclasses.replace(
        config,
        mail=dataclasses.replace(config.mail, transport="smtp"),
        smtp=dataclasses.replace(config.smtp, host="relay.police.example", security="none"),
    )
    with pytest.raises(StopBatch, match="loopback"):
        SmtpTransport(bad)._connect()


@pytest.mark.parametrize("problem", ["wrong password", "no username"])
def test_auth_failure_stops_the_batch(
    engine: Engine,
    smtp_relay: SmtpRelay,
    smtp_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
    problem: str,
) -> None:
    queue(engine, "OM1")
    queue(engine, "OM2")
    if problem == "wrong password":
        monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "wrong")
        config = smtp_config()
    else:
        config = smtp_config(smtp={"username": ""})
    report = deliver_pending(engine, config)
    assert not report.ok and report.stopped is not None
    assert ("login" if problem == "wrong password" else "authentication") in report.stopped
    assert "wrong" not in report.stopped and PASSWORD not in report.stopped
    _assert_untouched(engine, smtp_relay)


# --- recipient re-check at send time ---------------------------------------------------------


def test_recipient_no_longer_allowed_is_blocked_never_sent(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    inactive = queue(engine, "OM1")
    moved = queue(engine, "OM2")
    readdressed = queue(engine, "OM3")
    ok = queue(engine, "OM4")
    gone = queue(engine, "OM5")
    with transaction(engine) as session:
        session.execute(update(Officer).where(Officer.officer_id == "OM1").values(active=False))
        session.execute(update(Officer).where(Officer.officer_id == "OM2").values(role="supervisor"))
        session.execute(update(Officer).where(Officer.officer_id == "OM3").values(email="om3.new@police.example"))
        session.execute(update(Officer).where(Officer.officer_id == "OM5").values(email="om5@gmail.example"))
    report = deliver_pending(engine, smtp_config())
    assert (report.sent, report.blocked, report.failed, report.ok) == (1, 4, 0, True)
    reasons = {d.outbox_id: d.reason for d in report.blocked_details}
    assert reasons[inactive] == "inactive"
    assert reasons[moved] == "role is supervisor not offender_manager"
    assert "changed" in reasons[readdressed]
    assert "domain not allowed" in reasons[gone]
    assert [r.rcpt_tos for r in smtp_relay.received] == [["om4@police.example"]]
    rows = outbox_rows(engine)
    assert rows[ok].status == "sent"
    assert all(rows[i].status == "blocked" for i in (inactive, moved, readdressed, gone))
    blocked_log = [d for d in disclosures(engine) if d.outcome == "blocked"]
    assert len(blocked_log) == 4 and all((d.relay_reply or "").startswith("blocked: ") for d in blocked_log)
    # Blocked is final: not retried.
    assert deliver_pending(engine, smtp_config(), respect_backoff=False).blocked == 0


# --- concurrency -------------------------------------------------------------------------


def test_two_workers_never_send_a_message_twice(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    ids = [queue(engine, f"OM{i:02d}") for i in range(24)]
    config = smtp_config()
    barrier = threading.Barrier(2)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            barrier.wait()
            reports.append(deliver_pending(engine, config, worker=name))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"worker-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.sent for r in reports) == 24
    received = smtp_relay.handler.message_ids()
    assert len(received) == 24 and len(set(received)) == 24
    assert all(r.status == "sent" and r.attempts == 1 for r in outbox_rows(engine).values())
    assert sorted(d.outbox_id for d in disclosures(engine)) == sorted(ids)


def test_stale_sending_claim_is_resent(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    oid = queue(engine, "OM1")
    with transaction(engine) as session:  # a worker claimed it 11 minutes ago and died
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == oid)
            .values(
                status="sending",
                claim_token="dead:1",
                claimed_at=datetime.now(UTC) - timedelta(minutes=11),
                attempts=1,
            )
        )
    report = deliver_pending(engine, smtp_config())
    assert report.sent == 1
    assert smtp_relay.received[0].message_id == outbox_rows(engine)[oid].message_id


# --- maildir -------------------------------------------------------------------------------


def test_maildir_transport_writes_eml_files(
    engine: Engine, make_config: Callable[..., Config], db_url: str, tmp_path: Path
) -> None:
    a = queue(engine, "OM1")
    b = queue(engine, "OM2")
    maildir = tmp_path / "var" / "outbox"
    report = deliver_pending(engine, make_config(db_url, mail={"transport": "maildir", "maildir": str(maildir)}))
    assert report.sent == 2 and report.ok
    files = sorted(maildir.iterdir())
    assert [f.name.split("-", 1)[0] for f in files] == [f"{a:08d}", f"{b:08d}"]
    assert all(f.suffix == ".eml" for f in files)
    rows = outbox_rows(engine)
    assert files[0].read_bytes() == rows[a].content
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert not [f for f in maildir.iterdir() if f.name.startswith(".tmp-")]
    log = disclosures(engine)
    assert [(d.transport, d.outcome) for d in log] == [("maildir", "sent"), ("maildir", "sent")]
    assert (log[0].relay_reply or "").startswith("stored ")


# --- the disclosure log and logs hold no bodies, no secrets ---------------------------------------


def test_no_body_or_password_in_disclosures_or_logs(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for i in range(4):
        queue(engine, f"OM{i}")
    smtp_relay.handler.reject_rcpt["om1@police.example"] = "550 5.1.1 unknown user"
    smtp_relay.handler.fail_data_next = 1
    smtp_relay.handler.drop_after_data_next = 1
    deliver_pending(engine, smtp_config())
    deliver_pending(engine, smtp_config(), respect_backoff=False)
    log = disclosures(engine)
    assert {d.outcome for d in log} >= {"sent", "failed", "retry", "unknown"}
    for d in log:
        for value in (d.message_id, d.email, d.relay_reply or "", str(d.case_refs), d.recipient):
            assert "SYNTHETIC-BODY" not in value
            assert PASSWORD not in value
    # Everything logged on the client side (the test relay's own "mail.log" debug output
    # shows the wire, body included, and is not ours).
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "outbox" in ours  # the delivery did log
    assert "SYNTHETIC-BODY" not in ours
    assert PASSWORD not in ours
    assert "@police.example" not in ours  # our logs name officer ids, not addresses


# --- the command -------------------------------------------------------------------------------


def _write_config(tmp_path: Path, db_url: str, smtp: dict[str, Any]) -> Path:
    lines = [f'[database]\nurl = "{db_url}"\n', '[mail]\ntransport = "smtp"\n', "[smtp]"]
    for key, value in smtp.items():
        lines.append(f"{key} = {value!r}".replace("'", '"') if isinstance(value, str) else f"{key} = {value}")
    path = tmp_path / "monitor.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_deliver_command_summary_and_exit_codes(
    engine: Engine, smtp_relay: SmtpRelay, db_url: str, tmp_path: Path
) -> None:
    from monitor.cli.app import cli

    queue(engine, "OM1")
    queue(engine, "OM2")
    smtp_relay.handler.reject_rcpt["om2@police.example"] = "550 5.1.1 unknown user"
    path = _write_config(tmp_path, db_url, smtp_relay.smtp_settings())
    result = CliRunner().invoke(cli, ["--config", str(path), "deliver"])
    assert result.exit_code == 1, result.output
    assert "sent 1, pending 0, failed 1, blocked 0" in result.output
    assert "550 5.1.1" in result.output

    queue(engine, "OM3")
    smtp_relay.handler.fail_data_next = 1
    result = CliRunner().invoke(cli, ["--config", str(path), "deliver"])
    assert result.exit_code == 1, result.output  # pending mail was not delivered: exit 1, saying why
    assert "sent 0, pending 1, failed 0, blocked 0" in result.output
    assert "1 message(s) not delivered: 451" in result.output
    # `deliver` does not wait for the backoff.
    result = CliRunner().invoke(cli, ["--config", str(path), "deliver"])
    assert result.exit_code == 0 and "sent 1, pending 0" in result.output


def test_deliver_command_exits_1_when_the_relay_is_untrusted(
    engine: Engine, smtp_relay: SmtpRelay, db_url: str, tmp_path: Path
) -> None:
    from monitor.cli.app import cli

    queue(engine, "OM1")
    path = _write_config(tmp_path, db_url, smtp_relay.smtp_settings(ca_file=""))
    result = CliRunner().invoke(cli, ["--config", str(path), "deliver"])
    assert result.exit_code == 1
    assert "certificate" in result.output
    assert smtp_relay.received == []


# --- more edges ------------------------------------------------------------------------------


def test_tls_context_always_verifies() -> None:
    import ssl

    from monitor.mail.transports.smtp import tls_context

    ctx = tls_context("")
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


def test_relay_that_never_answers_times_out_and_spends_no_attempt(
    engine: Engine, make_config: Callable[..., Config], db_url: str
) -> None:
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts TCP, never sends a greeting
    try:
        oid = queue(engine, "OM1")
        smtp = {"host": "127.0.0.1", "port": silent.getsockname()[1], "timeout": 0.5}
        report = deliver_pending(engine, make_config(db_url, mail={"transport": "smtp"}, smtp=smtp))
        assert (report.sent, report.pending, report.unsent, report.ok) == (0, 1, 1, False)
        assert report.unreachable is not None and "unreachable" in report.unreachable
        assert outbox_rows(engine)[oid].attempts == 0
        assert disclosures(engine) == []
    finally:
        silent.close()


def test_unknown_outcome_on_the_last_attempt_is_dead_lettered(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    oid = queue(engine, "OM1")
    smtp_relay.handler.drop_after_data_next = 1
    report = deliver_pending(engine, smtp_config(max_attempts=1))
    assert (report.failed, report.ok) == (1, False)
    assert outbox_rows(engine)[oid].status == "failed"
    assert [d.outcome for d in disclosures(engine)] == ["unknown"]
    assert len(smtp_relay.received) == 1


def test_tampered_stored_recipient_is_blocked(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    oid = queue(engine, "OM1")
    with transaction(engine) as session:
        row = session.get(OutboxMessage, oid)
        assert row is not None
        row.content = row.content.replace(b"To: om1@police.example", b"To: om1@police.example, x@police.example")
    report = deliver_pending(engine, smtp_config())
    assert report.blocked == 1 and "not addressed to exactly" in report.blocked_details[0].reason
    assert smtp_relay.received == []


def test_maildir_write_failure_waits_without_spending_an_attempt(
    engine: Engine, make_config: Callable[..., Config], db_url: str, tmp_path: Path
) -> None:
    oid = queue(engine, "OM1")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    config = make_config(db_url, mail={"transport": "maildir", "maildir": str(blocker / "outbox")})
    report = deliver_pending(engine, config)
    assert (report.sent, report.pending, report.unsent, report.ok) == (0, 1, 1, False)
    assert (outbox_rows(engine)[oid].status, outbox_rows(engine)[oid].attempts) == ("pending", 0)  # no attempt spent
    assert report.unreachable is not None and "cannot write" in report.unreachable


def test_non_ascii_body_goes_as_8bitmime_unchanged(
    engine: Engine, smtp_relay: SmtpRelay, smtp_config: Callable[..., Config]
) -> None:
    from email.message import EmailMessage
    from email.policy import SMTP

    add_officer(engine, "OM1")
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "visit-monitor@monitor.police.example"
    msg["To"] = "om1@police.example"
    msg["Subject"] = "OFFICIAL-SENSITIVE: officer digest 2026-W48"
    msg["Message-ID"] = "<utf8.1@monitor.police.example>"
    msg.set_content("Überfällig – 42 days overdue, Málaga team £0 café\n", charset="utf-8")
    with transaction(engine) as session:
        row = outbox.enqueue(
            session,
            kind="officer",
            recipient="OM1",
            email="om1@police.example",
            period="2026-W48",
            message=msg,
            case_refs=["C-1"],
            now=NOW,
        )
        assert row is not None
        content = row.content
    assert deliver_pending(engine, smtp_config()).sent == 1
    (got,) = smtp_relay.received
    assert got.data.rstrip(b"\r\n") == content.rstrip(b"\r\n")
    assert "Überfällig" in got.message.get_content()


# --- retention ------------------------------------------------------------------------------


def test_bodies_of_finished_messages_are_erased_after_keep_sent_days(
    engine: Engine, make_config: Callable[..., Config], db_url: str, tmp_path: Path
) -> None:
    config = make_config(db_url, mail={"maildir": str(tmp_path / "outbox"), "keep_sent_days": 30})
    old_sent, recent_sent, old_pending = queue(engine, "OM1"), queue(engine, "OM2"), queue(engine, "OM3")
    with transaction(engine) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_((old_sent, recent_sent)))
            .values(status="sent", sent_at=NOW)
        )
        # OM3's message is still waiting (backoff) and old: never erased before it goes.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == old_pending)
            .values(next_attempt_at=datetime.now(UTC) + timedelta(days=1))
        )
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_((old_sent, old_pending)))
            .values(created_at=datetime.now(UTC) - timedelta(days=31))
        )
    report = deliver_pending(engine, config)
    rows = outbox_rows(engine)
    assert report.purged == 1
    assert rows[old_sent].content == b""
    assert rows[old_sent].message_id and rows[old_sent].case_refs == ["C-0001"]  # the record stays
    assert BODY_MARKER.encode() in rows[recent_sent].content
    assert BODY_MARKER.encode() in rows[old_pending].content and rows[old_pending].status == "pending"
    assert deliver_pending(engine, config).purged == 0  # nothing twice
