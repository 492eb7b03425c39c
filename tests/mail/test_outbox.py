"""Outbox: idempotent queueing, race-free claims and the append-only disclosure log.

Runs on SQLite and PostgreSQL (``engine``): the claim is a conditional UPDATE whose
correctness under concurrency depends on each backend's locking.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from smtp_server import make_test_message
from sqlalchemy import Engine, select, update

from monitor.mail import outbox
from monitor.register.db import reading, transaction
from monitor.register.models import Disclosure, OutboxMessage

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def queue(
    engine: Engine, officer: str, *, period: str = "2026-W48", kind: str = "officer", refs: tuple[str, ...] = ("C-1",)
) -> OutboxMessage | None:
    email = f"{officer.lower()}@police.example"
    with transaction(engine) as session:
        return outbox.enqueue(
            session,
            kind=kind,
            recipient=officer,
            email=email,
            period=period,
            message=make_test_message(email),
            case_refs=list(refs),
            now=NOW,
        )


def rows(engine: Engine) -> list[OutboxMessage]:
    with reading(engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_enqueue_stores_the_exact_bytes_message_id_and_subject(engine: Engine) -> None:
    msg = make_test_message("om1@police.example", message_id="<fixed.1@monitor.police.example>")
    with transaction(engine) as session:
        row = outbox.enqueue(
            session,
            kind="officer",
            recipient="OM1",
            email="om1@police.example",
            period="2026-W48",
            message=msg,
            case_refs=["C-1", "C-2"],
            now=NOW,
        )
        assert row is not None
    (stored,) = rows(engine)
    assert stored.message_id == "<fixed.1@monitor.police.example>"
    assert stored.subject == "OFFICIAL-SENSITIVE: officer digest 2026-W48"
    assert stored.content == msg.as_bytes(policy=policy.SMTP)
    assert b"\r\n" in stored.content  # wire line endings
    parsed = message_from_bytes(stored.content, policy=policy.default)
    assert parsed.is_multipart() and parsed["Message-ID"] == "<fixed.1@monitor.police.example>"
    assert (stored.status, stored.attempts, stored.next_attempt_at) == ("pending", 0, None)
    assert stored.case_refs == ["C-1", "C-2"]
    assert stored.created_at == NOW


def test_enqueue_twice_for_the_same_period_queues_once(engine: Engine) -> None:
    assert queue(engine, "OM1") is not None
    assert queue(engine, "OM1") is None
    assert queue(engine, "OM1", period="2026-W49") is not None
    assert queue(engine, "OM1", kind="team") is not None
    assert len(rows(engine)) == 3


def test_concurrent_enqueue_of_one_key_stores_one_row_and_raises_nowhere(engine: Engine) -> None:
    barrier = threading.Barrier(4)
    results: list[object] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(queue(engine, "OM1"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r is not None for r in results) == 1
    assert len(rows(engine)) == 1


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"Cc": "other@police.example"}, "Cc"),
        ({"Bcc": "other@police.example"}, "Bcc"),
    ],
)
def test_enqueue_refuses_extra_recipients(engine: Engine, headers: dict[str, str], problem: str) -> None:
    msg = make_test_message("om1@police.example")
    for name, value in headers.items():
        msg[name] = value
    with transaction(engine) as session, pytest.raises(ValueError, match=problem):
        outbox.enqueue(
            session,
            kind="officer",
            recipient="OM1",
            email="om1@police.example",
            period="p",
            message=msg,
            case_refs=[],
            now=NOW,
        )


def test_enqueue_refuses_a_to_header_that_is_not_the_recipient(engine: Engine) -> None:
    with transaction(engine) as session, pytest.raises(ValueError, match="To header"):
        outbox.enqueue(
            session,
            kind="officer",
            recipient="OM1",
            email="om1@police.example",
            period="p",
            message=make_test_message("someone.else@police.example"),
            case_refs=[],
            now=NOW,
        )


def test_enqueue_requires_a_message_id(engine: Engine) -> None:
    msg = make_test_message("om1@police.example")
    del msg["Message-ID"]
    with transaction(engine) as session, pytest.raises(ValueError, match="Message-ID"):
        outbox.enqueue(
            session,
            kind="officer",
            recipient="OM1",
            email="om1@police.example",
            period="p",
            message=msg,
            case_refs=[],
            now=NOW,
        )


def test_record_disclosure_appends_metadata_rows(engine: Engine) -> None:
    row = queue(engine, "OM1")
    assert row is not None
    for outcome in ("retry", "sent"):
        with transaction(engine) as session:
            outbox.record_disclosure(
                session,
                kind="officer",
                recipient="OM1",
                email="om1@police.example",
                case_refs=["C-1"],
                message_id=row.message_id,
                transport="smtp",
                outcome=outcome,
                relay_reply="250 2.0.0 Ok" if outcome == "sent" else "451 4.3.0 later",
                outbox_id=row.id,
                at=NOW,
            )
    with reading(engine) as session:
        log = list(session.scalars(select(Disclosure).order_by(Disclosure.id)))
    assert [d.outcome for d in log] == ["retry", "sent"]
    assert all(d.message_id == row.message_id and d.outbox_id == row.id and d.case_refs == ["C-1"] for d in log)
    with transaction(engine) as session, pytest.raises(ValueError, match="outcome"):
        outbox.record_disclosure(
            session,
            kind="officer",
            recipient="OM1",
            email="om1@police.example",
            case_refs=[],
            message_id="<x@y>",
            transport="smtp",
            outcome="delivered-maybe",
            relay_reply=None,
            at=NOW,
        )


def claim(engine: Engine, worker: str, now: datetime = NOW, respect_backoff: bool = True) -> OutboxMessage | None:
    return outbox.claim_next(engine, worker=worker, now=now, respect_backoff=respect_backoff)


def test_claim_commits_sending_and_counts_an_attempt(engine: Engine) -> None:
    queue(engine, "OM1")
    queue(engine, "OM2")
    first = claim(engine, "host-a:1:aaaaaa")
    assert first is not None and first.recipient == "OM1"
    # Read back through a fresh connection: the claim is committed, not just flushed.
    one, two = rows(engine)
    assert (one.status, one.attempts, one.claimed_at, one.claimed_by) == ("sending", 1, NOW, "host-a:1:aaaaaa")
    assert one.claim_token is not None and one.claim_token.startswith("host-a:1:aaaaaa:")
    assert first.claim_token == one.claim_token
    assert (two.status, two.attempts, two.claim_token) == ("pending", 0, None)  # one message at a time
    second = claim(engine, "host-b:2:bbbbbb")
    assert second is not None and second.recipient == "OM2"
    assert claim(engine, "host-c:3:cccccc") is None  # both are being sent


def test_claim_respects_backoff_unless_told_not_to(engine: Engine) -> None:
    a = queue(engine, "OM1")
    b = queue(engine, "OM2")
    assert a is not None and b is not None
    with transaction(engine) as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id == a.id).values(next_attempt_at=NOW + timedelta(minutes=5))
        )
        session.execute(update(OutboxMessage).where(OutboxMessage.id == b.id).values(next_attempt_at=NOW))
    claimed = claim(engine, "w")
    assert claimed is not None and claimed.id == b.id  # due exactly now is due
    assert claim(engine, "w") is None
    claimed = claim(engine, "w", respect_backoff=False)
    assert claimed is not None and claimed.id == a.id


def test_next_candidate_reads_without_claiming(engine: Engine) -> None:
    ids = [m.id for m in (queue(engine, f"OM{i}") for i in range(3)) if m is not None]
    with reading(engine) as session:
        candidate = outbox.next_candidate(session, now=NOW, respect_backoff=True, after_id=ids[0])
    assert candidate is not None and candidate.id == ids[1]
    assert all(r.status == "pending" and r.attempts == 0 for r in rows(engine))
    assert outbox.due_ids(engine, now=NOW, respect_backoff=True, after_id=ids[0]) == ids[1:]


def test_stale_sending_claim_is_taken_over_after_the_lease(engine: Engine) -> None:
    queue(engine, "OM1")
    dead = claim(engine, "far-host:1:dddddd")
    assert dead is not None
    just_before = NOW + outbox.CLAIM_LEASE - timedelta(seconds=1)
    assert claim(engine, "w2", just_before) is None
    after = NOW + outbox.CLAIM_LEASE + timedelta(seconds=1)
    taken = claim(engine, "w2", after)
    assert taken is not None and taken.id == dead.id and taken.attempts == 2
    assert taken.message_id == dead.message_id  # resent with the same Message-ID
    # The dead worker, if it wakes up, can no longer touch the row.
    with transaction(engine) as session:
        assert not outbox.finish(session, dead, status="sent")
        assert outbox.finish(session, taken, status="sent", sent_at=after)
    (row,) = rows(engine)
    assert (row.status, row.claim_token, row.claimed_by, row.sent_at) == ("sent", None, None, after)
    # The possible first hand-over was disclosed when the claim was taken over.
    with reading(engine) as session:
        (unknown,) = session.scalars(select(Disclosure))
    assert unknown.outcome == "unknown" and "far-host:1:dddddd" in (unknown.relay_reply or "")


def test_concurrent_claims_never_overlap(engine: Engine) -> None:
    for i in range(30):
        queue(engine, f"OM{i:02d}")
    barrier = threading.Barrier(3)
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        mine: list[int] = []
        try:
            barrier.wait()
            while (message := claim(engine, name)) is not None:
                mine.append(message.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        claimed[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == 30 and len(set(every)) == 30
    assert all(r.attempts == 1 for r in rows(engine))
