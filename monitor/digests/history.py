"""What the backlog looked like before: last week's team figures and the force trend.

The digests' scan says where things stand today; the team digest's week-on-week change
and the force digest's weekly and monthly trend come from the daily backlog snapshots
instead (``monitor.reports.snapshot``). They are read here, apart from the scan, because
they query a different table and a missing snapshot must only blank a point, never stop
a digest.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from monitor.core.durations import add_months
from monitor.digests.contexts import TrendPoint
from monitor.reports.snapshot import backlog_series, team_totals

TREND_WEEKS = 8
TREND_MONTHS = 6
#: A week-on-week comparison uses the latest snapshot taken 7 to 7 + this many days ago.
SNAPSHOT_SLACK_DAYS = 3


def week_change(session: Session, as_of: date) -> dict[str, tuple[date, int]]:
    """Per team: the latest snapshot 7 to 7 + slack days before ``as_of`` and its figure."""
    end = as_of - timedelta(days=7)
    totals = team_totals(session, start=end - timedelta(days=SNAPSHOT_SLACK_DAYS), end=end)
    out: dict[str, tuple[date, int]] = {}
    for day in sorted(totals):
        for team, n in totals[day].items():
            out[team] = (day, n)  # later days overwrite earlier ones
    return out


def trends(session: Session, as_of: date, current: int) -> tuple[list[TrendPoint], list[TrendPoint]]:
    """Weekly points for the last weeks and month-end points for the last months."""
    first_month = add_months(date(as_of.year, as_of.month, 1), -(TREND_MONTHS - 1))
    series = dict(backlog_series(session, end=as_of, days=(as_of - first_month).days + 1))
    days = sorted(series)

    def latest_between(start: date, end: date) -> tuple[date | None, int | None]:
        found = [d for d in days if start <= d <= end]
        return (found[-1], series[found[-1]]) if found else (None, None)

    weekly: list[TrendPoint] = []
    for k in range(TREND_WEEKS - 1, -1, -1):
        end = as_of - timedelta(days=7 * k)
        if k == 0:
            weekly.append(TrendPoint("now", as_of, current))
            continue
        on, value = latest_between(end - timedelta(days=6), end)
        weekly.append(TrendPoint(f"{k} week{'s' if k > 1 else ''} ago", on, value))
    monthly: list[TrendPoint] = []
    for k in range(TREND_MONTHS - 1, -1, -1):
        start = add_months(date(as_of.year, as_of.month, 1), -k)
        end = min(add_months(start, 1) - timedelta(days=1), as_of)
        on, value = latest_between(start, end)
        monthly.append(TrendPoint(start.strftime("%b %Y"), on, value))
    return weekly, monthly
