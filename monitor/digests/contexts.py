"""What each digest says: one frozen context dataclass per kind, built before any rendering.

Four kinds, one per reader (docs/guide/):

* ``officer`` (weekly, ISO week): an offender manager's own overdue and soon-due visits,
  overdue risk reviews and notifications, failed-attempt (warrant) flags, missing people.
* ``team`` (weekly, to the team's supervisors): the team's backlog, its risk mix and age
  bands, a row per officer, the most overdue case, whereabouts unknown, cases whose
  offender manager cannot be mailed, and the change since last week's snapshot.
* ``force`` (monthly, to leads): every team side by side, totals, worst teams, trend.
* ``escalation`` (daily, to supervisors): only very-high-risk visits overdue at all, or
  any visit overdue by more than ``digest.escalation_days_overdue`` days.

Every digest shows the backlog size, its risk mix and how overdue each case is, worst
first (HMICFRS). A recipient with nothing gets no message unless ``digest.all_clear`` is
on; escalation never sends an "all clear" (a daily all-clear trains people to ignore the
one that matters).

The contexts are plain data so the rest of the flow can be tested on its own: ``build``
fills them from one scan, ``render`` turns one into a message, and neither needs the other
to check what a digest contains. Each context also knows its period (the outbox key) and
which case references it discloses (the disclosure log).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from monitor.digests.planned import ForceForecast, OfficerWeek, TeamPlan
from monitor.digests.practice import ForcePractice, TeamPractice
from monitor.planning.plan_results import PlanItem
from monitor.reports.governance import Governance
from monitor.rules.obligations import (
    Item,
    NotInExtract,
    ReactiveHighRisk,
    Unlocated,
)
from monitor.rules.tallies import most_overdue, overdue_mix, warrant_flagged

KINDS: tuple[str, ...] = ("officer", "team", "force", "escalation")


def period_key(kind: str, as_of: date) -> str:
    """The outbox period: ISO week for officer/team, month for force, day for escalation."""
    if kind in ("officer", "team"):
        year, week, _ = as_of.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "force":
        return f"{as_of.year:04d}-{as_of.month:02d}"
    if kind == "escalation":
        return as_of.isoformat()
    raise ValueError(f"unknown digest kind {kind!r}: expected one of {', '.join(KINDS)}")


def kinds_for(kind: str) -> tuple[str, ...]:
    if kind == "all":
        return KINDS
    if kind not in KINDS:
        raise ValueError(f"unknown digest kind {kind!r}: expected one of {', '.join(KINDS)} or all")
    return (kind,)


@dataclass(frozen=True)
class Backlog:
    """The summary block every digest opens with: size, risk mix, how overdue, the worst."""

    caseload: int
    overdue_visits: int
    by_risk: dict[str, int]
    by_age: dict[str, int]
    most_overdue_days: int | None
    most_overdue_ref: str | None
    most_overdue_risk: str | None
    due_soon: int
    overdue_risk_reviews: int
    overdue_notifications: int
    whereabouts_unknown: int
    warrant_flags: int

    @classmethod
    def of(
        cls,
        *,
        caseload: int,
        overdue: Sequence[Item],
        due_soon: Sequence[Item],
        reviews: int,
        notifications: int,
        unlocated: Sequence[Unlocated],
        flag: int,
    ) -> Backlog:
        """``reviews`` and ``notifications`` are counts: the block shows no more of them, and
        a scan may have counted them without listing them (``scan(count_only=...)``)."""
        by_risk, by_age, _ = overdue_mix(overdue)
        worst = most_overdue(overdue)
        return cls(
            caseload=caseload,
            overdue_visits=len(overdue),
            by_risk=by_risk,
            by_age=by_age,
            most_overdue_days=worst.days_overdue if worst else None,
            most_overdue_ref=worst.ref if worst else None,
            most_overdue_risk=worst.risk_level if worst else None,
            due_soon=len(due_soon),
            overdue_risk_reviews=reviews,
            overdue_notifications=notifications,
            whereabouts_unknown=len(unlocated),
            warrant_flags=len(warrant_flagged((*overdue, *due_soon), flag)),
        )


@dataclass(frozen=True)
class Recipient:
    officer_id: str
    name: str
    email: str


@dataclass(frozen=True)
class DigestBase:
    """What every context has: who it is for, which period, and whether it is empty."""

    kind: str
    period: str
    as_of: date
    recipient: Recipient
    marking: str
    include_names: bool
    failed_attempts_flag: int
    due_soon_days: int
    all_clear: bool = False
    #: Why this digest came to a force lead instead of its own recipient ("" = it did not).
    routed_because: str = ""

    @property
    def case_refs(self) -> list[str]:
        return []

    @property
    def is_empty(self) -> bool:
        return not self.case_refs


@dataclass(frozen=True)
class OfficerDigest(DigestBase):
    team: str = ""
    backlog: Backlog | None = None
    overdue_visits: list[Item] = field(default_factory=list)
    due_soon: list[Item] = field(default_factory=list)
    overdue_risk_reviews: list[Item] = field(default_factory=list)
    overdue_notifications: list[Item] = field(default_factory=list)
    warrant_flags: list[Item] = field(default_factory=list)
    whereabouts_unknown: list[Unlocated] = field(default_factory=list)
    #: "Suggested for this week" (docs/planning.md): None when the run has no plan.
    week: OfficerWeek | None = None

    @property
    def case_refs(self) -> list[str]:
        return refs_of(
            self.overdue_visits,
            self.due_soon,
            self.overdue_risk_reviews,
            self.overdue_notifications,
            self.whereabouts_unknown,
            self.week.listed if self.week is not None else (),
        )

    @property
    def is_empty(self) -> bool:
        # The week's suggestions alone do not make a message: they repeat its own lists.
        return not refs_of(
            self.overdue_visits,
            self.due_soon,
            self.overdue_risk_reviews,
            self.overdue_notifications,
            self.whereabouts_unknown,
        )


@dataclass(frozen=True)
class OfficerRow:
    """One offender manager's line in the team digest."""

    officer_id: str
    name: str
    caseload: int
    overdue_visits: int
    by_risk: dict[str, int]
    most_overdue_days: int | None
    due_soon: int
    overdue_risk_reviews: int
    overdue_notifications: int
    warrant_flags: int
    mail_problem: str | None


