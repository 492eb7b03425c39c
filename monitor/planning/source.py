"""Where the planner's facts come from: the statements it sends, behind one small interface.

Why an interface: the planner's facts (:mod:`monitor.planning.inputs`, and the backtest's
:mod:`monitor.planning.history`) are put together once, from the answers to a few plain
questions (the scan's rows, the officers, the home visits attempted, the absences, the
register's growth). Those questions are asked through SQLAlchemy on any database
(:class:`monitor.planning.source_engine.EngineSource`), and, for the force on a SQLite
file, straight through :mod:`sqlite3` (:class:`monitor.planning.source_sqlite.SqliteSource`),
as the force-wide report is: importing SQLAlchemy was about a tenth of a national plan's
work. tests/planning/test_planning_history.py holds the two sources' answers equal.

Dates in rows the engine computes are day ordinals (``date.toordinal()``), as the scan
reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Protocol

#: (ref, officer who led it, outcome, day ordinal) of one home visit attempted.
Attempt = tuple[str, str | None, str, int]
#: (officer_id, team, role, active, visits_per_week) from the directory.
OfficerRow = tuple[str, str, str, bool, int | None]
#: (officer_id, starts_on, ends_on, fraction) of an absence not withdrawn.
AbsenceRow = tuple[str, date, date, float]
#: (ref, risk_level, status, team, offender_manager, registered_on, status_since, management,
#: registration_ends, visit_interval, expected_release), dates as day ordinals.
PersonRow = Sequence[Any]
#: (ref, visit_interval, expected_release as a day ordinal) of someone with either.
ExtraRow = tuple[str, str | None, int | None]


class Source(Protocol):
    """The questions the planner asks the register (see each implementation)."""

    def scan_rows(self, as_of: date, team: str | None, officer: str | None) -> Iterable[Sequence[Any]]:
        """The scan's own rows (:func:`monitor.rules.rows.scan_rows`), names left out."""
        ...

    def recorded(self) -> frozenset[str]:
        """The optional practice columns any import's files had (the register's state)."""
        ...

    def person_extras(self, team: str | None, officer: str | None) -> list[ExtraRow]:
        """Everyone of the scope (any status, any date) with a plan interval or an expected
        release: the two columns the scan's rows do not carry."""
        ...

    def officers(self, team: str | None, officer: str | None, managers: set[str]) -> list[OfficerRow]:
        """The directory's officers: all, a team's and its cases' managers, or one."""
        ...

    def attempts(self, first: date, last: date, teams: set[str] | None, officer: str | None) -> list[Attempt]:
        """Home visits completed or with no access from ``first`` to ``last``, to people of
        ``teams`` (None: anyone) and, with ``officer``, led by them; in no set order."""
        ...

    def absences(self, first: date, last: date) -> list[AbsenceRow]:
        """Absences not withdrawn that overlap ``first`` to ``last``, by key."""
        ...

    def growth(self, since: date, as_of: date) -> tuple[int, int]:
        """People registered after ``since`` up to ``as_of``, and people who left then
        (died or were deregistered, status starting then; or registration ended then)."""
        ...

    def caseload(self, as_of: date) -> int:
        """The force's active caseload on ``as_of`` (the scan's scope)."""
        ...

    def people(self, first: date, last: date, team: str | None) -> list[PersonRow]:
        """Everyone in the scan's scope on any day from ``first`` to ``last``, in no set order."""
        ...

    def completed_since(self, after: date, team: str | None) -> list[tuple[str, int]]:
        """Completed home visits after ``after`` as (ref, day), by ref then day."""
        ...

    def known_scope(self) -> tuple[list[str], list[str]]:
        """Every team and officer the register or the directory knows."""
        ...
