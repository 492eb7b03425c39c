"""Issue 8, finding 9: a relay that is down must never use up the week's digests.

Before: each ``deliver`` run during an outage spent an attempt on every message, so eight
runs turned the week's digests into dead letters (and the (kind, recipient, period) key
stopped ``digest`` from queueing them again), while ``digest`` and ``deliver`` exited 0.
Now an unreachable relay spends no attempt, both commands exit 1 saying how many messages
wait and why, and an operator can re-queue dead letters (``visit-monitor outbox``).
Real aiosmtpd relay (tests/smtp_server.py), real databases (SQLite and PostgreSQL).
"""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_delivery as td
from click.testing import CliRunner, Result
from smtp_server import PASSWORD, SmtpRelay, smtp_relay
from sqlalchemy import Engine, select, update

from monitor.cli.app import cli
from monitor.core.config import Config
from monitor.mail.delivery import deliver_pending
from monitor.mail.transports.base import Unreachable
from monitor.mail.transports.smtp import _session_failure
from monitor.register.db import reading, transaction
from monitor.register.models import OutboxMessage, OutboxRequeue

__all__ = ["smtp_relay"]  # the fixture, imported for pytest


@pytest.fixture
def relay_config(make_config: Callable[..., Config], db_url: str, smtp_relay: SmtpRelay) -> Callable[..., Config]:
    def _make(smtp: dict[str, Any] | None = None, **mail: Any) -> Config:
        section = {"transport": "smtp", "retry_base_seconds": 1, "retry_max_seconds": 60, "max_attempts": 3, **mail}
        return make_config(db_url, mail=section, smtp=smtp_relay.smtp_settings(**(smtp or {})))

    return _make


