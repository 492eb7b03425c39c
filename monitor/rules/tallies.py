"""Counting overdue items: age bands, the most overdue case, the risk and age mix, warrant flags.

Apart from the result types (:mod:`monitor.rules.obligations`) because every summary
counts the same way: the scan's summary, the digests' backlogs, the web pages, the
snapshots and the governance view all call these, so "most overdue" and "8-28 days" mean
one thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.rules.case_tags import RISK_ORDER
from monitor.rules.obligations import AGE_BANDS, Item


def age_band(days_overdue: int) -> str:
    """The age band of an overdue item (days_overdue >= 1)."""
    if days_overdue <= 7:
        return "1-7"
    if days_overdue <= 28:
        return "8-28"
    if days_overdue <= 90:
        return "29-90"
    return "91+"


def most_overdue(overdue: Iterable[Item]) -> Item | None:
    """The single most overdue item: most days first, then higher risk, then ref.

    Every summary (report, digests, snapshots) names the same case as "most overdue".
    """
    return min(overdue, key=lambda i: (-i.days_overdue, RISK_ORDER[i.risk_level], i.ref), default=None)


def overdue_mix(overdue: Iterable[Item]) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, int]]]:
    """Counts of overdue items by risk, by age band and by risk x age band (all keys present)."""
    by_risk = dict.fromkeys(RISK_ORDER, 0)
    by_age = dict.fromkeys(AGE_BANDS, 0)
    risk_by_age = {r: dict.fromkeys(AGE_BANDS, 0) for r in RISK_ORDER}
    for item in overdue:
        band = age_band(item.days_overdue)
        by_risk[item.risk_level] += 1
        by_age[band] += 1
        risk_by_age[item.risk_level][band] += 1
    return by_risk, by_age, risk_by_age


def warrant_flagged(items: Iterable[Item], flag: int) -> list[Item]:
    """Visits with ``flag`` or more failed attempts since the last completed one (s.96B)."""
    return [i for i in items if i.failed_attempts >= flag]
