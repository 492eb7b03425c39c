"""What the planner knows: the engine's typed inputs, read from the register in one place.

The engine (``plan``, ``capacity``, ``forecast``, ``backtest``) is pure: it takes a
:class:`Facts` and settings and returns results, with no database, no clock and no
randomness, so the same facts always give the same plan and forecast, and the tests can
build facts by hand. :mod:`monitor.planning.inputs` is the one function that reads the
register into them.

Each person carries their own visit interval (``Case.interval``) and, when the register
knows it, the date they are expected back from custody (``Case.expected_release``, read
for people in custody only): the engine never asks the policy which interval applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from monitor.core.durations import Duration
from monitor.core.slots import stores_through_slots

#: Where an interval came from: the person's risk management plan, or the policy's default
#: for their risk level.
INTERVAL_SOURCES: tuple[str, ...] = ("plan", "risk_level")


@stores_through_slots
@dataclass(frozen=True, slots=True)
class Case:
    """One person in scope on the as-of date, as the planner needs them.

    ``due`` is their next home visit by the rules (the scan's own arithmetic), or None
    when they owe none on the as-of date: not in the community (custody, hospital, abroad,
    missing), reactively managed, or not yet in their current status. Overdue when
    ``due < as_of``.
    """

    ref: str
    risk_level: str
    team: str
    officer: str
    status: str
    registered_on: date
    start: date
    due: date | None
    last_visit: date | None
    failed_attempts: int
    interval: Duration
    interval_source: str = "risk_level"
    expected_release: date | None = None


@dataclass(frozen=True)
class OfficerFacts:
    """One officer: what the directory says and what the visits show.

    ``team`` is None for an offender manager the directory does not list. ``attempts`` is
    the home visits they led (completed or no access) to people of their own team in the 12
    weeks before the as-of date; ``attempts_this_week`` those from the week's Monday to the
    as-of date.
    """

    officer_id: str
    team: str | None
    role: str | None
    active: bool
    visits_per_week: int | None
    attempts: int = 0
    attempts_this_week: int = 0


@dataclass(frozen=True)
class Absence:
    """Time away: only ever shown as "unavailable" (staff data)."""

    officer_id: str
    starts_on: date
    ends_on: date
    fraction: float = 1.0


@dataclass(frozen=True)
class Facts:
    """Everything the engine reads, for one scope on one date.

    ``outcomes`` counts completed and no-access home visits per team in the 26 weeks before
    the as-of date (the success rate). ``registrations``, ``leavers`` and ``caseload`` are
    force-wide: people registered in the 3 years before the as-of date, people who left in
    them (died, deregistered or their registration ended), and the active caseload on it
    (the register's own growth).
    """

    as_of: date
    cases: list[Case]
    officers: dict[str, OfficerFacts]
    absences: list[Absence] = field(default_factory=list)
    outcomes: dict[str, tuple[int, int]] = field(default_factory=dict)
    registrations: int = 0
    leavers: int = 0
    caseload: int = 0
    first_visit_within: Duration = field(default_factory=lambda: Duration(days=28))
    failed_attempts_flag: int = 2
    team: str | None = None
    officer: str | None = None
    #: Each officer's team as :func:`monitor.planning.capacity.officer_teams` works it out,
    #: when the reader has already (empty: worked out when needed).
    homes: dict[str, str] = field(default_factory=dict)
    #: When ``cases`` holds only the people a plan needs (:func:`monitor.planning.inputs.
    #: read_facts` with ``due_by``): every officer who manages someone in scope (empty: the
    #: officers of ``cases``).
    managers: frozenset[str] = field(default_factory=frozenset)
