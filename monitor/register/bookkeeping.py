"""The service's own bookkeeping tables: what it sent, ran, kept and showed, beside the register.

The register's tables (:mod:`monitor.register.models`) hold what the force's extracts say;
these hold what the service itself did with them: the outbox and its disclosure log, the
daemon's job runs and heartbeats, the daily backlog snapshots, the web app's sessions and
access log. Apart so each module holds one kind of table; :mod:`monitor.register.models`
names them all (``from monitor.register.models import OutboxMessage``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from monitor.register.base import Base, UTCDateTime


class OutboxMessage(Base):
    """A rendered message waiting to go, queued once per (kind, recipient, period).

    The unique key is what makes ``digest`` idempotent: asking twice in one ISO week
    queues nothing new. ``status`` moves pending -> sending -> sent, or to failed (dead
    letter, permanent refusal or attempts exhausted) or blocked (recipient not allowed).
    A worker claims a row with a conditional UPDATE on (id, status, claim_token) so two
    workers never send the same message at once.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # officer | team | force | escalation
    recipient: Mapped[str] = mapped_column(String(64))  # officer_id
    email: Mapped[str] = mapped_column(String(320))
    # 2026-W48, 2026-11, 2026-11-26; "2026-W48/T7" for a digest re-routed to a lead for team T7
    period: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)  # the whole RFC 5322 message
    case_refs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The claiming worker, host:pid:nonce: on the same host a dead claimer is seen at once.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    #: Set when the digest had no mailable recipient of its own and went to a force lead.
    routed_because: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("kind", "recipient", "period", name="uq_outbox_kind_recipient_period"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        # Delivery takes the next pending message by id, one at a time: one index seek each.
        Index("ix_outbox_status_id", "status", "id"),
    )


class OutboxRequeue(Base):
    """Audit of an operator re-queueing a dead letter: who, when, which message, from what."""

    __tablename__ = "outbox_requeues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    operator: Mapped[str] = mapped_column(String(255))  # OS user@host that ran the command
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class Disclosure(Base):
    """Append-only log of every disclosure attempt (DPA 2018 s.62). Never bodies, never secrets."""

    __tablename__ = "disclosures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    message_id: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    case_refs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    transport: Mapped[str] = mapped_column(String(16))
    relay_reply: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))  # sent | retry | failed | blocked | unknown


class JobRun(Base):
    """One run of a scheduled job for one scheduled time; the unique key stops double runs."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(32))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # running | ok | failed | abandoned
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    worker: Mapped[str] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("job", "scheduled_for", name="uq_job_runs_job_scheduled_for"),
        Index("ix_job_runs_job_started", "job", "started_at"),
    )


class Heartbeat(Base):
    """A running daemon says it is alive; ``health`` and replica take-over read this."""

    __tablename__ = "heartbeats"

    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[str] = mapped_column(String(32))


class BacklogSnapshot(Base):
    """The day's backlog per team and risk level, for trends in digests and reports."""

    __tablename__ = "backlog_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    taken_on: Mapped[date] = mapped_column(Date)
    team: Mapped[str] = mapped_column(String(64))
    risk_level: Mapped[str] = mapped_column(String(16))
    caseload: Mapped[int] = mapped_column(Integer, default=0)
    overdue_visits: Mapped[int] = mapped_column(Integer, default=0)
    age_1_7: Mapped[int] = mapped_column(Integer, default=0)
    age_8_28: Mapped[int] = mapped_column(Integer, default=0)
    age_29_90: Mapped[int] = mapped_column(Integer, default=0)
    age_91_plus: Mapped[int] = mapped_column(Integer, default=0)
    due_soon: Mapped[int] = mapped_column(Integer, default=0)
    overdue_risk_reviews: Mapped[int] = mapped_column(Integer, default=0)
    overdue_notifications: Mapped[int] = mapped_column(Integer, default=0)
    whereabouts_unknown: Mapped[int] = mapped_column(Integer, default=0)
    most_overdue_days: Mapped[int | None] = mapped_column(Integer)
    # Practice quality (migration 0008; None when not recorded or before it): the most
    # overdue risk review, and the trend figures of docs/practice.md.
    most_overdue_review_days: Mapped[int | None] = mapped_column(Integer)
    #: Completed home visits in the lone-visit look-back whose pairing is recorded, and the
    #: lone ones among them (per the visited person's team and risk level).
    lookback_home_visits: Mapped[int | None] = mapped_column(Integer)
    lookback_lone_visits: Mapped[int | None] = mapped_column(Integer)
    overdue_supervisor_reviews: Mapped[int | None] = mapped_column(Integer)
    predictable_visits: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("taken_on", "team", "risk_level", name="uq_backlog_snapshots_day_team_risk"),)


class WebSession(Base):
    """A signed-in (or signing-in) browser of the web app, kept server-side.

    The browser holds only an opaque random token; ``id`` is its SHA-256, so a copy of
    this table cannot be replayed as cookies. ``officer_id``, ``subject`` and ``email``
    are set at sign-in and re-checked against the officers table on every request.
    On SQLite the table lives in the web store file, not the register (``monitor.web.store``).
    """

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    officer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    #: The sign-in id the session was opened with (identity by ``oid``/UPN/``sub``).
    sign_in_id: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AccessLogEntry(Base):
    """Every look at case data through the web app, and every refusal (DPA 2018 s.62).

    Metadata only: who (officer id and IdP subject), what (page, scope, filters), how many
    cases were shown, and whether it was allowed. Never case references or personal data.
    On SQLite the table lives in the web store file, not the register (``monitor.web.store``).
    """

    __tablename__ = "web_access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    officer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16))  # view | export | sign_in | sign_out | refused
    page: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(100))  # force | team:CODE | officer:ID | none
    filters: Mapped[str] = mapped_column(String(255), default="")
    cases_shown: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16))  # allowed | refused | not_found
    status: Mapped[int] = mapped_column(Integer)
