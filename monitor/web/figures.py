"""Page data from the one scan: headline figures, case lists, per-officer and per-team rows.

Nothing here computes a due date. Every page scans its own scope with
:func:`monitor.rules.scan.scan` (a team page scans that team only, so it cannot hold
another team's cases) and reuses the digests' headline (:class:`Backlog`: size, risk
mix, age bands, most overdue) and the report's helpers for the trend and the CSV. The
imports from digests and reports are kept to this one module on purpose: those modules
are being reorganised, and a moved function then needs one line changed here.

A force-wide scan of a national register takes seconds, so it is cached in memory per
as-of date and register version (the latest import run, written in the import's own
transaction, so new data always comes with a new version), and ``visit-monitor web``
re-warms it in the background when either changes. Team and officer scans take
milliseconds and are never cached.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.core.config import Config
from monitor.digests.build import scan_policy
from monitor.digests.contexts import Backlog
from monitor.digests.practice import ForcePractice, TeamPractice, force_practice, officer_practice, team_practice
from monitor.register.models import ImportRun, Officer
from monitor.reports.export import render_csv
from monitor.reports.governance import Governance, governance
from monitor.reports.html import trend_chart
from monitor.reports.snapshot import backlog_series
from monitor.rules.obligations import PRACTICE_LISTS, RISK_ORDER, Item, Obligations, Unlocated
from monitor.rules.practice import LoneVisit, LongPlanInterval, Predictable
from monitor.rules.scan import COUNTABLE, scan
from monitor.rules.tallies import warrant_flagged
from monitor.web.filters import MAPPA_FILTERS, CaseFilter

TREND_DAYS = 90
T = TypeVar("T")


class ScanCache:
    """Force-wide figures by (as-of, register version), each kept for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._entries: dict[tuple[Any, ...], tuple[float, Any]] = {}

    def get(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        if self.seconds <= 0:
            return compute()
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and now - hit[0] < self.seconds:
                found: T = hit[1]
                return found
        result = compute()
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.seconds}
            self._entries[key] = (time.monotonic(), result)
        return result


def register_version(db: Session) -> int | None:
    return db.scalar(select(func.max(ImportRun.id)))


def scan_scope(
    db: Session,
    config: Config,
    as_of: date,
    *,
    team: str | None = None,
    officer: str | None = None,
    count_only: frozenset[str] = frozenset(),
) -> Obligations:
    """The scan for one scope, with the digests' policy (due-soon window wide enough for both pages)."""
    return scan(db, scan_policy(config), as_of, team=team, officer=officer, count_only=count_only)


def due_within(items: Sequence[Item], days: int) -> list[Item]:
    return [i for i in items if -i.days_overdue <= days]


def backlog(ob: Obligations, caseload: int, due_soon_days: int) -> Backlog:
    return Backlog.of(
        caseload=caseload,
        overdue=ob.overdue_visits,
        due_soon=due_within(ob.due_soon, due_soon_days),
        reviews=ob.count("overdue_risk_reviews"),  # listed, or only counted (the force page)
        notifications=ob.count("overdue_notifications"),
        unlocated=ob.whereabouts_unknown,
        flag=ob.failed_attempts_flag,
    )


def split(ob: Obligations, key: str) -> dict[str, Obligations]:
    """Cut one scan into one Obligations per team or offender manager, keeping contract order.

    Lists the scan only counted (per team and risk level) can be cut by team only.
    """
    if ob.unlisted_counts and key != "team":
        raise ValueError(f"lists counted per team cannot be cut by {key}")
    lists: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    names = ("overdue_visits", "due_soon", "overdue_risk_reviews", "overdue_notifications", "whereabouts_unknown")
    for name in names:
        for entry in getattr(ob, name):
            lists[getattr(entry, key)][name].append(entry)
    counts: dict[str, dict[str, dict[tuple[str, str], int]]] = defaultdict(lambda: defaultdict(dict))
    for name, cells in ob.unlisted_counts.items():
        for (team, risk), n in cells.items():
            counts[team][name][team, risk] = n
    return {
        k: with_lists(ob, *(lists[k].get(n, []) for n in names), counts=counts.get(k, {}))
        for k in [*lists, *(team for team in counts if team not in lists)]
    }