@dataclass(frozen=True)
class Unmailable:
    """An offender manager whose digest cannot be sent, so the supervisor must act."""

    officer_id: str
    reason: str
    caseload: int
    refs: list[str]


@dataclass(frozen=True)
class WeekChange:
    previous_on: date
    previous: int
    current: int

    @property
    def delta(self) -> int:
        return self.current - self.previous


@dataclass(frozen=True)
class TeamDigest(DigestBase):
    team: str = ""
    backlog: Backlog | None = None
    officers: list[OfficerRow] = field(default_factory=list)
    overdue_visits: list[Item] = field(default_factory=list)
    overdue_risk_reviews: list[Item] = field(default_factory=list)
    overdue_notifications: list[Item] = field(default_factory=list)
    whereabouts_unknown: list[Unlocated] = field(default_factory=list)
    #: People the latest full extract left out, for the supervisor to resolve (issue 8).
    not_in_extract: list[NotInExtract] = field(default_factory=list)
    #: Very high / high risk people on reactive management (no routine visits): worth a look.
    reactive_high_risk: list[ReactiveHighRisk] = field(default_factory=list)
    unmailable: list[Unmailable] = field(default_factory=list)
    change: WeekChange | None = None
    #: The practice measures (docs/practice.md): None when they are off.
    practice: TeamPractice | None = None
    #: The team's plan for the week and its forecast (docs/planning.md): None when none was made.
    plan: TeamPlan | None = None

    @property
    def case_refs(self) -> list[str]:
        planned = self.plan.case_refs if self.plan is not None else set()
        return sorted({*self._own_refs(), *planned})

    def _own_refs(self) -> set[str]:
        refs = refs_of(
            self.overdue_visits,
            self.overdue_risk_reviews,
            self.overdue_notifications,
            self.whereabouts_unknown,
            self.not_in_extract,
            self.reactive_high_risk,
        )
        more = self.practice.case_refs if self.practice is not None else set()
        return {*refs, *more, *(r for u in self.unmailable for r in u.refs)}

    @property
    def is_empty(self) -> bool:
        # A plan of visits merely due this week does not make a message on its own.
        return not self._own_refs() and not self.unmailable


