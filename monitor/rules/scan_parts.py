"""The scan's bookkeeping around its one loop: counting a list it does not list, sorting
its lists in contract order, and the summary.

Why apart from :mod:`monitor.rules.scan`: these run once per list or once per scan (or, for
counting, on a path that stays cheap), and keeping them out leaves the scan module with the
rules themselves, one pass over the people.
"""

from __future__ import annotations

from collections import Counter
from operator import attrgetter

from monitor.core.config import RISK_LEVELS, Policy
from monitor.rules.case_tags import mappa_rank
from monitor.rules.obligations import RISK_ORDER, Item, Summary, Unlocated
from monitor.rules.tallies import most_overdue, overdue_mix, warrant_flagged


def count_late(
    cells: Counter[tuple[str, str]],
    worst: dict[tuple[str, str], tuple[int, str]],
    key: tuple[str, str],
    late: int,
    ref: str,
) -> None:
    """Count one overdue entry of a list only counted, keeping its cell's most overdue."""
    cells[key] += 1
    found = worst.get(key)
    if found is None or late > found[0] or (late == found[0] and ref < found[1]):
        worst[key] = (late, ref)


#: Each result type's contract order is its ``sort_key`` (monitor.rules.obligations).
SORT_KEY = attrgetter("sort_key")
_REF = attrgetter("ref")
_DAYS = attrgetter("days_overdue")


def sort_items(items: list[Item], mappa_first: bool = False) -> None:
    """Sort in place by ``Item.sort_key`` (risk, MAPPA level 2 and 3 first, most overdue
    first, then ref).

    As stable sorts, least significant key first: two by attribute keys that run in C and
    one by risk rank, instead of building a tuple in Python per item (140,000 items in a
    national scan); the MAPPA sort only when someone in scope is at level 2 or 3 (otherwise
    it changes nothing). tests/rules/test_scan.py holds the two orders equal.
    """
    items.sort(key=_REF)
    items.sort(key=_DAYS, reverse=True)  # reverse keeps equal items in order (still stable)
    if mappa_first:
        items.sort(key=_mappa_rank)
    items.sort(key=_risk_rank)


def _risk_rank(item: Item) -> int:
    return RISK_ORDER[item.risk_level]


def _mappa_rank(item: Item) -> int:
    return mappa_rank(item.tags)


def summary_of(
    policy: Policy,
    overdue: list[Item],
    due_soon: list[Item],
    reviews: int,
    notifications: int,
    unlocated: list[Unlocated],
    caseload: Counter[tuple[str, str, str]],
) -> Summary:
    caseload_by_team: Counter[str] = Counter()
    caseload_by_risk: Counter[str] = Counter()
    for (team, risk, _manager), n in caseload.items():
        caseload_by_team[team] += n
        caseload_by_risk[risk] += n
    by_risk, by_age, risk_by_age = overdue_mix(overdue)
    by_team = dict.fromkeys(sorted(caseload_by_team), 0)
    for item in overdue:
        by_team[item.team] = by_team.get(item.team, 0) + 1
    worst = most_overdue(overdue)
    flag = policy.failed_attempts_flag
    return Summary(
        active_caseload=sum(caseload_by_team.values()),
        overdue_visits=len(overdue),
        by_risk=by_risk,
        by_team=by_team,
        by_age=by_age,
        most_overdue_days=worst.days_overdue if worst else None,
        most_overdue_ref=worst.ref if worst else None,
        due_soon=len(due_soon),
        overdue_risk_reviews=reviews,
        overdue_notifications=notifications,
        whereabouts_unknown=len(unlocated),
        failed_attempt_flags=len(warrant_flagged((*overdue, *due_soon), flag)),
        caseload_by_team=dict(sorted(caseload_by_team.items())),
        caseload_by_risk={r: caseload_by_risk.get(r, 0) for r in RISK_LEVELS},
        risk_by_age=risk_by_age,
    )