def with_lists(
    ob: Obligations,
    overdue: Sequence[Item] = (),
    due_soon: Sequence[Item] = (),
    reviews: Sequence[Item] = (),
    notifications: Sequence[Item] = (),
    unknown: Sequence[Unlocated] = (),
    *,
    counts: dict[str, dict[tuple[str, str], int]] | None = None,
) -> Obligations:
    """``ob`` with its five case lists replaced (summary and scope unchanged); lists the scan
    only counted get ``counts`` (none: zero), never the whole scan's."""
    return dataclasses.replace(
        ob,
        overdue_visits=list(overdue),
        due_soon=list(due_soon),
        overdue_risk_reviews=list(reviews),
        overdue_notifications=list(notifications),
        whereabouts_unknown=list(unknown),
        unlisted_counts={name: dict((counts or {}).get(name, {})) for name in ob.unlisted_counts},
        # The practice lists are the whole scope's: none of them belongs to a cut.
        lone_visits=[],
        predictable_visits=[],
        overdue_supervisor_reviews=[],
        long_plan_intervals=[],
    )


@dataclass(frozen=True)
class Line:
    """One row of a side-by-side table: a team or an officer with their headline figures."""

    key: str
    label: str
    backlog: Backlog
    note: str = ""


def _worst_first(lines: list[Line]) -> list[Line]:
    return sorted(lines, key=lambda r: (-r.backlog.overdue_visits, -(r.backlog.most_overdue_days or 0), r.key))


def officer_lines(db: Session, ob: Obligations, due_soon_days: int) -> list[Line]:
    caseloads: dict[str, int] = dict(ob.extra.get("caseload_by_officer", {}))
    parts = split(ob, "offender_manager")
    keys = sorted(set(caseloads) | set(parts))
    officers = (
        {o.officer_id: o for o in db.scalars(select(Officer).where(Officer.officer_id.in_(keys)))} if keys else {}
    )
    lines = []
    for key in keys:
        officer = officers.get(key)
        note = "not in the officer directory" if officer is None else ("" if officer.active else "inactive")
        lines.append(
            Line(
                key=key,
                label=officer.name if officer is not None and officer.name else key,
                backlog=backlog(parts.get(key) or with_lists(ob), caseloads.get(key, 0), due_soon_days),
                note=note,
            )
        )
    return _worst_first(lines)


def team_lines(ob: Obligations, due_soon_days: int) -> list[Line]:
    parts = split(ob, "team")
    caseloads = ob.summary.caseload_by_team
    lines = []
    for team in sorted(set(caseloads) | set(parts)):
        part = parts.get(team) or with_lists(ob)
        lines.append(Line(key=team, label=team, backlog=backlog(part, caseloads.get(team, 0), due_soon_days)))
    return _worst_first(lines)


def case_list(ob: Obligations, view: CaseFilter, due_soon_days: int) -> list[Any]:
    """The one list a team page shows for its filter, worst first."""
    source: Sequence[Any]
    if view.status in PRACTICE_SOURCES:
        source = getattr(ob, PRACTICE_SOURCES[view.status])
    elif view.status == "overdue":
        source = ob.overdue_visits
    elif view.status == "due_soon":
        source = due_within(ob.due_soon, due_soon_days)
    elif view.status == "failed":
        both = (*ob.overdue_visits, *due_within(ob.due_soon, due_soon_days))
        source = sorted(warrant_flagged(both, ob.failed_attempts_flag), key=lambda i: i.sort_key)
    elif view.status == "unknown":
        source = ob.whereabouts_unknown
    elif view.status == "review":
        source = ob.overdue_risk_reviews
    else:
        source = ob.overdue_notifications
    levels = MAPPA_FILTERS.get(view.mappa)
    return [
        x
        for x in source
        if (not view.risk or x.risk_level == view.risk)
        and (not view.officer or x.offender_manager == view.officer)
        and (levels is None or (x.tags is not None and x.tags.mappa_level in levels))
    ]


#: A practice status filter -> the scan's list it shows.
PRACTICE_SOURCES: dict[str, str] = {
    "supervision": "overdue_supervisor_reviews",
    "predictable": "predictable_visits",
    "lone": "lone_visits",
    "long_plan": "long_plan_intervals",
}
#: The case table's kind of row for each status filter (templates/web/_macros.html).
KINDS: dict[str, str] = {
    "unknown": "unknown",
    "review": "review",
    "notification": "notification",
    "supervision": "supervision",
    "predictable": "predictable",
    "lone": "lone",
    "long_plan": "long_plan",
}