@dataclass(frozen=True)
class TeamRow:
    """One team's column in the force digest (also used for the totals row)."""

    team: str
    caseload: int
    overdue_visits: int
    by_risk: dict[str, int]
    by_age: dict[str, int]
    most_overdue_days: int | None
    most_overdue_ref: str | None
    overdue_risk_reviews: int
    overdue_notifications: int
    whereabouts_unknown: int


@dataclass(frozen=True)
class TrendPoint:
    label: str
    on: date | None
    overdue_visits: int | None


@dataclass(frozen=True)
class SupervisorGap:
    """A team whose digests cannot reach a supervisor of its own: they go to the leads."""

    team: str
    reason: str


@dataclass(frozen=True)
class ForceDigest(DigestBase):
    backlog: Backlog | None = None
    teams: list[TeamRow] = field(default_factory=list)
    totals: TeamRow | None = None
    worst_by_count: list[TeamRow] = field(default_factory=list)
    worst_by_age: list[TeamRow] = field(default_factory=list)
    weekly_trend: list[TrendPoint] = field(default_factory=list)
    monthly_trend: list[TrendPoint] = field(default_factory=list)
    #: The worst ``digest.force_list_limit`` of each list; the backlog counts them all.
    overdue_visits: list[Item] = field(default_factory=list)
    whereabouts_unknown: list[Unlocated] = field(default_factory=list)
    unmailable: list[Unmailable] = field(default_factory=list)
    #: Teams with no mailable supervisor (their team and escalation digests go to the leads).
    supervisor_gaps: list[SupervisorGap] = field(default_factory=list)
    #: "N of M overdue" by team and month, the oldest overdue visit and risk review (leads the digest).
    governance: Governance | None = None
    #: The practice measures (docs/practice.md): None when they are off.
    practice: ForcePractice | None = None
    #: Each team's forecast (docs/planning.md): None when none was made.
    forecast: ForceForecast | None = None

    @property
    def case_refs(self) -> list[str]:
        refs = refs_of(self.overdue_visits, self.whereabouts_unknown)
        if self.governance is None:
            return refs
        g = self.governance
        named = {r for row in (g.force, *g.teams) for r in (row.oldest_visit_ref, row.oldest_review_ref) if r}
        return sorted({*refs, *named})

    @property
    def overdue_visits_total(self) -> int:
        """Every overdue visit force-wide, listed or not (the backlog's count)."""
        return self.backlog.overdue_visits if self.backlog else len(self.overdue_visits)

    @property
    def whereabouts_unknown_total(self) -> int:
        """Everyone whose whereabouts are unknown force-wide, listed or not."""
        return self.backlog.whereabouts_unknown if self.backlog else len(self.whereabouts_unknown)

    @property
    def is_empty(self) -> bool:
        b = self.backlog
        return b is None or not (
            b.overdue_visits or b.overdue_risk_reviews or b.overdue_notifications or b.whereabouts_unknown
        )


@dataclass(frozen=True)
class Escalated:
    item: Item
    reason: str


@dataclass(frozen=True)
class EscalationDigest(DigestBase):
    team: str = ""
    threshold_days: int = 28
    backlog: Backlog | None = None
    cases: list[Escalated] = field(default_factory=list)

    @property
    def case_refs(self) -> list[str]:
        return sorted({c.item.ref for c in self.cases})


DigestContext = OfficerDigest | TeamDigest | ForceDigest | EscalationDigest


def refs_of(*groups: Iterable[Item | Unlocated | NotInExtract | ReactiveHighRisk | PlanItem]) -> list[str]:
    """The sorted, distinct case references in ``groups`` (what a digest discloses)."""
    return sorted({x.ref for group in groups for x in group})
