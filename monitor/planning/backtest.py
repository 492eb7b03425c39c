"""The backtest that keeps the forecast honest: the forecast made weeks ago, against what happened.

Method (docs/planning.md, "method"): choose a number of weeks N. Take the day N weeks before
the as-of date and build the planner's facts as they were then: visits dated up to that day
(nothing later is known to it), and the register as it stands (its people, their risk
levels, the officers' stated capacity and known absences: the register keeps no history of
them, so this is the best known). Forecast from that day exactly as a forecast is made
today, with no what-if, for N weeks. Then, for each week since, set the forecast's overdue
count against the count the scan gives for that day (``monitor.rules.scan``, the same
numbers every report and digest shows). The error of week k is forecast minus actual; the
backtest reports the largest (as "the last N weeks' forecasts were within X visits"), the
mean of their sizes, the mean (its bias: positive when the forecast ran high) and the last.

Pure: the caller reads the facts and the scan's counts (:mod:`monitor.planning.history`); the
result types are in :mod:`monitor.planning.forecast_results`.
"""

from __future__ import annotations

from datetime import date

from monitor.planning.facts import Facts
from monitor.planning.forecast import forecast
from monitor.planning.forecast_results import Backtest, BacktestWeek, WhatIf


def backtest(
    then: Facts, actual: list[tuple[date, int]], default_per_week: float, growth_per_year: float | None
) -> Backtest:
    """Set the forecast made from ``then`` against ``actual`` (the scan's count on each day).

    ``actual`` holds one count per week from ``then.as_of``, seven days apart.
    """
    result = forecast(then, default_per_week, growth_per_year, len(actual), WhatIf())
    series = result.series
    points = [BacktestWeek(day, series[k].overdue, count) for k, (day, count) in enumerate(actual)]
    return Backtest(made_on=then.as_of, points=points)
