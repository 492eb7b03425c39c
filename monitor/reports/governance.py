"""The governance view the inspectors asked for: "N of M overdue", team by team, month by month.

HMICFRS asked forces for regular oversight of the backlog's size, the risk it holds and the
most overdue visit (Cambridgeshire, 2024), and reported backlogs as "283 of 1,521" with
their trend month by month (Avon & Somerset, 2024 and 2025); the joint MAPPA thematic
(2022) looked at overdue ARMS assessments apart from visits. The monthly force digest and
the web app's force page both lead with this view, so it is built here once: per team and
for the force, the overdue home visits of the caseload now and at the last snapshot of each
of the eleven months before (``backlog_snapshots``), the oldest overdue visit, overdue risk
reviews with the oldest, and, where the register records them, the lone-visit share and
the supervisor reviews overdue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.core.durations import add_months
from monitor.register.models import BacklogSnapshot
from monitor.rules.obligations import RISK_ORDER, Item, Obligations
from monitor.rules.practice import PracticeFigures
from monitor.rules.tallies import most_overdue

MONTHS = 12
FORCE = "All teams"


@dataclass(frozen=True)
class MonthCell:
    """One month of one row: overdue home visits of the caseload at the month's last
    snapshot (the scan itself for the current month); None where no snapshot was taken."""

    label: str
    on: date | None
    overdue: int | None
    caseload: int | None
    #: Lone visits over the visits whose pairing is recorded (None: not recorded then).
    lone: int | None = None
    paired: int | None = None

    @property
    def lone_share(self) -> float | None:
        return round(self.lone / self.paired, 4) if self.lone is not None and self.paired else None


@dataclass(frozen=True)
class GovernanceRow:
    """A team's line (or the force's, ``team`` = "All teams")."""

    team: str
    overdue: int
    caseload: int
    months: list[MonthCell]
    oldest_visit_days: int | None
    oldest_visit_ref: str | None
    overdue_reviews: int
    oldest_review_days: int | None
    oldest_review_ref: str | None
    #: None: not recorded (no second_officer column), or no visit in the look-back.
    lone_share: float | None
    #: None: not recorded (no supervisor_reviewed_on column).
    supervisor_reviews: int | None


@dataclass(frozen=True)
class Governance:
    labels: list[str]
    force: GovernanceRow
    teams: list[GovernanceRow]
    lone_recorded: bool
    reviews_recorded: bool


def month_starts(as_of: date) -> list[date]:
    """The first day of each of the last :data:`MONTHS` months, the current one last."""
    first = date(as_of.year, as_of.month, 1)
    return [add_months(first, -k) for k in range(MONTHS - 1, -1, -1)]


def month_end_figures(session: Session, as_of: date) -> dict[date, tuple[date, dict[str, tuple[int, ...]]]]:
    """Per month start (the months before the current one): the day of its last snapshot and,
    per team, (overdue visits, caseload, lone visits, paired visits; -1 for the last two
    when that day's rows for the team lack the practice figures)."""
    starts = month_starts(as_of)[:-1]
    if not starts:
        return {}
    end = starts[-1] + timedelta(days=31)
    end = date(end.year, end.month, 1) - timedelta(days=1)
    days = list(
        session.scalars(
            select(BacklogSnapshot.taken_on)
            .where(BacklogSnapshot.taken_on >= starts[0], BacklogSnapshot.taken_on <= end)
            .distinct()
        )
    )
    last: dict[date, date] = {}
    for day in days:
        key = date(day.year, day.month, 1)
        if key not in last or day > last[key]:
            last[key] = day
    if not last:
        return {}
    stmt = (
        select(
            BacklogSnapshot.taken_on,
            BacklogSnapshot.team,
            func.sum(BacklogSnapshot.overdue_visits),
            func.sum(BacklogSnapshot.caseload),
            func.sum(BacklogSnapshot.lookback_lone_visits),
            func.sum(BacklogSnapshot.lookback_home_visits),
            # Rows without the practice figures (not recorded then): lone share unknown.
            func.count() - func.count(BacklogSnapshot.lookback_home_visits),
        )
        .where(BacklogSnapshot.taken_on.in_(sorted(last.values())))
        .group_by(BacklogSnapshot.taken_on, BacklogSnapshot.team)
    )
    by_day: dict[date, dict[str, tuple[int, ...]]] = defaultdict(dict)
    for day, team, overdue, caseload, lone, paired, unrecorded in session.execute(stmt):
        lone_count = -1 if unrecorded else int(lone or 0)
        paired_count = -1 if unrecorded else int(paired or 0)
        by_day[day][team] = (int(overdue or 0), int(caseload or 0), lone_count, paired_count)
    return {month: (day, by_day.get(day, {})) for month, day in last.items()}


def _cells(
    labels: list[str], starts: list[date], past: dict[date, tuple[date, dict[str, tuple[int, ...]]]], team: str | None
) -> list[MonthCell]:
    out = []
    for label, start in zip(labels[:-1], starts[:-1], strict=True):
        found = past.get(start)
        if found is None:
            out.append(MonthCell(label, None, None, None))
            continue
        day, teams = found
        rows = list(teams.values()) if team is None else [teams[team]] if team in teams else []
        if not rows:
            out.append(MonthCell(label, day, 0, 0))
            continue
        overdue = sum(r[0] for r in rows)
        caseload = sum(r[1] for r in rows)
        recorded = all(r[2] >= 0 for r in rows)  # -1: a team's rows lacked the figures
        lone = sum(r[2] for r in rows) if recorded else None
        paired = sum(r[3] for r in rows) if recorded else None
        out.append(MonthCell(label, day, overdue, caseload, lone, paired))
    return out


def _review_cells(ob: Obligations) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], tuple[int, str]]]:
    """Overdue risk reviews per (team, risk level) and the most overdue of each cell, whether
    the scan listed them or only counted them (``scan(count_only=...)``): one pass."""
    if "overdue_risk_reviews" in ob.unlisted:
        return ob.unlisted_counts.get("overdue_risk_reviews", {}), ob.unlisted_worst.get("overdue_risk_reviews", {})
    counts: dict[tuple[str, str], int] = {}
    worst: dict[tuple[str, str], tuple[int, str]] = {}
    for item in ob.overdue_risk_reviews:
        key = (item.team, item.risk_level)
        counts[key] = counts.get(key, 0) + 1
        found = worst.get(key)
        late = item.days_overdue
        if found is None or late > found[0] or (late == found[0] and item.ref < found[1]):
            worst[key] = (late, item.ref)
    return counts, worst


