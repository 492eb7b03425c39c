"""The planner's questions through SQLAlchemy, on any database (see :mod:`monitor.planning.source`).

For one team, each statement starts from the team's people (an index on ``offenders.team``,
then ``visits`` by reference), so one team's plan stays quick on a national register.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from monitor.planning.source import AbsenceRow, Attempt, ExtraRow, OfficerRow, PersonRow
from monitor.register.models import Offender, Officer, OfficerAbsence, Visit
from monitor.rules.rows import OUT_OF_SCOPE_STATUSES, day_number, driver_rows, scan_rows

ATTEMPTS = ("completed", "no_access")


class EngineSource:
    """The questions asked on a session's connection, inside the caller's read transaction."""

    def __init__(self, session: Session):
        self.session = session

    def _rows(self, query: Select[Any]) -> Iterable[Sequence[Any]]:
        return driver_rows(self.session.connection(), query)

    def scan_rows(self, as_of: date, team: str | None, officer: str | None) -> Iterable[Sequence[Any]]:
        return scan_rows(self.session.connection(), as_of, team, officer, False)

    def recorded(self) -> frozenset[str]:
        from monitor.rules.lookback import register_state

        return register_state(self.session.connection()).practice_columns

    def person_extras(self, team: str | None, officer: str | None) -> list[ExtraRow]:
        columns: list[Any] = [Offender.ref, Offender.visit_interval, day_number(Offender.expected_release)]
        query: Select[Any] = select(*columns).where(
            or_(Offender.visit_interval.is_not(None), Offender.expected_release.is_not(None))
        )
        if team is not None:
            query = query.where(Offender.team == team)
        if officer is not None:
            query = query.where(Offender.offender_manager == officer)
        return [(ref, plan, release) for ref, plan, release in self._rows(query)]

    def officers(self, team: str | None, officer: str | None, managers: set[str]) -> list[OfficerRow]:
        columns: list[Any] = [Officer.officer_id, Officer.team, Officer.role, Officer.active, Officer.visits_per_week]
        query: Select[Any] = select(*columns)
        if officer is not None:
            query = query.where(Officer.officer_id == officer)
        elif team is not None:
            query = query.where(or_(Officer.team == team, Officer.officer_id.in_(sorted(managers))))
        return [(o, t, r, bool(a), v) for o, t, r, a, v in self.session.execute(query.order_by(Officer.officer_id))]

    def attempts(self, first: date, last: date, teams: set[str] | None, officer: str | None) -> list[Attempt]:
        columns: list[Any] = [Visit.ref, Visit.officer, Visit.outcome, day_number(Visit.visit_date)]
        query: Select[Any] = select(*columns).where(
            and_(
                Visit.visit_type == "home",
                Visit.outcome.in_(ATTEMPTS),
                Visit.visit_date >= first,
                Visit.visit_date <= last,
            )
        )
        if teams is not None:
            query = query.join(Offender, Offender.ref == Visit.ref).where(Offender.team.in_(sorted(teams)))
        if officer is not None:
            query = query.where(Visit.officer == officer)
        return [(ref, led_by, outcome, day) for ref, led_by, outcome, day in self._rows(query)]

    def absences(self, first: date, last: date) -> list[AbsenceRow]:
        model = OfficerAbsence
        query = select(model.officer_id, model.starts_on, model.ends_on, model.fraction).where(
            model.withdrawn_on.is_(None), model.ends_on >= first, model.starts_on <= last
        )
        return [(o, s, e, f) for o, s, e, f in self.session.execute(query.order_by(model.absence_key))]

    def growth(self, since: date, as_of: date) -> tuple[int, int]:
        registered = self.session.scalar(
            select(func.count())
            .select_from(Offender)
            .where(Offender.registered_on > since, Offender.registered_on <= as_of)
        )
        left = self.session.scalar(
            select(func.count())
            .select_from(Offender)
            .where(
                or_(
                    and_(
                        Offender.status.in_(OUT_OF_SCOPE_STATUSES),
                        Offender.status_since > since,
                        Offender.status_since <= as_of,
                    ),
                    and_(Offender.registration_ends >= since, Offender.registration_ends < as_of),
                )
            )
        )
        return int(registered or 0), int(left or 0)

    def caseload(self, as_of: date) -> int:
        found = self.session.scalar(
            select(func.count())
            .select_from(Offender)
            .where(
                Offender.registered_on <= as_of,
                or_(Offender.registration_ends.is_(None), Offender.registration_ends >= as_of),
                Offender.status.not_in(OUT_OF_SCOPE_STATUSES),
            )
        )
        return int(found or 0)

    def people(self, first: date, last: date, team: str | None) -> list[PersonRow]:
        columns: list[Any] = [
            Offender.ref,
            Offender.risk_level,
            Offender.status,
            Offender.team,
            Offender.offender_manager,
            day_number(Offender.registered_on),
            day_number(Offender.status_since),
            Offender.management,
            day_number(Offender.registration_ends),
            Offender.visit_interval,
            day_number(Offender.expected_release),
        ]
        query: Select[Any] = select(*columns).where(
            Offender.registered_on <= last,
            or_(Offender.registration_ends.is_(None), Offender.registration_ends >= first),
            Offender.status.not_in(OUT_OF_SCOPE_STATUSES),
        )
        if team is not None:
            query = query.where(Offender.team == team)
        return list(self._rows(query))

    def completed_since(self, after: date, team: str | None) -> list[tuple[str, int]]:
        columns: list[Any] = [Visit.ref, day_number(Visit.visit_date)]
        query: Select[Any] = select(*columns).where(
            and_(Visit.outcome == "completed", Visit.visit_type == "home", Visit.visit_date > after)
        )
        if team is not None:
            query = query.join(Offender, Offender.ref == Visit.ref).where(Offender.team == team)
        return [(ref, day) for ref, day in self._rows(query.order_by(Visit.ref, Visit.visit_date))]

    def known_scope(self) -> tuple[list[str], list[str]]:
        s = self.session
        teams = set(s.scalars(select(Offender.team).distinct())) | set(s.scalars(select(Officer.team).distinct()))
        officers = set(s.scalars(select(Officer.officer_id))) | set(
            s.scalars(select(Offender.offender_manager).distinct())
        )
        return sorted(teams), sorted(officers)
