"""Issue 8, findings 10 and 12: claims after a crash, and sends whose claim was lost.

Before: ``deliver`` claimed 50 messages at once (an attempt each); after ``kill -9`` the
whole batch sat in ``sending`` for the 10-minute lease while the next ``deliver`` printed
"pending 31", sent nothing and exited 0; and a message sent just before its claim was lost
never reached the disclosure log. Now a message is claimed only as it is handed over (the
claim is the attempt), the claim names its worker (host:pid:nonce), a dead worker's claim
is taken over at once on the same host (its process is gone) or when its lease lapses,
and every send that happened is disclosed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import test_delivery as td
from smtp_server import SmtpRelay, smtp_relay
from sqlalchemy import Engine, select, update

from monitor.core.config import Config
from monitor.core.workers import host_identity, make_worker_id, worker_is_gone
from monitor.mail import outbox
from monitor.mail.delivery import deliver_pending
from monitor.register.db import reading, transaction
from monitor.register.models import OutboxMessage

__all__ = ["smtp_relay"]  # the fixture, imported for pytest


@pytest.fixture
def relay_config(make_config: Callable[..., Config], db_url: str, smtp_relay: SmtpRelay) -> Callable[..., Config]:
    def _make(**mail: Any) -> Config:
        section = {"transport": "smtp", "retry_base_seconds": 1, "max_attempts": 3, **mail}
        return make_config(db_url, mail=section, smtp=smtp_relay.smtp_settings())

    return _make


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def statuses(engine: Engine) -> list[tuple[str, int]]:
    with reading(engine) as s:
        return [(r.status, r.attempts) for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_worker_ids_and_liveness() -> None:
    me = make_worker_id()
    host, pid, nonce = me.rsplit(":", 2)
    assert host.split("#")[0] == socket.gethostname() and int(pid) == os.getpid() and len(nonce) >= 6
    assert host == host_identity()
    assert make_worker_id() != me
    assert not worker_is_gone(me)
    assert worker_is_gone(f"{host}:{dead_pid()}:abcdef")
    assert not worker_is_gone(f"another-host.example:{dead_pid()}:abcdef")  # cannot tell: not gone
    # Same host name, another pid namespace (a container sharing the host's name): cannot tell either.
    assert not worker_is_gone(f"{socket.gethostname()}#1:{dead_pid()}:abcdef")
    assert not worker_is_gone("garbage")


def test_messages_are_claimed_one_at_a_time_and_only_as_they_are_sent(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config]
) -> None:
    for i in range(5):
        td.queue(engine, f"OM{i}")
    seen: list[list[tuple[str, int]]] = []
    smtp_relay.handler.on_data = lambda got: seen.append(statuses(engine))
    report = deliver_pending(engine, relay_config())
    assert report.sent == 5
    # While message k was on the wire: k-1 sent, exactly one sending (attempt 1), the rest untouched.
    for k, snapshot in enumerate(seen):
        assert snapshot[:k] == [("sent", 1)] * k
        assert snapshot[k] == ("sending", 1)
        assert snapshot[k + 1 :] == [("pending", 0)] * (4 - k)


def test_claims_record_the_worker(engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config]) -> None:
    td.queue(engine, "OM1")
    claimed_by: list[str | None] = []

    def look(got: Any) -> None:
        with reading(engine) as s:
            claimed_by.extend(s.scalars(select(OutboxMessage.claimed_by)))

    smtp_relay.handler.on_data = look
    deliver_pending(engine, relay_config())
    (worker,) = claimed_by
    assert worker is not None
    host, pid, _ = worker.rsplit(":", 2)
    assert (host, int(pid)) == (host_identity(), os.getpid())


def _in_flight(engine: Engine, oid: int, *, worker: str, claimed_at: datetime, attempts: int = 1) -> None:
    """Make ``oid`` look like a worker took it and was handing it over."""
    with transaction(engine) as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == oid)
            .values(
                status="sending",
                claim_token=f"{worker[:40]}:t",
                claimed_by=worker,
                claimed_at=claimed_at,
                attempts=attempts,
            )
        )


def test_a_dead_workers_claim_on_this_host_is_taken_over_at_once(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config]
) -> None:
    in_flight, waiting = td.queue(engine, "OM1"), td.queue(engine, "OM2")
    dead = f"{host_identity()}:{dead_pid()}:0a1b2c"
    _in_flight(engine, in_flight, worker=dead, claimed_at=datetime.now(UTC))  # claimed a moment ago
    report = deliver_pending(engine, relay_config())
    assert (report.sent, report.taken_over, report.ok) == (2, 1, True)
    rows = td.outbox_rows(engine)
    assert (rows[in_flight].status, rows[in_flight].attempts) == ("sent", 2)  # resent: the one in flight
    assert (rows[waiting].status, rows[waiting].attempts) == ("sent", 1)
    assert sorted(r.message_id for r in smtp_relay.received) == sorted(rows[i].message_id for i in (in_flight, waiting))
    # The possible first hand-over is in the disclosure log too, as an unknown outcome.
    log = [(d.outbox_id, d.outcome) for d in td.disclosures(engine)]
    assert log.count((in_flight, "unknown")) == 1 and log.count((in_flight, "sent")) == 1
    unknown = next(d for d in td.disclosures(engine) if d.outcome == "unknown")
    assert "died" in (unknown.relay_reply or "") and unknown.message_id == rows[in_flight].message_id


def test_another_hosts_claim_is_taken_over_when_its_lease_lapses(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config]
) -> None:
    oid = td.queue(engine, "OM1")
    elsewhere = "relay-worker-2.police.example:4242:00aa11"
    _in_flight(engine, oid, worker=elsewhere, claimed_at=datetime.now(UTC) - timedelta(seconds=5))
    report = deliver_pending(engine, relay_config())
    assert (report.sent, report.elsewhere, report.ok) == (0, 1, True)  # a live claim elsewhere: left alone
    assert "1 message(s) being sent by another worker" in "\n".join(report.summary_lines())
    assert smtp_relay.received == []
    _in_flight(engine, oid, worker=elsewhere, claimed_at=datetime.now(UTC) - outbox.CLAIM_LEASE - timedelta(seconds=1))
    report = deliver_pending(engine, relay_config())
    assert (report.sent, report.taken_over) == (1, 1)
    assert timedelta(seconds=45) >= outbox.CLAIM_LEASE  # taken over well within a minute


def test_a_live_workers_claim_is_renewed_while_it_sends(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow relay must not make a live sender look dead: its lease is renewed while it waits."""
    import monitor.mail.delivery as delivery_module

    monkeypatch.setattr(outbox, "CLAIM_LEASE", timedelta(seconds=0.6))
    monkeypatch.setattr(delivery_module, "RENEW_EVERY_SECONDS", 0.1)
    oid = td.queue(engine, "OM1")
    smtp_relay.handler.data_delay_seconds = 1.5
    stolen: list[int] = []

    def other_worker_tries(got: Any) -> None:
        import threading
        import time

        def later() -> None:
            time.sleep(1.0)  # longer than the lease: only renewal keeps the claim ours
            claimed = outbox.claim_next(
                engine, worker="other-host:1:ffffff", now=datetime.now(UTC), respect_backoff=False
            )
            stolen.extend([claimed.id] if claimed is not None else [])

        threading.Thread(target=later, daemon=True).start()

    smtp_relay.handler.on_data = other_worker_tries
    report = deliver_pending(engine, relay_config())
    assert report.sent == 1 and stolen == []
    assert td.outbox_rows(engine)[oid].status == "sent"


