"""What the team and force digests say about practice quality (docs/practice.md).

Supervisors answer for more than the backlog: whether their officers visit in pairs and at
varied times, whether each case has been reviewed, and whether any officer carries more
cases than the ceiling; the force lead needs the same across teams, with MAPPA levels.
These blocks are cut from the one force-wide scan, like the rest of a digest, and exist
only when the practice measures are on (``Obligations.practice``): a register without the
practice columns gets exactly the digests it got before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.rules.obligations import Item, Obligations
from monitor.rules.practice import (
    ANNOUNCED,
    ANNOUNCING,
    LONE,
    PAIRING,
    Caseload,
    LoneVisit,
    LongPlanInterval,
    PracticeFigures,
    Predictable,
    share,
)

#: Officers listed by name in the force digest's caseload table (the worst by weighted caseload).
FORCE_CASELOAD_ROWS = 20


@dataclass(frozen=True)
class OfficerPractice:
    """One offender manager's line: caseload against the ceiling, and their lone visits."""

    officer_id: str
    caseload: int
    weighted: float
    over_ceiling: bool
    #: Visits they made in the look-back with their pairing recorded, and the lone ones.
    paired: int
    lone: int
    lone_share: float | None


@dataclass(frozen=True)
class TeamPractice:
    """A team's practice block (team digest, team page)."""

    lookback: str
    ceiling: int
    lone_recorded: bool
    announced_recorded: bool
    reviews_recorded: bool
    lone_share: float | None
    lone: int
    paired: int
    announced_share: float | None
    officers: list[OfficerPractice]
    lone_visits: list[LoneVisit] = field(default_factory=list)
    predictable: list[Predictable] = field(default_factory=list)
    supervisor_reviews: list[Item] = field(default_factory=list)
    long_plans: list[LongPlanInterval] = field(default_factory=list)

    @property
    def over_ceiling(self) -> list[OfficerPractice]:
        return [o for o in self.officers if o.over_ceiling]

    @property
    def case_refs(self) -> set[str]:
        groups: Iterable[Sequence[Any]] = (self.lone_visits, self.predictable, self.supervisor_reviews, self.long_plans)
        return {x.ref for g in groups for x in g}


@dataclass(frozen=True)
class ForcePractice:
    """The force digest's practice block: MAPPA counts, caseloads, paired and announced visits."""

    lookback: str
    ceiling: int
    lone_recorded: bool
    announced_recorded: bool
    reviews_recorded: bool
    lone_share: float | None
    announced_share: float | None
    mappa: dict[str, dict[str, int]]
    officers_over: int
    officers: int
    worst_caseloads: list[Caseload]
    predictable: int
    long_plans: int


def officer_practice(p: PracticeFigures, officer: str, caseload: int) -> OfficerPractice:
    load = p.caseload_of(officer)
    counts = p.tally(officer=officer)
    return OfficerPractice(
        officer_id=officer,
        caseload=load.caseload if load is not None else caseload,
        weighted=load.weighted if load is not None else 0.0,
        over_ceiling=load.over_ceiling if load is not None else False,
        paired=counts[PAIRING],
        lone=counts[LONE],
        lone_share=p.lone_share(counts),
    )


def team_practice(
    p: PracticeFigures,
    officers: Iterable[OfficerPractice],
    team: str,
    lists: dict[str, Sequence[Any]],
) -> TeamPractice:
    """``lists``: this team's lone, predictable, supervision and long-plan entries."""
    counts = p.tally(team=team)
    rows = sorted(officers, key=lambda o: (not o.over_ceiling, -o.weighted, o.officer_id))
    return TeamPractice(
        lookback=str(p.policy.lone_visit_lookback),
        ceiling=p.policy.caseload_ceiling,
        lone_recorded=p.lone_recorded,
        announced_recorded=p.announced_recorded,
        reviews_recorded=p.reviews_recorded,
        lone_share=p.lone_share(counts),
        lone=counts[LONE],
        paired=counts[PAIRING],
        announced_share=p.announced_share(counts),
        officers=rows,
        lone_visits=list(lists.get("lone", [])),
        predictable=list(lists.get("predictable", [])),
        supervisor_reviews=list(lists.get("supervision", [])),
        long_plans=list(lists.get("long_plans", [])),
    )


def force_practice(ob: Obligations) -> ForcePractice:
    p = ob.practice
    assert p is not None
    total = p.tally()
    over = p.over_ceiling()
    return ForcePractice(
        lookback=str(p.policy.lone_visit_lookback),
        ceiling=p.policy.caseload_ceiling,
        lone_recorded=p.lone_recorded,
        announced_recorded=p.announced_recorded,
        reviews_recorded=p.reviews_recorded,
        lone_share=p.lone_share(total),
        announced_share=share(total[ANNOUNCED], total[ANNOUNCING]) if p.announced_recorded else None,
        mappa=p.mappa_counts(),
        officers_over=len(over),
        officers=len(p.caseloads),
        worst_caseloads=p.caseloads[:FORCE_CASELOAD_ROWS],
        predictable=p.counts.get("predictable_visits", 0),
        long_plans=p.counts.get("long_plan_intervals", 0),
    )
