"""The plan and forecast in the digests: worked out once per run, cut per officer and team.

Why once: a national digest run has about 200 teams and 2,300 officers. The planner's facts
are read once for the force (:func:`monitor.planning.inputs.read_facts`), one plan and one
forecast are made from them, and each digest takes its officer's or team's part (teams
never lend capacity to each other, so a team's part of the force's plan and forecast is the
team's own). The backtest (about the cost of one forecast) runs once, for the force; a team
digest shows the force's figure, said as the force's.

* the officer digest: "Suggested for this week", the officer's planned visits, at most
  ``[plan] officer_digest_limit`` listed and the rest counted; what did not fit is counted
  and left to the supervisor;
* the team digest: each officer's capacity (and where it came from) against what the week
  asks, what did not fit, the reallocation suggestions, the team's forecast in words, and
  the force's backtest line;
* the force digest: each team's forecast line.

Only for the kinds that show them: the daily escalation digest reads nothing more.
Advice only: every block says so (DPA 2018 Part 3, s.49).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from monitor.digests.backtest_run import Pending, work_out
from monitor.planning.forecast import forecast
from monitor.planning.forecast_results import Backtest, ForecastResult, WhatIf
from monitor.planning.inputs import read_facts
from monitor.planning.plan import make_plan
from monitor.planning.plan_results import OfficerPlan, Plan, PlanItem, Reallocation
from monitor.planning.source_engine import EngineSource
from monitor.planning.weeks import week_start
from monitor.reports.plan_view import ADVICE, ForecastLine, backtest_words, clear_by_date, forecast_lines, split_plan

if TYPE_CHECKING:
    from monitor.core.config import Config


@dataclass(frozen=True)
class OfficerWeek:
    """The officer digest's "Suggested for this week"."""

    week_start: date
    week_end: date
    capacity: int
    capacity_source: str
    #: The first ``officer_digest_limit`` planned visits, most urgent first.
    listed: list[PlanItem]
    #: Planned visits beyond those listed.
    more: int
    #: Visits overdue or due this week that did not fit (the supervisor sees them).
    did_not_fit: int
    advice: str = ADVICE

    @property
    def planned(self) -> int:
        return len(self.listed) + self.more


@dataclass(frozen=True)
class TeamPlan:
    """The team digest's plan and forecast."""

    week_start: date
    week_end: date
    officers: list[OfficerPlan]
    did_not_fit: list[PlanItem]
    reallocations: list[Reallocation]
    summary: dict[str, int]
    #: The team's forecast in sentences (empty when there is none).
    forecast: list[str] = field(default_factory=list)
    #: The force's backtest sentence.
    backtest: str | None = None
    advice: str = ADVICE

    @property
    def case_refs(self) -> set[str]:
        planned = {i.ref for o in self.officers for i in o.planned}
        return planned | {i.ref for i in self.did_not_fit}


@dataclass(frozen=True)
class ForceForecast:
    """The force digest's forecast: the force's words, and one line per team."""

    clear_by: date
    words: list[str]
    teams: list[ForecastLine]
    backtest: str | None = None
    advice: str = ADVICE


@dataclass
class Planning:
    """One run's plan and forecast, to cut per officer and team."""

    as_of: date
    limit: int
    plans: dict[str, Plan] = field(default_factory=dict)
    officers: dict[str, OfficerPlan] = field(default_factory=dict)
    forecast: ForecastResult | None = None
    lines: dict[str, ForecastLine] = field(default_factory=dict)
    backtest: Backtest | None = None

    def officer_week(self, officer_id: str) -> OfficerWeek | None:
        o = self.officers.get(officer_id)
        if o is None:
            return None
        first = week_start(self.as_of)
        return OfficerWeek(
            week_start=first,
            week_end=first + timedelta(days=6),
            capacity=o.capacity,
            capacity_source=o.capacity_source,
            listed=o.planned[: self.limit],
            more=max(0, len(o.planned) - self.limit),
            did_not_fit=o.shortfall,
        )

    def team_plan(self, team: str) -> TeamPlan | None:
        plan = self.plans.get(team)
        line = self.lines.get(team)
        if plan is None and line is None:
            return None
        officers = plan.officers if plan is not None else []
        did_not_fit = sorted((i for o in officers for i in o.did_not_fit), key=lambda i: i.sort_key)
        words = list(line.words) if line is not None else []
        first = week_start(self.as_of)
        return TeamPlan(
            week_start=first,
            week_end=first + timedelta(days=6),
            officers=officers,
            did_not_fit=did_not_fit,
            reallocations=plan.reallocations if plan is not None else [],
            summary=plan.summary() if plan is not None else {},
            forecast=words,
            backtest=backtest_words(self.backtest, "Force-wide"),
        )

    def force_forecast(self) -> ForceForecast | None:
        result = self.forecast
        if result is None or result.what_if.clear_by is None:
            return None
        words = replace(result, backtest=None).words()
        return ForceForecast(
            clear_by=result.what_if.clear_by,
            words=words,
            teams=forecast_lines(result),
            backtest=backtest_words(self.backtest),
        )


def plan_digests(
    session: Session,
    config: Config,
    kinds: Sequence[str],
    as_of: date,
    *,
    rows: Sequence[Sequence[Any]] | None = None,
    pending: Pending | None = None,
) -> Planning | None:
    """The run's plan (for officer and team digests) and forecast (team and force), or None
    when no digest kind asked for shows either.

    ``rows``: the run's own force-wide scan rows on ``as_of``, read in this transaction
    (they are not read again); ``pending``: the backtest being worked out in a process of
    its own (:mod:`monitor.digests.backtest_run`), worked out here when it gives nothing."""
    wants_plan = bool({"officer", "team"} & set(kinds))
    wants_forecast = bool({"team", "force"} & set(kinds))
    settings = config.plan
    out = Planning(as_of=as_of, limit=settings.officer_digest_limit)
    if not wants_plan and not wants_forecast:
        return None
    source = EngineSource(session)
    facts = read_facts(source, config.policy, as_of, for_forecast=wants_forecast, rows=rows)
    if wants_plan:
        plan = make_plan(facts, settings.default_visits_per_week)
        out.plans = split_plan(plan)
        out.officers = {o.officer_id: o for o in plan.officers}
    if wants_forecast:
        what = WhatIf(clear_by=clear_by_date(as_of, settings.clear_within_weeks))
        result = forecast(facts, settings.default_visits_per_week, settings.growth_per_year, settings.weeks, what)
        del facts  # today's 100,000 cases need not stay alive beside the history's (peak memory)
        if settings.backtest_weeks:
            found = pending.result(session) if pending is not None else None
            out.backtest = found or work_out(session, config.policy, settings, as_of)
            result = replace(result, backtest=out.backtest)
        out.forecast = result
        out.lines = {line.team: line for line in forecast_lines(result)}
    return out
