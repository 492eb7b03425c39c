"""Building digests: one run's scan, plan and forecast, cut into one context per message.

:func:`build_plans` scans once for the whole force (or takes a scan it is given), reads the
planner's facts once (from the scan's own rows) and, while it does, has the forecast's
backtest worked out beside it (:mod:`monitor.digests.backtest_run`); then
:class:`monitor.digests.builder.Builder` groups the result by offender manager and team in
a single pass and fills one context per recipient and kind: a national register has
thousands of officers, so N digests must not cost N scans.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.core.gcpause import paused_gc
from monitor.digests.backtest_run import start as start_backtest
from monitor.digests.builder import Builder
from monitor.digests.history import trends, week_change
from monitor.digests.planned import plan_digests
from monitor.digests.plans import Plans
from monitor.register.models import Officer
from monitor.reports.governance import governance
from monitor.rules import scan as rules_scan
from monitor.rules.obligations import Obligations

if TYPE_CHECKING:
    from monitor.core.config import Config, Policy


def scan_policy(config: Config) -> Policy:
    """The policy to scan with: the due-soon window wide enough for the officer digest."""
    wide = max(config.policy.due_soon_days, config.digest.officer_due_soon_days)
    return dataclasses.replace(config.policy, due_soon_days=wide)


def build_plans(
    session: Session,
    config: Config,
    kinds: Sequence[str],
    as_of: date,
    *,
    obligations: Obligations | None = None,
) -> Plans:
    """Scan once for the whole force and cut the result into one context per message."""
    with paused_gc():  # grouping a national scan makes as many objects again (see core.gcpause)
        return _build_plans(session, config, kinds, as_of, obligations)


def _build_plans(
    session: Session, config: Config, kinds: Sequence[str], as_of: date, obligations: Obligations | None
) -> Plans:
    # The backtest, when the digests show it, in a process of its own while this one scans
    # and plans (monitor.digests.backtest_run); the scan's rows are kept for the planner.
    pending = start_backtest(session, config.policy, config.plan, as_of) if {"team", "force"} & set(kinds) else None
    try:
        rows: list[Sequence[Any]] | None = [] if {"officer", "team", "force"} & set(kinds) else None
        if obligations is None:
            policy = scan_policy(config)
            if {"team", "force"} & set(kinds):
                obligations = rules_scan.scan(session, policy, as_of, keep=rows)
            else:  # only team and force digests show the practice lists: count them, do not make them
                count_only = rules_scan.PRACTICE_COUNTABLE
                obligations = rules_scan.scan(session, policy, as_of, count_only=count_only, keep=rows)
        else:
            rows = None  # another scope's or date's scan: the planner reads its own
        officers = {o.officer_id: o for o in session.scalars(select(Officer))}
        builder = Builder(config, as_of, obligations, officers, obligations.caseload)
        builder.planning = plan_digests(session, config, kinds, as_of, rows=rows, pending=pending)
        del rows
    finally:
        if pending is not None:
            pending.cancel()
    out = Plans()
    for kind in kinds:
        if kind == "officer":
            builder.officer_plans(out)
        elif kind == "team":
            builder.team_plans(out, week_change(session, as_of))
        elif kind == "force":
            view = governance(session, obligations)
            builder.force_plans(out, *trends(session, as_of, obligations.summary.overdue_visits), view)
        elif kind == "escalation":
            builder.escalation_plans(out)
        else:
            raise ValueError(f"unknown digest kind {kind!r}")
    return out
