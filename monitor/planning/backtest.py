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

Pure: the caller reads the facts and the scan's counts (:mod:`monitor.planning.inputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from math import ceil
from typing import Any

from monitor.planning.facts import Facts
from monitor.planning.forecast import WhatIf, forecast
from monitor.planning.words import date_words, plural


@dataclass(frozen=True)
class BacktestWeek:
    on: date
    forecast: float
    actual: int

    @property
    def error(self) -> float:
        return self.forecast - self.actual


@dataclass(frozen=True)
class Backtest:
    made_on: date
    points: list[BacktestWeek]

    @property
    def weeks(self) -> int:
        return len(self.points) - 1

    @property
    def later(self) -> list[BacktestWeek]:
        """The weeks after the one the forecast was made in (week 0 is known exactly)."""
        return self.points[1:]

    @property
    def within(self) -> int:
        """The largest error, in whole visits (rounded up: "within" is a bound)."""
        return ceil(max((abs(p.error) for p in self.later), default=0.0) - 1e-9)

    @property
    def mean_abs_error(self) -> float:
        later = self.later
        return sum(abs(p.error) for p in later) / len(later) if later else 0.0

    @property
    def bias(self) -> float:
        later = self.later
        return sum(p.error for p in later) / len(later) if later else 0.0

    @property
    def relative(self) -> float:
        """The largest error as a share of the largest overdue count in the period."""
        top = max((p.actual for p in self.points), default=0)
        return ceil(max((abs(p.error) for p in self.later), default=0.0) - 1e-9) / max(1, top)

    def words(self) -> str:
        return (
            f"The last {plural(self.weeks, 'week')}' forecasts were within {plural(self.within, 'visit')} "
            f"(the forecast made on {date_words(self.made_on)} against the overdue count each week since; "
            f"mean error {self.mean_abs_error:.1f})."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "made_on": self.made_on.isoformat(),
            "weeks": self.weeks,
            "within": self.within,
            "mean_abs_error": round(self.mean_abs_error, 1),
            "bias": round(self.bias, 1),
            "end_error": round(self.points[-1].error, 1) if self.points else 0.0,
            "relative": round(self.relative, 3),
            "points": [
                {
                    "on": p.on.isoformat(),
                    "forecast": round(p.forecast, 1),
                    "actual": p.actual,
                    "error": round(p.error, 1),
                }
                for p in self.points
            ],
        }


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
