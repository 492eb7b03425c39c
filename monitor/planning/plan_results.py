"""What the week's plan returns: each officer's capacity, planned and did-not-fit visits, and the
team's reallocation suggestions, with its sentences and rows.

These types are the contract between the engine (:mod:`monitor.planning.plan`,
:mod:`monitor.planning.reallocate`) and whatever shows a plan (the CLI's table, JSON, CSV and
HTML; later the digests and web pages): ``to_json`` is the JSON that DESIGN's "Plan and
forecast" sketches, extended; ``rows`` and ``officer_rows`` are the lines of a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from monitor.planning.weeks import iso_week, week_end, week_start
from monitor.planning.words import ADVICE
from monitor.rules.obligations import RISK_ORDER


@dataclass(frozen=True)
class PlanItem:
    """One home visit in a plan (planned or not fitted), with its reason in words."""

    ref: str
    risk_level: str
    team: str
    officer: str
    due_date: date
    days_overdue: int
    failed_attempts: int
    first_visit: bool
    reason: str
    #: The interval that set the due date (canonical ISO 8601) and where it came from:
    #: ``plan`` (the person's risk management plan) or ``risk_level``.
    interval: str = ""
    interval_source: str = "risk_level"

    @property
    def sort_key(self) -> tuple[int, date, str]:
        return (RISK_ORDER[self.risk_level], self.due_date, self.ref)

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "risk_level": self.risk_level,
            "due_date": self.due_date.isoformat(),
            "days_overdue": self.days_overdue,
            "failed_attempts": self.failed_attempts,
            "interval": self.interval,
            "interval_source": self.interval_source,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Reallocation:
    """A suggestion: move one case this week from an officer over capacity to one with room."""

    ref: str
    risk_level: str
    team: str
    from_officer: str
    to_officer: str
    due_date: date
    days_overdue: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "risk_level": self.risk_level,
            "team": self.team,
            "from": self.from_officer,
            "to": self.to_officer,
            "due_date": self.due_date.isoformat(),
            "days_overdue": self.days_overdue,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class OfficerPlan:
    """One officer's week: capacity (and where it came from), planned, did not fit."""

    officer_id: str
    team: str
    #: Visits that can still be planned this week: capacity after time away, less attempts made.
    capacity: int
    capacity_source: str
    #: Home visits in a normal week.
    visits_per_week: float
    #: Share of this week's working days away (shown only as "unavailable").
    unavailable: float
    #: Home visits already led this week, up to the as-of date.
    attempted: int
    planned: list[PlanItem] = field(default_factory=list)
    did_not_fit: list[PlanItem] = field(default_factory=list)

    @property
    def shortfall(self) -> int:
        return len(self.did_not_fit)

    @property
    def room(self) -> int:
        """Visits more this officer could make this week."""
        return self.capacity - len(self.planned)

    def to_json(self) -> dict[str, Any]:
        return {
            "officer_id": self.officer_id,
            "team": self.team,
            "capacity": self.capacity,
            "capacity_source": self.capacity_source,
            "visits_per_week": round(self.visits_per_week, 1),
            "unavailable": round(self.unavailable, 2),
            "attempted_this_week": self.attempted,
            "shortfall": self.shortfall,
            "planned": [i.to_json() for i in self.planned],
            "did_not_fit": [i.to_json() for i in self.did_not_fit],
        }


@dataclass(frozen=True)
class Plan:
    """The week's plan for a scope (force, one team or one officer)."""

    as_of: date
    officers: list[OfficerPlan]
    reallocations: list[Reallocation]
    team: str | None = None
    officer: str | None = None

    @property
    def week_start(self) -> date:
        return week_start(self.as_of)

    @property
    def week_end(self) -> date:
        return week_end(self.as_of)

    @property
    def scope(self) -> str:
        if self.officer is not None:
            return f"officer:{self.officer}"
        return f"team:{self.team}" if self.team is not None else "force"

    def summary(self) -> dict[str, int]:
        planned = sum(len(o.planned) for o in self.officers)
        did_not_fit = sum(o.shortfall for o in self.officers)
        return {
            "officers": len(self.officers),
            "capacity": sum(o.capacity for o in self.officers),
            "planned": planned,
            "did_not_fit": did_not_fit,
            "officers_over_capacity": sum(1 for o in self.officers if o.shortfall),
            "reallocations": len(self.reallocations),
            "left_over": did_not_fit - len(self.reallocations),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "scope": self.scope,
            "week_start": self.week_start.isoformat(),
            "week_end": self.week_end.isoformat(),
            "iso_week": iso_week(self.as_of),
            "officers": [o.to_json() for o in self.officers],
            "reallocations": [r.to_json() for r in self.reallocations],
            "summary": self.summary(),
            "advice": ADVICE,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per visit (planned first, then did not fit), officer by officer: CSV and tables."""
        moved = {r.ref: r.to_officer for r in self.reallocations}
        out: list[dict[str, Any]] = []
        for officer in self.officers:
            for kind, items in (("planned", officer.planned), ("did not fit", officer.did_not_fit)):
                for item in items:
                    out.append(
                        {
                            "team": officer.team,
                            "officer_id": officer.officer_id,
                            "plan": kind,
                            "ref": item.ref,
                            "risk_level": item.risk_level,
                            "due_date": item.due_date,
                            "days_overdue": item.days_overdue,
                            "reason": item.reason,
                            "interval": item.interval,
                            "interval_source": item.interval_source,
                            "suggested_to": moved.get(item.ref, ""),
                        }
                    )
        return out

    def officer_rows(self) -> list[dict[str, Any]]:
        """One row per officer: capacity against what the week asks of them."""
        return [
            {
                "team": o.team,
                "officer_id": o.officer_id,
                "capacity": o.capacity,
                "capacity_source": o.capacity_source,
                "visits_per_week": o.visits_per_week,
                "unavailable": o.unavailable,
                "attempted": o.attempted,
                "must_do": len(o.planned) + o.shortfall,
                "planned": len(o.planned),
                "did_not_fit": o.shortfall,
            }
            for o in self.officers
        ]
