"""The register and the service's own bookkeeping, as SQLAlchemy 2.x models.

Dates are dates (a visit happened on a London calendar day); instants are timezone-aware
UTC. SQLite has no timezone type, so :class:`UTCDateTime` stores naive UTC and hands back
aware UTC on both backends: code never has to ask which database it is on.

The schema itself is created and migrated by Alembic (``visit-monitor db upgrade``); the
models are the reference the migrations are checked against (tests compare them).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import LargeBinary, TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware-UTC datetimes on every backend (naive UTC in SQLite, timestamptz in PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC instant is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Officer(Base):
    """An officer from officers.csv. The only source of email recipients."""

    __tablename__ = "officers"

    officer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    team: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))  # offender_manager | supervisor | lead
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The identity provider's identifier for this officer (an Entra ``oid``, a UPN, a
    #: ``sub``), matched at sign-in when ``[web] identity_claim`` is not "email".
    sign_in_id: Mapped[str | None] = mapped_column(String(255), index=True)
    #: Not in the latest full extract since this date (never deleted; see register.presence).
    absent_since: Mapped[date | None] = mapped_column(Date)
    #: Home visits the officer can lead in a normal week (officers.csv, optional): the
    #: planner's capacity for them; blank = their observed pace (see monitor.planning).
    visits_per_week: Mapped[int | None] = mapped_column(Integer)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OfficerAbsence(Base):
    """Time an officer is away (absences.csv), which the planner takes off their capacity.

    Staff data: shown only as "unavailable", never with a reason (the file has no reason
    column, and an unknown column is never stored). Keyed by officer and first day
    (``absence_key``, see ``register.fields``); ``fraction`` is the share of each working
    day away (1 = the whole day). A full extract that no longer lists a current or future
    absence marks it ``withdrawn_on`` (kept, not counted: ``register.absences``).
    """

    __tablename__ = "officer_absences"

    absence_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    officer_id: Mapped[str] = mapped_column(String(64), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    fraction: Mapped[float] = mapped_column(Float, default=1.0)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Offender(Base):
    """A registered person, keyed by the force's case reference."""

    __tablename__ = "offenders"

    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    risk_level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    team: Mapped[str] = mapped_column(String(64))
    offender_manager: Mapped[str] = mapped_column(String(64))
    registered_on: Mapped[date] = mapped_column(Date)
    status_since: Mapped[date | None] = mapped_column(Date)
    management: Mapped[str] = mapped_column(String(16), default="active")
    risk_assessed_on: Mapped[date | None] = mapped_column(Date)
    last_notified_on: Mapped[date | None] = mapped_column(Date)
    no_fixed_abode: Mapped[bool] = mapped_column(Boolean, default=False)
    registration_ends: Mapped[date | None] = mapped_column(Date)
    surname: Mapped[str | None] = mapped_column(String(200))
    forenames: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    #: Not in the latest full extract since this date (never deleted; see register.presence).
    absent_since: Mapped[date | None] = mapped_column(Date)
    #: Practice quality (migration 0008): the visit frequency of the person's risk management
    #: plan, as canonical ISO 8601 text ("P2M"); it overrides the risk level's interval.
    visit_interval: Mapped[str | None] = mapped_column(String(16))
    mappa_category: Mapped[int | None] = mapped_column(SmallInteger)  # 1-4
    mappa_level: Mapped[int | None] = mapped_column(SmallInteger)  # 1-3
    supervisor_reviewed_on: Mapped[date | None] = mapped_column(Date)
    #: True when the row came from a file with a supervisor_reviewed_on column (blank there:
    #: never reviewed); None when it did not (not recorded: no review is judged overdue).
    supervisor_review_recorded: Mapped[bool | None] = mapped_column(Boolean)
    #: When someone in custody is expected back in the community (migration 0010); None
    #: unknown. Kept for anyone, read by the forecast for people in custody only.
    expected_release: Mapped[date | None] = mapped_column(Date)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_offenders_team", "team"),
        Index("ix_offenders_offender_manager", "offender_manager"),
    )


