"""The planner's questions for the force on a SQLite file, through :mod:`sqlite3` alone.

As the force-wide report does (:mod:`monitor.rules.stored_rows`, :mod:`monitor.register.
sqlite_file`): SQLAlchemy is not imported, the file is opened with the engine's own
settings, and each statement is the one :class:`monitor.planning.source_engine.EngineSource`
sends, written out (tests/planning/test_planning_history.py holds the answers equal). Only the
force's questions are here: a team's plan goes through the engine, whose statements start
from the team. Dates are bound and compared as ISO text, as SQLAlchemy stores them on
SQLite; dates a statement returns as days are computed as the scan's are.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from monitor.planning.source import AbsenceRow, Attempt, ExtraRow, OfficerRow, PersonRow
from monitor.rules.stored_rows import state, stored_rows

# A stored date as its day ordinal is CAST(julianday(column) - 1721424.5 AS INTEGER), as
# ``rules.rows.day_number`` writes it on SQLite.
OFFICERS = "SELECT officer_id, team, role, active, visits_per_week FROM officers ORDER BY officer_id"
# Home visits attempted, in two statements: the completed ones through the partial index of
# completed home visits by date (a range), the no-access ones (a tenth of the table) by a scan.
# One statement for both scanned the whole table: a national plan's largest statement after
# the scan's own.
ATTEMPTS = (
    "SELECT ref, officer, 'completed', CAST(julianday(visit_date) - 1721424.5 AS INTEGER) FROM visits "
    "WHERE outcome = 'completed' AND visit_type = 'home' AND visit_date >= ? AND visit_date <= ?",
    "SELECT ref, officer, 'no_access', CAST(julianday(visit_date) - 1721424.5 AS INTEGER) FROM visits "
    "WHERE outcome = 'no_access' AND visit_type = 'home' AND visit_date >= ? AND visit_date <= ?",
)
ABSENCES = (
    "SELECT officer_id, starts_on, ends_on, fraction FROM officer_absences "
    "WHERE withdrawn_on IS NULL AND ends_on >= ? AND starts_on <= ? ORDER BY absence_key"
)
REGISTERED = "SELECT count(*) FROM offenders WHERE registered_on > ? AND registered_on <= ?"
LEFT = (
    "SELECT count(*) FROM offenders WHERE (status IN ('deceased', 'deregistered') "
    "AND status_since > ? AND status_since <= ?) OR (registration_ends >= ? AND registration_ends < ?)"
)
CASELOAD = (
    "SELECT count(*) FROM offenders WHERE registered_on <= ? "
    "AND (registration_ends IS NULL OR registration_ends >= ?) AND status NOT IN ('deceased', 'deregistered')"
)
PEOPLE = (
    "SELECT ref, risk_level, status, team, offender_manager, "
    "CAST(julianday(registered_on) - 1721424.5 AS INTEGER), CAST(julianday(status_since) - 1721424.5 AS INTEGER), "
    "management, CAST(julianday(registration_ends) - 1721424.5 AS INTEGER), visit_interval, "
    "CAST(julianday(expected_release) - 1721424.5 AS INTEGER) FROM offenders "
    "WHERE registered_on <= ? AND (registration_ends IS NULL OR registration_ends >= ?) "
    "AND status NOT IN ('deceased', 'deregistered')"
)
COMPLETED = (
    "SELECT ref, CAST(julianday(visit_date) - 1721424.5 AS INTEGER) FROM visits "
    "WHERE outcome = 'completed' AND visit_type = 'home' AND visit_date > ? ORDER BY ref, visit_date"
)
EXTRAS = (
    "SELECT ref, visit_interval, CAST(julianday(expected_release) - 1721424.5 AS INTEGER) FROM offenders "
    "WHERE visit_interval IS NOT NULL OR expected_release IS NOT NULL"
)
TEAMS = "SELECT team FROM offenders UNION SELECT team FROM officers"
OFFICER_IDS = "SELECT officer_id FROM officers UNION SELECT offender_manager FROM offenders"


class SqliteSource:
    """The force's questions on an open connection (:func:`monitor.register.sqlite_file.open_current`).

    A scope narrower than the force raises ValueError: ask the engine.
    """

    def __init__(self, conn: sqlite3.Connection, include_names: bool = False):
        self.conn = conn
        self.include_names = include_names

    @staticmethod
    def _force(*scope: object) -> None:
        if any(s is not None for s in scope):
            raise ValueError("the SQLite source answers for the force only")

    def scan_rows(self, as_of: date, team: str | None, officer: str | None) -> Iterable[Sequence[Any]]:
        """Raises :class:`monitor.rules.stored_rows.FactsDoNotHold` when the stored facts do not hold."""
        self._force(team, officer)
        return stored_rows(self.conn, as_of, False)

    def recorded(self) -> frozenset[str]:
        row = state(self.conn)
        return frozenset(c for c in ((row[0] if row else None) or "").split(",") if c)

    def person_extras(self, team: str | None, officer: str | None) -> list[ExtraRow]:
        self._force(team, officer)
        return self.conn.execute(EXTRAS).fetchall()

    def officers(self, team: str | None, officer: str | None, managers: set[str]) -> list[OfficerRow]:
        self._force(team, officer)
        return [(o, t, r, bool(a), v) for o, t, r, a, v in self.conn.execute(OFFICERS)]

    def attempts(self, first: date, last: date, teams: set[str] | None, officer: str | None) -> list[Attempt]:
        self._force(teams, officer)
        days = (first.isoformat(), last.isoformat())
        return [row for statement in ATTEMPTS for row in self.conn.execute(statement, days).fetchall()]

    def absences(self, first: date, last: date) -> list[AbsenceRow]:
        rows = self.conn.execute(ABSENCES, (first.isoformat(), last.isoformat()))
        return [(o, date.fromisoformat(s), date.fromisoformat(e), f) for o, s, e, f in rows]

    def growth(self, since: date, as_of: date) -> tuple[int, int]:
        a, b = since.isoformat(), as_of.isoformat()
        registered = self.conn.execute(REGISTERED, (a, b)).fetchone()[0]
        left = self.conn.execute(LEFT, (a, b, a, b)).fetchone()[0]
        return int(registered), int(left)

    def caseload(self, as_of: date) -> int:
        day = as_of.isoformat()
        return int(self.conn.execute(CASELOAD, (day, day)).fetchone()[0])

    def people(self, first: date, last: date, team: str | None) -> list[PersonRow]:
        self._force(team)
        return self.conn.execute(PEOPLE, (last.isoformat(), first.isoformat())).fetchall()

    def completed_since(self, after: date, team: str | None) -> list[tuple[str, int]]:
        self._force(team)
        return self.conn.execute(COMPLETED, (after.isoformat(),)).fetchall()

    def known_scope(self) -> tuple[list[str], list[str]]:
        teams = {t for (t,) in self.conn.execute(TEAMS)}
        officers = {o for (o,) in self.conn.execute(OFFICER_IDS)}
        return sorted(teams), sorted(officers)
