"""Tiny builders that put officers, offenders and visits straight into a test database.

Tests describe only what matters to them (``add_offender(s, "R1", risk_level="high")``);
everything else gets a dull, valid default. All data is synthetic. The builders add and
flush but never commit: the caller's unit of work (``monitor.register.db.transaction``) decides.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.register.models import Offender, Officer, Visit

FIXED_UPDATED_AT = datetime(2026, 1, 1, tzinfo=UTC)

OFFENDER_DEFAULTS: dict[str, Any] = {
    "risk_level": "medium",
    "status": "community",
    "team": "T1",
    "offender_manager": "OM1",
    "registered_on": date(2020, 1, 1),
    "status_since": None,
    "management": "active",
    "risk_assessed_on": None,
    "last_notified_on": None,
    "no_fixed_abode": False,
    "registration_ends": None,
    "surname": None,
    "forenames": None,
    "date_of_birth": None,
}


def add_officer(session: Session, officer_id: str, **overrides: Any) -> Officer:
    """An active offender manager on team T1 with an address in the demo domain."""
    values: dict[str, Any] = {
        "name": f"Officer {officer_id}",
        "email": f"{officer_id.lower()}@police.example",
        "team": "T1",
        "role": "offender_manager",
        "active": True,
        "updated_at": FIXED_UPDATED_AT,
    }
    values.update(overrides)
    officer = Officer(officer_id=officer_id, **values)
    session.add(officer)
    session.flush()
    return officer


def add_offender(session: Session, ref: str, **overrides: Any) -> Offender:
    """A medium-risk community registrant on T1/OM1, registered 1 Jan 2020, actively managed."""
    values = {**OFFENDER_DEFAULTS, "updated_at": FIXED_UPDATED_AT}
    values.update(overrides)
    offender = Offender(ref=ref, **values)
    session.add(offender)
    session.flush()
    return offender


def add_visit(
    session: Session,
    visit_id: str,
    ref: str,
    visit_date: date,
    outcome: str = "completed",
    visit_type: str = "home",
    **overrides: Any,
) -> Visit:
    """A visit attempt (completed home visit unless told otherwise)."""
    values: dict[str, Any] = {"visited_at": None, "officer": None, "updated_at": FIXED_UPDATED_AT}
    values.update(overrides)
    visit = Visit(
        visit_id=visit_id,
        ref=ref,
        visit_date=visit_date,
        outcome=outcome,
        visit_type=visit_type,
        **values,
    )
    session.add(visit)
    session.flush()
    return visit
