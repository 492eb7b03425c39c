"""The register, as SQLAlchemy 2.x models: officers, their absences, people, visits, imports.

Every model of the service is named here, the service's own bookkeeping too (defined in
:mod:`monitor.register.bookkeeping`), so one import gives them all and Alembic's metadata
holds every table. Dates, instants and the shared base: :mod:`monitor.register.base`.

The schema itself is created and migrated by Alembic (``visit-monitor db upgrade``); the
models are the reference the migrations are checked against (tests compare them).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from monitor.register.base import NAMING, Base, UTCDateTime
from monitor.register.bookkeeping import (
    AccessLogEntry,
    BacklogSnapshot,
    Disclosure,
    Heartbeat,
    JobRun,
    OutboxMessage,
    OutboxRequeue,
    WebSession,
)


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
    #: (``monitor.register.specs.PRACTICE_COLUMNS``): "" or None when none.
    practice_columns: Mapped[str | None] = mapped_column(Text)


__all__ = [
    "COMPLETED_HOME",
    "NAMING",
    "AccessLogEntry",
    "BacklogSnapshot",
    "Base",
    "Disclosure",
    "Heartbeat",
    "ImportReject",
    "ImportRun",
    "JobRun",
    "Offender",
    "Officer",
    "OfficerAbsence",
    "OutboxMessage",
    "OutboxRequeue",
    "UTCDateTime",
    "Visit",
    "VisitFacts",
    "VisitFactsState",
    "WebSession",
]