def governance(session: Session, ob: Obligations) -> Governance:
    """The view for a force-wide scan ``ob`` (reviews listed or only counted).

    Every list is grouped by team in one pass first: a national force has over 200 teams
    and 60,000 overdue reviews, and filtering the lists once per team took seconds.
    """
    starts = month_starts(ob.as_of)
    labels = [s.strftime("%b %Y") for s in starts[:-1]] + ["now"]
    past = month_end_figures(session, ob.as_of)
    practice = ob.practice
    teams = sorted(set(ob.summary.caseload_by_team) | {i.team for i in ob.overdue_visits})
    overdue_by_team: dict[str, list[Item]] = defaultdict(list)
    for item in ob.overdue_visits:
        overdue_by_team[item.team].append(item)
    review_counts, review_worst = _review_cells(ob)
    reviews_by_team: dict[str, int] = defaultdict(int)
    oldest_by_team: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for (team, _risk), n in review_counts.items():
        reviews_by_team[team] += n
    for (team, risk), (late, ref) in review_worst.items():
        oldest_by_team[team].append((-late, RISK_ORDER[risk], ref))
    supervision: dict[str, int] = defaultdict(int)
    reviews_recorded = practice is not None and practice.reviews_recorded
    for item in ob.overdue_supervisor_reviews if reviews_recorded else ():
        supervision[item.team] += 1

    def row(team: str | None) -> GovernanceRow:
        overdue = ob.overdue_visits if team is None else overdue_by_team.get(team, [])
        caseload = ob.summary.active_caseload if team is None else ob.summary.caseload_by_team.get(team, 0)
        worst = most_overdue(overdue)
        cells = [c for cs in oldest_by_team.values() for c in cs] if team is None else oldest_by_team.get(team, [])
        oldest = min(cells, default=None)
        now = MonthCell("now", ob.as_of, len(overdue), caseload, *_lone_now(practice, team))
        sup = (sum(supervision.values()) if team is None else supervision.get(team, 0)) if reviews_recorded else None
        return GovernanceRow(
            team=FORCE if team is None else team,
            overdue=len(overdue),
            caseload=caseload,
            months=[*_cells(labels, starts, past, team), now],
            oldest_visit_days=worst.days_overdue if worst else None,
            oldest_visit_ref=worst.ref if worst else None,
            overdue_reviews=sum(reviews_by_team.values()) if team is None else reviews_by_team.get(team, 0),
            oldest_review_days=-oldest[0] if oldest else None,
            oldest_review_ref=oldest[2] if oldest else None,
            lone_share=now.lone_share,
            supervisor_reviews=sup,
        )

    rows = [row(t) for t in teams]
    rows.sort(key=lambda r: (-(r.overdue / r.caseload if r.caseload else 0), -r.overdue, r.team))
    return Governance(
        labels=labels,
        force=row(None),
        teams=rows,
        lone_recorded=practice is not None and practice.lone_recorded,
        reviews_recorded=reviews_recorded,
    )


def _lone_now(practice: PracticeFigures | None, team: str | None) -> tuple[int | None, int | None]:
    if practice is None or not practice.lone_recorded:
        return None, None
    counts = practice.tally(team=team)
    return counts[2], counts[1]


def as_json(g: Governance) -> dict[str, Any]:
    """For tests and scripts: the view as plain data."""
    return {"labels": g.labels, "force": g.force.__dict__, "teams": [t.__dict__ for t in g.teams]}