def test_a_send_whose_claim_was_lost_is_still_disclosed(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config]
) -> None:
    """Finding 12: the claim is taken away while the message is on the wire."""
    oid = td.queue(engine, "OM1")

    def steal(got: Any) -> None:
        with transaction(engine) as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.id == oid).values(status="pending", claim_token=None))

    smtp_relay.handler.on_data = steal
    report = deliver_pending(engine, relay_config())
    assert len(smtp_relay.received) == 1
    log = td.disclosures(engine)
    assert [(d.outbox_id, d.outcome) for d in log] == [(oid, "sent")]
    assert (log[0].relay_reply or "").startswith("250")
    # It went: the row (waiting again, nobody sending it) is marked sent, not sent twice.
    row = td.outbox_rows(engine)[oid]
    assert row.status == "sent" and report.sent == 1
    assert deliver_pending(engine, relay_config(), respect_backoff=False).sent == 0
    assert len(smtp_relay.received) == 1


def test_a_send_whose_claim_went_to_another_worker_is_disclosed_and_left_to_it(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config]
) -> None:
    oid = td.queue(engine, "OM1")

    def taken(got: Any) -> None:
        with transaction(engine) as s:
            s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == oid)
                .values(claim_token="other:tok", claimed_by="other-host:1:abcdef", claimed_at=datetime.now(UTC))
            )

    smtp_relay.handler.on_data = taken
    deliver_pending(engine, relay_config())
    assert [(d.outbox_id, d.outcome) for d in td.disclosures(engine)] == [(oid, "sent")]
    row = td.outbox_rows(engine)[oid]
    assert (row.status, row.claim_token) == ("sending", "other:tok")  # the other worker's to finish


def test_unknown_outcome_and_failures_are_disclosed_even_when_the_claim_was_lost(
    engine: Engine, smtp_relay: SmtpRelay, relay_config: Callable[..., Config]
) -> None:
    oid = td.queue(engine, "OM1")
    smtp_relay.handler.drop_after_data_next = 1

    def steal(got: Any) -> None:
        with transaction(engine) as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.id == oid).values(claim_token="x:y"))

    smtp_relay.handler.on_data = steal
    deliver_pending(engine, relay_config())
    assert [(d.outbox_id, d.outcome) for d in td.disclosures(engine)] == [(oid, "unknown")]
