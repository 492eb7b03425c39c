"""The plan and forecast on the web pages: the team page's Plan and Forecast, the officer's
week, a line per team on ``/force``, and the team's plan as CSV.

Why a module of its own: the pages (``team``, ``officer``, ``force``) only hook these in, so
the planner's reading and the what-if parameters live in one place. Everything is read
through the planner's public functions (:mod:`monitor.planning`) in the page's own read
transaction; a team's page reads only that team (``read_facts(team=...)`` starts from the
team's people), so nothing of another team can appear whatever the parameters say.

What-if parameters are GET fields, read as strictly as the case filters
(:mod:`monitor.web.filters`): ``extra_per_week`` a whole number from 0 to 500,
``clear_by`` a date (YYYY-MM-DD) from this week's Monday to two years on, ``officer_away``
an officer of this team. Anything else is a 400 with one line naming the field and what
it accepts; the request is still logged. Advice only: every section says so.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from monitor.planning.backtest import backtest
from monitor.planning.forecast import forecast
from monitor.planning.forecast_results import ForecastResult, WhatIf
from monitor.planning.history import read_history
from monitor.planning.inputs import read_facts
from monitor.planning.plan import make_plan
from monitor.planning.plan_results import OfficerPlan, Plan
from monitor.planning.source_engine import EngineSource
from monitor.planning.weeks import week_start
from monitor.reports.html import trend_chart
from monitor.reports.plan_view import ADVICE, ForecastLine, backtest_words, clear_by_date, forecast_lines
from monitor.web.figures import ScanCache, register_version
from monitor.web.filters import BadParameter, one_value

if TYPE_CHECKING:
    from monitor.core.config import Config

#: Most extra visits a week a what-if may add.
EXTRA_MAX = 500
#: Furthest a "clear by" date may be, in days from this week's Monday.
CLEAR_BY_MAX_DAYS = 2 * 365


@dataclass(frozen=True)
class WhatIfParams:
    """The team page's what-if fields, as read (defaults: none)."""

    extra_per_week: int = 0
    clear_by: date | None = None
    officer_away: str = ""

    def params(self) -> dict[str, Any]:
        """The non-default fields, for links that keep the same what-if."""
        out: dict[str, Any] = {}
        if self.extra_per_week:
            out["extra_per_week"] = self.extra_per_week
        if self.clear_by is not None:
            out["clear_by"] = self.clear_by.isoformat()
        if self.officer_away:
            out["officer_away"] = self.officer_away
        return out

    def words(self) -> str:
        """For the access log: which what-if was asked (empty when none)."""
        return " ".join(f"{k}={v}" for k, v in self.params().items())


def what_if_params(args: MultiDict[str, str], as_of: date) -> WhatIfParams:
    """``extra_per_week`` and ``clear_by`` (``officer_away`` is checked against the team once read)."""
    extra_text = one_value(args, "extra_per_week")
    if extra_text and (not extra_text.isascii() or not extra_text.isdigit() or int(extra_text) > EXTRA_MAX):
        raise BadParameter("extra_per_week", f"a whole number of visits from 0 to {EXTRA_MAX}")
    clear_text = one_value(args, "clear_by")
    clear_by = None
    if clear_text:
        first = week_start(as_of)
        try:
            clear_by = date.fromisoformat(clear_text)
        except ValueError:
            clear_by = None
        if clear_by is None or not first <= clear_by <= first + timedelta(days=CLEAR_BY_MAX_DAYS):
            raise BadParameter("clear_by", "a date as YYYY-MM-DD from this week's Monday to two years on")
    return WhatIfParams(
        extra_per_week=int(extra_text) if extra_text else 0,
        clear_by=clear_by,
        officer_away=one_value(args, "officer_away"),
    )


def check_officer_away(params: WhatIfParams, officers: Collection[str]) -> None:
    if params.officer_away and params.officer_away not in officers:
        raise BadParameter("officer_away", "an officer of this team")