#: The visits the look-back reads (rules.lookback), as the partial index and the query both write it.
COMPLETED_HOME = "outcome = 'completed' AND visit_type = 'home'"


class Visit(Base):
    """One visit attempt. Only completed home visits reset the clock."""

    __tablename__ = "visits"

    visit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ref: Mapped[str] = mapped_column(ForeignKey("offenders.ref"))
    visit_date: Mapped[date] = mapped_column(Date)
    visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the extract had a time
    outcome: Mapped[str] = mapped_column(String(16))  # completed | no_access | cancelled
    visit_type: Mapped[str] = mapped_column(String(16), default="home")  # home | other
    officer: Mapped[str | None] = mapped_column(String(64))
    #: Practice quality (migration 0008). The second officer's id, as given.
    second_officer: Mapped[str | None] = mapped_column(String(64))
    #: True when the file had a second_officer column and named one, False when it had the
    #: column but left it blank (a lone visit if completed at home), None without the column.
    paired: Mapped[bool | None] = mapped_column(Boolean)
    #: None when the file had no announced column (not recorded).
    announced: Mapped[bool | None] = mapped_column(Boolean)
    #: Minutes after midnight of the visit's time in the configured timezone (None: no time).
    visit_minute: Mapped[int | None] = mapped_column(SmallInteger)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The scan's one set-based query reads (ref, outcome, type, date): keep it index-only.
        Index("ix_visits_ref_outcome_type_date", "ref", "outcome", "visit_type", "visit_date"),
        # The completed home visits of a look-back (lone and announced visits): a range of
        # this partial index, which holds every column the look-back reads (rules.lookback).
        Index(
            "ix_visits_completed_home_date",
            "visit_date",
            "ref",
            "officer",
            "paired",
            "announced",
            "visit_id",
            sqlite_where=text(COMPLETED_HOME),
            postgresql_where=text(COMPLETED_HOME),
        ),
    )


class ImportRun(Base):
    """One ``import`` of an extract directory: what came in, what was done, what was refused."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # running | ok | rejected_rows | failed
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class ImportReject(Base):
    """A row that was not stored, with where it was and why (never the whole row)."""

    __tablename__ = "import_rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import_runs.id", ondelete="CASCADE"), index=True)
    file: Mapped[str] = mapped_column(String(255))
    line: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)


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


class VisitFacts(Base):
    """Per person, what the whole visit history says, kept by every import (``register.derived``).

    The scan needs three facts per person from a million-row visit history; they are the
    same for every as-of date on or after the person's ``horizon`` (latest home visit that
    counts, completed or no access), so the import stores them once and the scan reads one
    row per person. ``failed_attempts`` counts no-access home visits after ``last_visit``
    (or on or after the status start when there is none).
    """

    __tablename__ = "visit_facts"
    #: SQLite: rows stored in ref order in the key's own B-tree (migration 0006).
    __table_args__ = ({"sqlite_with_rowid": False},)

    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_visit: Mapped[date | None] = mapped_column(Date)  # latest completed home visit on/after S
    last_visit_any: Mapped[date | None] = mapped_column(Date)  # latest completed home visit, any date
    failed_attempts: Mapped[int] = mapped_column(Integer)
    horizon: Mapped[date | None] = mapped_column(Date)  # latest completed or no-access home visit
    #: The pattern of the last N completed home visits (N: visit_facts_state.recent_n), for
    #: predictable visits (migration 0008): one integer, ``register.derived.PATTERN_BITS``.
    recent_pattern: Mapped[int | None] = mapped_column(Integer)


class VisitFactsState(Base):
    """One row: the import after which ``visit_facts`` was last brought up to date, and what
    the register records (both kept by every import, in its transaction)."""

    __tablename__ = "visit_facts_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    import_id: Mapped[int | None] = mapped_column(Integer)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The N of ``visit_facts.recent_*`` (``[policy] predictable_visits_last`` at that import).
    recent_n: Mapped[int | None] = mapped_column(Integer)
    #: The optional practice columns any import's files have had, comma-separated and sorted
    #: (``monitor.register.fields.PRACTICE_COLUMNS``): "" or None when none.
    practice_columns: Mapped[str | None] = mapped_column(Text)
