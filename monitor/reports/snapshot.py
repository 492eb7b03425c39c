"""Daily backlog snapshots: the memory that trends are made of.

The register only says what is true today; "is the backlog shrinking?" needs yesterday's
answer too. Once a day the daemon (or ``digest``) stores, per team and risk level, the
figures HMICFRS asks about: caseload, overdue visits and how overdue (age bands), plus
reviews (and the most overdue), notifications and whereabouts unknown, and with the
practice measures on their trend figures (lone visits, supervisor reviews, predictable
visits). One scan feeds all rows; taking the snapshot twice on the same day overwrites that
day's rows instead of adding more.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.core.clock import now_utc
from monitor.core.config import RISK_LEVELS
from monitor.register.db import reading, transaction
from monitor.register.models import BacklogSnapshot
from monitor.rules.obligations import Obligations
from monitor.rules.practice import LONE, PAIRING
from monitor.rules.tallies import age_band

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from monitor.core.config import Config


@dataclass
class _Cell:
    caseload: int = 0
    overdue_visits: int = 0
    ages: Counter[str] = field(default_factory=Counter)
    due_soon: int = 0
    overdue_risk_reviews: int = 0
    overdue_notifications: int = 0
    whereabouts_unknown: int = 0
    most_overdue_days: int | None = None
    most_overdue_review_days: int | None = None
    # The practice measures' trend figures (None when they are off or not recorded).
    lookback_home_visits: int | None = None
    lookback_lone_visits: int | None = None
    overdue_supervisor_reviews: int | None = None
    predictable_visits: int | None = None


def snapshot_cells(
    obligations: Obligations, caseload: dict[tuple[str, str, str], int], due_soon_days: int
) -> dict[tuple[str, str], _Cell]:
    """Figures per (team, risk) for every team with anyone in scope, all four risk levels."""
    cells: dict[tuple[str, str], _Cell] = defaultdict(_Cell)
    teams = {team for team, _, _ in caseload}
    for team in teams:
        for risk in RISK_LEVELS:
            cells[(team, risk)] = _Cell()  # zero rows keep every series continuous
    for (team, risk, _om), n in caseload.items():
        cells[(team, risk)].caseload += n
    for item in obligations.overdue_visits:
        cell = cells[(item.team, item.risk_level)]
        cell.overdue_visits += 1
        cell.ages[age_band(item.days_overdue)] += 1
        cell.most_overdue_days = max(cell.most_overdue_days or 0, item.days_overdue)
    for item in obligations.due_soon:
        if -item.days_overdue <= due_soon_days:
            cells[(item.team, item.risk_level)].due_soon += 1
    for item in obligations.overdue_risk_reviews:
        cell = cells[(item.team, item.risk_level)]
        cell.overdue_risk_reviews += 1
        cell.most_overdue_review_days = max(cell.most_overdue_review_days or 0, item.days_overdue)
    for item in obligations.overdue_notifications:
        cells[(item.team, item.risk_level)].overdue_notifications += 1
    # Counted by the scan instead of listed (take_snapshot): the same figures per cell.
    for key, n in obligations.unlisted_counts.get("overdue_risk_reviews", {}).items():
        cells[key].overdue_risk_reviews += n
    for key, n in obligations.unlisted_counts.get("overdue_notifications", {}).items():
        cells[key].overdue_notifications += n
    for key, (late, _ref) in obligations.unlisted_worst.get("overdue_risk_reviews", {}).items():
        cells[key].most_overdue_review_days = max(cells[key].most_overdue_review_days or 0, late)
    for u in obligations.whereabouts_unknown:
        cells[(u.team, u.risk_level)].whereabouts_unknown += 1
    if obligations.practice is not None:
        _practice_cells(obligations, cells)
    return dict(cells)


def _practice_cells(obligations: Obligations, cells: dict[tuple[str, str], _Cell]) -> None:
    """The practice measures' trend figures per (team, risk): lone visits over the visits
    whose pairing is recorded, overdue supervisor reviews, predictable visits."""
    practice = obligations.practice
    assert practice is not None
    for cell in cells.values():
        cell.predictable_visits = 0
        if practice.lone_recorded:
            cell.lookback_home_visits = cell.lookback_lone_visits = 0
        if practice.reviews_recorded:
            cell.overdue_supervisor_reviews = 0
    for p in obligations.predictable_visits:
        cell = cells[(p.team, p.risk_level)]
        cell.predictable_visits = (cell.predictable_visits or 0) + 1
    if practice.lone_recorded:
        for (team, risk, _officer), counts in practice.visits.items():
            cell = cells[(team, risk)]
            cell.lookback_home_visits = (cell.lookback_home_visits or 0) + counts[PAIRING]
            cell.lookback_lone_visits = (cell.lookback_lone_visits or 0) + counts[LONE]
    if practice.reviews_recorded:
        for item in obligations.overdue_supervisor_reviews:
            cell = cells[(item.team, item.risk_level)]
            cell.overdue_supervisor_reviews = (cell.overdue_supervisor_reviews or 0) + 1


def take_snapshot(engine: Engine, config: Config, as_of: date) -> int:
    """Store today's backlog per team and risk level; returns the number of rows written.

    Idempotent per day: existing rows for ``as_of`` are updated, rows for teams that no
    longer have anyone in scope are removed, so the day always matches one scan. The scan
    runs in a read-only unit of work (it never holds SQLite's write lock); if another
    worker inserts the same day's rows in between, the unique key refuses ours and the
    upsert is simply retried as an update.
    """
    from monitor.rules.scan import COUNTABLE, scan

    with reading(engine) as session:
        # Reviews and notifications are only counted per cell: no item each (see scan).
        obligations = scan(session, config.policy, as_of, count_only=COUNTABLE)
        cells = snapshot_cells(obligations, obligations.caseload, config.policy.due_soon_days)
    for attempt in range(3):
        try:
            _upsert(engine, as_of, cells)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    return len(cells)


def _upsert(engine: Engine, as_of: date, cells: dict[tuple[str, str], _Cell]) -> None:
    now = now_utc()
    with transaction(engine) as session:
        existing = {
            (row.team, row.risk_level): row
            for row in session.scalars(select(BacklogSnapshot).where(BacklogSnapshot.taken_on == as_of))
        }
        for key, cell in sorted(cells.items()):
            row = existing.pop(key, None)
            if row is None:
                row = BacklogSnapshot(taken_on=as_of, team=key[0], risk_level=key[1])
                session.add(row)
            row.caseload = cell.caseload
            row.overdue_visits = cell.overdue_visits
            row.age_1_7 = cell.ages["1-7"]
            row.age_8_28 = cell.ages["8-28"]
            row.age_29_90 = cell.ages["29-90"]
            row.age_91_plus = cell.ages["91+"]
            row.due_soon = cell.due_soon
            row.overdue_risk_reviews = cell.overdue_risk_reviews
            row.overdue_notifications = cell.overdue_notifications
            row.whereabouts_unknown = cell.whereabouts_unknown
            row.most_overdue_days = cell.most_overdue_days
            row.most_overdue_review_days = cell.most_overdue_review_days
            row.lookback_home_visits = cell.lookback_home_visits
            row.lookback_lone_visits = cell.lookback_lone_visits
            row.overdue_supervisor_reviews = cell.overdue_supervisor_reviews
            row.predictable_visits = cell.predictable_visits
            row.created_at = now
        for stale in existing.values():
            session.delete(stale)


def backlog_series(session: Session, *, end: date, days: int, team: str | None = None) -> list[tuple[date, int]]:
    """Overdue visits per snapshot day in the ``days`` days ending on ``end`` (inclusive),
    oldest first; days without a snapshot are absent (never shown as zero)."""
    start = end - timedelta(days=max(days, 1) - 1)
    stmt = (
        select(BacklogSnapshot.taken_on, func.sum(BacklogSnapshot.overdue_visits))
        .where(BacklogSnapshot.taken_on >= start, BacklogSnapshot.taken_on <= end)
        .group_by(BacklogSnapshot.taken_on)
        .order_by(BacklogSnapshot.taken_on)
    )
    if team is not None:
        stmt = stmt.where(BacklogSnapshot.team == team)
    return [(day, int(total or 0)) for day, total in session.execute(stmt)]


def team_totals(session: Session, *, start: date, end: date) -> dict[date, dict[str, int]]:
    """Overdue visits per team per snapshot day between ``start`` and ``end`` inclusive."""
    stmt = (
        select(BacklogSnapshot.taken_on, BacklogSnapshot.team, func.sum(BacklogSnapshot.overdue_visits))
        .where(BacklogSnapshot.taken_on >= start, BacklogSnapshot.taken_on <= end)
        .group_by(BacklogSnapshot.taken_on, BacklogSnapshot.team)
    )
    out: dict[date, dict[str, int]] = defaultdict(dict)
    for day, team, total in session.execute(stmt):
        out[day][team] = int(total or 0)
    return dict(out)