@dataclass(frozen=True)
class TeamPlanning:
    """The team page's Plan and Forecast sections."""

    plan: Plan
    forecast: ForecastResult
    params: WhatIfParams
    #: The date the forecast answers "how many more a week would clear them by".
    clear_by: date
    #: The forecast's sentences (with the what-if) and the team's own backtest sentence.
    words: list[str]
    backtest: str | None
    #: Week-by-week rows (the chart's table) and the chart's geometry.
    rows: list[dict[str, Any]]
    chart: dict[str, Any] | None
    #: The officers a what-if may take away (the plan's, in order).
    officers: list[str]
    advice: str = ADVICE

    @property
    def did_not_fit(self) -> list[Any]:
        return sorted((i for o in self.plan.officers for i in o.did_not_fit), key=lambda i: i.sort_key)

    @property
    def refs(self) -> set[str]:
        """The case references the sections show (the access log counts them)."""
        return {i.ref for o in self.plan.officers for i in (*o.planned, *o.did_not_fit)}


def team_planning(db: Session, config: Config, as_of: date, team: str, args: MultiDict[str, str]) -> TeamPlanning:
    """The team's plan and forecast, with the what-if asked in ``args`` (400 on a bad one)."""
    params = what_if_params(args, as_of)
    settings = config.plan
    source = EngineSource(db)
    facts = read_facts(source, config.policy, as_of, team=team)
    plan = make_plan(facts, settings.default_visits_per_week)
    officers = [o.officer_id for o in plan.officers]
    check_officer_away(params, officers)
    clear_by = params.clear_by or clear_by_date(as_of, settings.clear_within_weeks)
    away: dict[str, int | None] = {params.officer_away: None} if params.officer_away else {}
    what = WhatIf(extra_per_week=params.extra_per_week, officers_away=away, clear_by=clear_by)
    result = forecast(facts, settings.default_visits_per_week, settings.growth_per_year, settings.weeks, what)
    checked = None
    if settings.backtest_weeks:
        back = settings.backtest_weeks
        history = read_history(source, config.policy, as_of - timedelta(days=7 * back), as_of, team)
        checked = backtest(history.then, history.actual, settings.default_visits_per_week, settings.growth_per_year)
    rows = result.rows()
    return TeamPlanning(
        plan=plan,
        forecast=result,
        params=params,
        clear_by=clear_by,
        words=replace(result, backtest=None).words(),
        backtest=backtest_words(checked),
        rows=rows,
        chart=trend_chart([(r["week_start"], r["overdue"]) for r in rows], width=520, height=180),
        officers=officers,
    )


def officer_week(db: Session, config: Config, as_of: date, officer_id: str, team: str | None) -> OfficerPlan | None:
    """The officer page's "This week": their plan (within ``team`` when the viewer is limited to it)."""
    facts = read_facts(EngineSource(db), config.policy, as_of, team=team, officer=officer_id, for_forecast=False)
    plan = make_plan(facts, config.plan.default_visits_per_week)
    return next((o for o in plan.officers if o.officer_id == officer_id), None)


@dataclass(frozen=True)
class ForceForecast:
    """``/force``'s forecast: the force's sentences and a line per team."""

    words: list[str]
    lines: list[ForecastLine]
    clear_by: date
    advice: str = ADVICE


def force_forecast(db: Session, config: Config, as_of: date, cache: ScanCache | None) -> ForceForecast:
    """Each team's forecast line, cached like the force-wide scan (per as-of and register version).

    No backtest here: it costs as much again, and each team page shows its own.
    """

    def compute() -> ForceForecast:
        settings = config.plan
        facts = read_facts(EngineSource(db), config.policy, as_of)
        what = WhatIf(clear_by=clear_by_date(as_of, settings.clear_within_weeks))
        result = forecast(facts, settings.default_visits_per_week, settings.growth_per_year, settings.weeks, what)
        return ForceForecast(words=result.words(), lines=forecast_lines(result), clear_by=what.clear_by or as_of)

    if cache is None:
        return compute()
    return cache.get(("forecast", as_of, register_version(db)), compute)


def plan_csv(plan: Plan, config: Config) -> str:
    """The team's plan as the ``plan --format csv`` rows, with the advice line under them."""
    from monitor.reports.planning import render_plan

    return render_plan(plan, config, "csv") + '"' + ADVICE.replace('"', '""') + '"\r\n'