def as_obligations(ob: Obligations, cases: Sequence[Any]) -> Obligations:
    """An Obligations holding exactly ``cases`` (for the CSV writer), each in its own section."""
    overdue: list[Item] = []
    soon: list[Item] = []
    reviews: list[Item] = []
    notes: list[Item] = []
    unknown: list[Unlocated] = []
    practice: dict[str, list[Any]] = {name: [] for name in PRACTICE_LISTS}
    for c in cases:
        if isinstance(c, Unlocated):
            unknown.append(c)
        elif isinstance(c, LoneVisit):
            practice["lone_visits"].append(c)
        elif isinstance(c, Predictable):
            practice["predictable_visits"].append(c)
        elif isinstance(c, LongPlanInterval):
            practice["long_plan_intervals"].append(c)
        elif c.kind == "supervisor_review":
            practice["overdue_supervisor_reviews"].append(c)
        elif c.kind == "visit":
            (overdue if c.days_overdue > 0 else soon).append(c)
        elif c.kind == "risk_review":
            reviews.append(c)
        else:
            notes.append(c)
    return dataclasses.replace(
        with_lists(ob, overdue, soon, reviews, notes, unknown),
        lone_visits=practice["lone_visits"],
        predictable_visits=practice["predictable_visits"],
        overdue_supervisor_reviews=practice["overdue_supervisor_reviews"],
        long_plan_intervals=practice["long_plan_intervals"],
    )


def csv_of(ob: Obligations, cases: Sequence[Any]) -> str:
    """The report's CSV (same columns, same formula neutralising) of exactly these cases."""
    return render_csv(as_obligations(ob, cases))


def trend(db: Session, as_of: date, team: str | None) -> tuple[dict[str, Any] | None, list[tuple[date, int]]]:
    """The last 90 days of backlog snapshots: chart geometry and the points (the table alternative)."""
    points = backlog_series(db, end=as_of, days=TREND_DAYS, team=team)
    return (trend_chart(points, width=520, height=180) if points else None), points


RISKS: tuple[str, ...] = tuple(RISK_ORDER)


@dataclass(frozen=True)
class ForceFigures:
    """The force page's data: the force-wide scan, its headline, a line per team, the
    governance view and (practice measures on) the practice block."""

    ob: Obligations
    backlog: Backlog
    teams: list[Line]
    governance: Governance | None = None
    practice: ForcePractice | None = None


def team_practice_of(ob: Obligations, team: str, officers: Sequence[str]) -> TeamPractice | None:
    """A team page's practice block, as the team digest's (None when the measures are off)."""
    p = ob.practice
    if p is None:
        return None
    caseloads: dict[str, int] = ob.extra.get("caseload_by_officer", {})
    rows = [officer_practice(p, o, caseloads.get(o, 0)) for o in officers]
    lists: dict[str, Sequence[Any]] = {
        "lone": [x for x in ob.lone_visits if x.team == team],
        "predictable": [x for x in ob.predictable_visits if x.team == team],
        "supervision": [x for x in ob.overdue_supervisor_reviews if x.team == team],
        "long_plans": [x for x in ob.long_plan_intervals if x.team == team],
    }
    return team_practice(p, rows, team, lists)


def force_figures(db: Session, config: Config, as_of: date, cache: ScanCache | None) -> ForceFigures:
    """Scan the force and cut it by team; cached per (as-of, register version) when ``cache`` is given."""
    days = config.policy.due_soon_days

    def compute() -> ForceFigures:
        # Risk reviews and notifications counted, not listed: the page shows their counts
        # per team, and the cache then holds a tenth of a national scan's items.
        ob = scan_scope(db, config, as_of, count_only=COUNTABLE)
        return ForceFigures(
            ob=ob,
            backlog=backlog(ob, ob.summary.active_caseload, days),
            teams=team_lines(ob, days),
            governance=governance(db, ob),
            practice=force_practice(ob) if ob.practice is not None else None,
        )

    if cache is None:
        return compute()
    return cache.get((as_of, register_version(db)), compute)
