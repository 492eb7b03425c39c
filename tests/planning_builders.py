"""Facts for the planner built by hand (no database): the engine is pure, so its tests say only
what matters to them. All data synthetic (RSO-nnnnnn, OM-n).
"""

from __future__ import annotations

from datetime import date

from monitor.core.durations import Duration
from monitor.planning.facts import Absence, Case, Facts, OfficerFacts

MONTHS = {"very_high": 1, "high": 3, "medium": 6, "low": 12}


def case(
    ref: str,
    due: date | None,
    *,
    risk: str = "medium",
    officer: str = "OM-1",
    team: str = "T1",
    status: str = "community",
    failed: int = 0,
    last_visit: date | None = date(2025, 1, 1),
    expected_release: date | None = None,
    months: int | None = None,
) -> Case:
    return Case(
        ref=ref,
        risk_level=risk,
        team=team,
        officer=officer,
        status=status,
        registered_on=date(2020, 1, 1),
        start=date(2020, 1, 1),
        due=due,
        last_visit=last_visit,
        failed_attempts=failed,
        interval=Duration(months=months if months is not None else MONTHS[risk]),
        expected_release=expected_release,
    )


def officer(
    officer_id: str,
    *,
    team: str = "T1",
    per_week: int | None = None,
    attempts: int = 0,
    this_week: int = 0,
    active: bool = True,
    role: str = "offender_manager",
) -> OfficerFacts:
    return OfficerFacts(officer_id, team, role, active, per_week, attempts, this_week)


def facts(
    as_of: date,
    cases: list[Case],
    officers: list[OfficerFacts],
    *,
    absences: list[Absence] | None = None,
    outcomes: dict[str, tuple[int, int]] | None = None,
    team: str | None = None,
    officer_id: str | None = None,
) -> Facts:
    return Facts(
        as_of=as_of,
        cases=cases,
        officers={o.officer_id: o for o in officers},
        absences=absences or [],
        outcomes=outcomes if outcomes is not None else {},
        caseload=len(cases),
        team=team,
        officer=officer_id,
    )