def _silent_listener() -> socket.socket:
    """Accepts TCP and never says a word: a relay that times out on connect."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


# --- no attempt is spent while the relay cannot be reached ----------------------------------


@pytest.mark.parametrize("outage", ["connection refused", "timeout on connect"])
def test_unreachable_relay_spends_no_attempt_however_many_runs(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config], outage: str
) -> None:
    ids = [td.queue(engine, f"OM{i}") for i in range(3)]
    silent = None
    if outage == "connection refused":
        smtp_relay.stop()
        config = relay_config()
    else:
        silent = _silent_listener()
        config = relay_config(smtp={"port": silent.getsockname()[1], "timeout": 0.3})
    try:
        for _ in range(10):  # far more runs than max_attempts (3)
            report = deliver_pending(engine, config, respect_backoff=True)
            assert (report.sent, report.failed, report.pending) == (0, 0, 3)
            assert not report.ok
            assert report.unsent == 3
            assert report.unsent_reason is not None and "unreachable" in report.unsent_reason
    finally:
        if silent is not None:
            silent.close()
    rows = td.outbox_rows(engine)
    assert [(rows[i].status, rows[i].attempts, rows[i].claim_token) for i in ids] == [("pending", 0, None)] * 3
    assert all(rows[i].next_attempt_at is None for i in ids)  # no backoff either: the next run tries again
    assert td.disclosures(engine) == []  # nothing was disclosed to anyone

    # Back up: every message goes, on its first real attempt.
    if outage == "connection refused":
        smtp_relay.start()
    report = deliver_pending(engine, relay_config())
    assert (report.sent, report.unsent, report.ok) == (3, 0, True)
    assert all(r.status == "sent" and r.attempts == 1 for r in td.outbox_rows(engine).values())
    assert len(smtp_relay.received) == 3


def test_name_resolution_failure_is_unreachable() -> None:
    """DNS failure (no lookup is made here: the failure is handed in as the socket raises it)."""
    failure = _session_failure(socket.gaierror(-2, "Name or service not known"))
    assert isinstance(failure, Unreachable) and "unreachable" in failure.reason


def test_tls_to_the_wrong_host_spends_no_attempt(
    engine: Engine, smtp_relay: SmtpRelay, make_config: Callable[..., Config], db_url: str, tmp_path: Path
) -> None:
    wrong = SmtpRelay(tmp_path / "wrong", ca=smtp_relay.ca)
    wrong.server_cert = wrong.ca.issue_cert("mail.elsewhere.example")
    wrong.start()
    try:
        oid = td.queue(engine, "OM1")
        config = make_config(db_url, mail={"transport": "smtp", "max_attempts": 2}, smtp=wrong.smtp_settings())
        for _ in range(4):
            report = deliver_pending(engine, config)
            assert not report.ok and report.unsent == 1
        row = td.outbox_rows(engine)[oid]
        assert (row.status, row.attempts) == ("pending", 0)
    finally:
        wrong.stop()


def test_relay_dropping_between_messages_spends_no_attempt_on_the_rest(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config]
) -> None:
    """The relay goes down mid-run: what was sent is sent, the rest wait without an attempt."""
    ids = [td.queue(engine, f"OM{i}") for i in range(4)]

    def stop_after_second(got: Any) -> None:
        if len(smtp_relay.received) == 2:
            # Hold the second reply, and take the relay down meanwhile: every session drops.
            smtp_relay.handler.data_delay_seconds = 2.0
            threading.Timer(0.1, smtp_relay.stop).start()

    smtp_relay.handler.on_data = stop_after_second
    report = deliver_pending(engine, relay_config())
    smtp_relay.handler.on_data = None
    rows = td.outbox_rows(engine)
    sent = [i for i in ids if rows[i].status == "sent"]
    waiting = [i for i in ids if rows[i].status == "pending"]
    assert sent == ids[:1] and waiting == ids[1:]
    assert report.unsent == len(waiting) and not report.ok
    # At most the one message that was being handed over when the relay went used an attempt.
    assert sum(rows[i].attempts for i in waiting) <= 1


# --- the commands say so, and exit 1 ----------------------------------------------------------


def _config_file(tmp_path: Path, db_url: str, relay: SmtpRelay, **smtp: Any) -> Path:
    return td._write_config(tmp_path, db_url, relay.smtp_settings(**smtp))


def _invoke(path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(path), *args])


def test_deliver_and_digest_exit_1_while_the_relay_is_down(
    engine: Engine, smtp_relay: SmtpRelay, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", PASSWORD)
    for i in range(3):
        td.queue(engine, f"OM{i}")
    smtp_relay.stop()
    path = _config_file(tmp_path, db_url, smtp_relay)
    result = _invoke(path, "deliver")
    assert result.exit_code == 1, result.output
    assert "sent 0, pending 3, failed 0, blocked 0" in result.output
    assert "3 message(s) not delivered" in result.output
    assert "relay unreachable" in result.output and "ConnectionRefusedError" in result.output
    # The host and port tried, so a typo in [smtp] host or port shows in the first line read.
    assert f"relay unreachable at {smtp_relay.host}:{smtp_relay.port}: ConnectionRefusedError" in result.output
    assert PASSWORD not in result.output and "Traceback" not in result.output

    digest = _invoke(path, "digest", "--kind", "officer", "--as-of", "2026-11-26")
    assert digest.exit_code == 1, digest.output
    assert "not delivered" in digest.output and "relay unreachable" in digest.output

    smtp_relay.start()
    ok = _invoke(path, "deliver")
    assert ok.exit_code == 0, ok.output
    assert "sent 3, pending 0" in ok.output


def test_deliver_job_fails_while_the_relay_is_down(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config]
) -> None:
    from datetime import UTC, datetime

    from monitor.daemon.failures import JobFailed
    from monitor.daemon.jobs import deliver_job

    td.queue(engine, "OM1")
    smtp_relay.stop()
    with pytest.raises(JobFailed) as failed:
        deliver_job(engine, relay_config(), datetime(2026, 11, 26, 7, tzinfo=UTC))
    assert "1 message(s) not delivered" in str(failed.value) and "unreachable" in str(failed.value)
    assert failed.value.counts["unsent"] == 1


# --- dead letters can be re-queued by an operator ---------------------------------------------


def _listed_ids(output: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(r"^\s*(\d+)\s+(?:officer|team|force|escalation)\b", output, re.M)]


def _dead_letters(engine: Engine, smtp_relay: SmtpRelay, config: Config) -> list[int]:
    ids = [td.queue(engine, f"OM{i}") for i in range(3)]
    for i in (0, 1):
        smtp_relay.handler.reject_rcpt[f"om{i}@police.example"] = "550 5.1.1 mailbox unavailable"
    report = deliver_pending(engine, config)
    assert (report.failed, report.sent) == (2, 1)
    smtp_relay.handler.reject_rcpt.clear()
    return ids


def test_outbox_list_and_requeue_dead_letters(
    engine: Engine,
    smtp_relay: SmtpRelay,
    relay_config: Callable[..., Config],
    db_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids = _dead_letters(engine, smtp_relay, relay_config())
    path = _config_file(tmp_path, db_url, smtp_relay)

    listed = _invoke(path, "outbox", "list", "--status", "dead")
    assert listed.exit_code == 0, listed.output
    assert _listed_ids(listed.output) == ids[:2]  # the sent one is not a dead letter
    assert "550 5.1.1" in listed.output and "2 message(s)" in listed.output
    assert _listed_ids(_invoke(path, "outbox", "list", "--status", "all").output) == ids

    nothing = _invoke(path, "outbox", "requeue")
    assert nothing.exit_code == 2 and "--id" in nothing.output  # says how to choose

    caplog.set_level(logging.INFO)
    result = _invoke(path, "outbox", "requeue", "--id", str(ids[0]), "--note", "mailbox restored")
    assert result.exit_code == 0, result.output
    assert "re-queued 1 message(s)" in result.output
    rows = td.outbox_rows(engine)
    assert (rows[ids[0]].status, rows[ids[0]].attempts, rows[ids[0]].next_attempt_at) == ("pending", 0, None)
    assert rows[ids[1]].status == "failed"
    with reading(engine) as s:
        (audit,) = s.scalars(select(OutboxRequeue))
    assert audit.outbox_id == ids[0] and audit.from_status == "failed" and audit.attempts == 1
    assert audit.operator and "@" in audit.operator and audit.note == "mailbox restored"
    assert audit.last_error is not None and "550" in audit.last_error
    logged = [r.getMessage() for r in caplog.records if r.name == "monitor.mail.dead_letters"]
    assert any(f"outbox {ids[0]} re-queued by {audit.operator}" in m for m in logged)
    assert not any("police.example" in m.split(" by ")[0] for m in logged)  # no address in the log

    # Everything left, by kind: the second dead letter too; then both go, same Message-ID.
    again = _invoke(path, "outbox", "requeue", "--kind", "officer", "--since", "2026-01-01")
    assert again.exit_code == 0 and "re-queued 1 message(s)" in again.output
    report = deliver_pending(engine, relay_config())
    assert report.sent == 2
    rows = td.outbox_rows(engine)
    assert {r.message_id for r in smtp_relay.received} == {rows[i].message_id for i in ids}
    none_left = _invoke(path, "outbox", "requeue", "--all")
    assert none_left.exit_code == 0 and "re-queued 0 message(s)" in none_left.output


def test_requeue_refuses_a_dead_letter_whose_body_was_erased(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config], db_url: str, tmp_path: Path
) -> None:
    ids = _dead_letters(engine, smtp_relay, relay_config())
    with transaction(engine) as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == ids[0]).values(content=b""))
    path = _config_file(tmp_path, db_url, smtp_relay)
    result = _invoke(path, "outbox", "requeue", "--all")
    assert result.exit_code == 1, result.output
    assert "re-queued 1 message(s)" in result.output
    assert f"outbox {ids[0]}: not re-queued: its stored body was erased" in result.output
    assert td.outbox_rows(engine)[ids[0]].status == "failed"


def test_outbox_command_is_registered_and_documented() -> None:
    from monitor.cli.app import COMMANDS

    assert COMMANDS["outbox"] == "monitor.cli.outbox"
    docs = Path(__file__).resolve().parents[2] / "docs"
    reference = (docs / "reference" / "cli.md").read_text(encoding="utf-8")
    assert "visit-monitor outbox requeue" in reference and "visit-monitor outbox list" in reference
    guide = (docs / "operate" / "mail.md").read_text(encoding="utf-8")
    assert "vm outbox requeue" in guide and "vm outbox list" in guide
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "outbox", "requeue", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--id" in out and "--kind" in out and "--since" in out
