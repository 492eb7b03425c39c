"""What a forecast is asked (its what-ifs) and returns: per team and for its scope, week by week,
with its answers in words, and the backtest beside it.

These types are the contract between the engine and whatever shows a forecast (the CLI's
table, JSON, CSV and HTML; later the digests and web pages): ``to_json`` is the JSON that
DESIGN's "Plan and forecast" sketches, extended; ``rows`` and ``team_rows`` are the lines of a
table. The model's expected values are fractional; counts of visits are shown as whole
numbers, the parts of a total rounded so that they add up to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from math import ceil
from typing import Any

from monitor.planning.model import Week
from monitor.planning.weeks import week_start
from monitor.planning.words import ADVICE, date_words, plural, weeks_words
from monitor.rules.obligations import RISK_ORDER


@dataclass(frozen=True)
class WhatIf:
    """What a forecast changes from the present: extra visits a week, officers away.

    ``officers_away`` maps an officer to the weeks they are away from the as-of date
    (None: the whole forecast).
    """

    extra_per_week: int = 0
    officers_away: dict[str, int | None] = field(default_factory=dict)
    clear_by: date | None = None


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


def whole(value: float) -> int:
    """A count of visits to show: the nearest whole number (halves up)."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)


def whole_parts(parts: dict[str, float]) -> dict[str, int]:
    """Whole numbers that add up to the rounded total (largest remainders get the rest)."""
    total = whole(sum(parts.values()))
    floors = {k: int(v) for k, v in parts.items()}
    left = total - sum(floors.values())
    for k in sorted(parts, key=lambda k: (-(parts[k] - floors[k]), RISK_ORDER.get(k, 9), k))[: max(0, left)]:
        floors[k] += 1
    return floors


@dataclass(frozen=True)
class TeamForecast:
    team: str
    weeks: list[Week]
    #: Home visits a week its officers can lead in a normal week (with any what-if).
    capacity_per_week: float
    capacity_sources: dict[str, int]
    success_rate: float
    due_per_week: float
    clears_week: int | None
    clears_on: date | None
    extra_per_week: int = 0
    extra_per_week_to_clear_by: int | None = None
    #: People in custody whose expected release is already past: not back, not forecast.
    releases_passed: int = 0

    @property
    def overdue_now(self) -> int:
        return whole(self.weeks[0].overdue) if self.weeks else 0

    @property
    def returning_from_custody(self) -> int:
        """People expected back from custody within the weeks shown."""
        return sum(w.returning for w in self.weeks)

    def to_json(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "overdue": self.overdue_now,
            "capacity_per_week": round(self.capacity_per_week, 1),
            "capacity_sources": dict(sorted(self.capacity_sources.items())),
            "success_rate": round(self.success_rate, 3),
            "due_per_week": round(self.due_per_week, 1),
            "clears_on": self.clears_on.isoformat() if self.clears_on else None,
            "clears_in_weeks": self.clears_week,
            "extra_per_week": self.extra_per_week,
            "extra_per_week_to_clear_by": self.extra_per_week_to_clear_by,
            "returning_from_custody": self.returning_from_custody,
        }


@dataclass(frozen=True)
class ForecastResult:
    """The forecast of a scope: the force (all teams) or one team."""

    as_of: date
    team: str | None
    teams: list[TeamForecast]
    weeks: int
    success_rate: float
    success_rate_source: str
    growth_per_year: float
    growth_source: str
    what_if: WhatIf
    backtest: Backtest | None = field(default=None)

    @property
    def scope(self) -> str:
        return f"team:{self.team}" if self.team is not None else "force"

    @cached_property
    def series(self) -> list[Week]:
        """The scope's weeks: the team's, or every team's added up (once: every format reads
        it more than once, and a national forecast adds up 286 teams' weeks)."""
        if len(self.teams) == 1:
            return self.teams[0].weeks
        out: list[Week] = []
        for k in range(self.weeks):
            rows = [t.weeks[k] for t in self.teams if k < len(t.weeks)]
            by_risk = dict.fromkeys(RISK_ORDER, 0.0)
            for w in rows:
                for risk, n in w.overdue_by_risk.items():
                    by_risk[risk] += n
            first = self.as_of.toordinal() + 7 * k
            out.append(
                Week(
                    k,
                    date.fromordinal(first),
                    sum(w.overdue for w in rows),
                    by_risk,
                    sum(w.due for w in rows),
                    sum(w.capacity for w in rows),
                    sum(w.attempted for w in rows),
                    sum(w.completed for w in rows),
                    all(w.fits for w in rows),
                    sum(w.returning for w in rows),
                )
            )
        return out

    @property
    def returning_from_custody(self) -> int:
        """People expected back from custody within the weeks shown (each owes a first visit)."""
        return sum(t.returning_from_custody for t in self.teams)

    @property
    def releases_passed(self) -> int:
        """People still in custody whose expected release date is already past (not forecast)."""
        return sum(t.releases_passed for t in self.teams)

    @property
    def clears_week(self) -> int | None:
        """The week the scope clears: the last of its teams' (None if any never does)."""
        if not self.teams:
            return 0
        found = [t.clears_week for t in self.teams]
        return None if any(k is None for k in found) else max(k for k in found if k is not None)

    @property
    def clears_on(self) -> date | None:
        k = self.clears_week
        return None if k is None else week_start(date.fromordinal(self.as_of.toordinal() + 7 * k))

    @property
    def extra_per_week_to_clear_by(self) -> int | None:
        if self.what_if.clear_by is None:
            return None
        found = [t.extra_per_week_to_clear_by for t in self.teams]
        return None if any(n is None for n in found) else sum(n for n in found if n is not None)

    @property
    def capacity_per_week(self) -> float:
        return sum(t.capacity_per_week for t in self.teams)

    @property
    def due_per_week(self) -> float:
        return sum(t.due_per_week for t in self.teams)

    def capacity_sources(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.teams:
            for source, n in t.capacity_sources.items():
                out[source] = out.get(source, 0) + n
        return dict(sorted(out.items()))

    def words(self) -> list[str]:
        """The forecast in sentences, for every format (and later the digests and pages)."""
        series = self.series
        overdue = whole(series[0].overdue) if series else 0
        what = self.what_if
        sources = self.capacity_sources()
        if what.extra_per_week or what.officers_away:
            changes = []
            if what.extra_per_week:
                changes.append(f"{plural(what.extra_per_week, 'more visit')} a week")
            if what.officers_away:
                changes.append(", ".join(sorted(what.officers_away)) + " away")
            pace = "With " + " and ".join(changes)
        elif sources and set(sources) == {"observed"}:
            pace = "At the last 12 weeks' pace"
        else:
            pace = "At current capacity"
        k = self.clears_week
        lines = []
        if k == 0 and overdue == 0:
            lines.append(f"Nothing is overdue, and this week's visits fit the capacity ({pace.lower()}).")
        elif k is None:
            lines.append(
                f"{plural(overdue, 'visit')} overdue now. Not at current capacity: "
                f"{pace[0].lower() + pace[1:]} the overdue visits do not clear within a year."
            )
        else:
            assert self.clears_on is not None
            line = (
                f"{plural(overdue, 'visit')} overdue now. {pace} the overdue visits clear {weeks_words(k)}, "
                f"w/c {date_words(self.clears_on)}"
            )
            again = next((w for w in series[k + 1 :] if not w.fits), None)
            if again is not None:
                line += f", but visits wait for capacity again from w/c {date_words(week_start(again.on))}"
            lines.append(line + ".")
        if what.clear_by is not None:
            needed = self.extra_per_week_to_clear_by
            by = date_words(what.clear_by)
            if needed is None:
                lines.append(f"No number of extra visits clears them by {by}: that week has begun or passed.")
            elif needed == 0:
                lines.append(f"They clear by {by} without extra visits.")
            else:
                lines.append(f"{plural(needed, 'more visit')} a week would clear them by {by}.")
        back = self.returning_from_custody
        if back:
            lines.append(
                f"{plural(back, 'person', 'people')} expected back from custody in the {plural(self.weeks, 'week')} "
                "shown, each owing a first home visit (counted in the weeks' visits due)."
            )
        if self.releases_passed:
            lines.append(
                f"{plural(self.releases_passed, 'person', 'people')} still in custody after their expected release "
                "date: not forecast until the register says they are back."
            )
        if self.backtest is not None:
            lines.append(self.backtest.words())
        return lines

    def to_json(self) -> dict[str, Any]:
        what = self.what_if
        return {
            "as_of": self.as_of.isoformat(),
            "scope": self.scope,
            "capacity_per_week": round(self.capacity_per_week, 1),
            "capacity_sources": self.capacity_sources(),
            "success_rate": round(self.success_rate, 3),
            "success_rate_source": self.success_rate_source,
            "due_per_week": round(self.due_per_week, 1),
            "growth_per_year": round(self.growth_per_year, 4),
            "growth_source": self.growth_source,
            "weeks": [_week_json(w) for w in self.series],
            "clears_on": self.clears_on.isoformat() if self.clears_on else None,
            "clears_in_weeks": self.clears_week,
            "returning_from_custody": self.returning_from_custody,
            "releases_passed": self.releases_passed,
            "clear_by": what.clear_by.isoformat() if what.clear_by else None,
            "extra_per_week_to_clear_by": self.extra_per_week_to_clear_by,
            "what_if": {
                "extra_per_week": what.extra_per_week,
                "officers_away": {o: w for o, w in sorted(what.officers_away.items())},
            },
            "teams": [t.to_json() for t in self.teams],
            "backtest": self.backtest.to_json() if self.backtest is not None else None,
            "words": self.words(),
            "advice": ADVICE,
        }

    def rows(self) -> list[dict[str, Any]]:
        """One row per week of the scope: CSV and tables."""
        out = []
        for w in self.series:
            parts = whole_parts(w.overdue_by_risk)
            out.append(
                {
                    "week_start": week_start(w.on),
                    "on": w.on,
                    "overdue": whole(w.overdue),
                    **parts,
                    "due": round(w.due, 1),
                    "capacity": round(w.capacity, 1),
                    "attempted": round(w.attempted, 1),
                    "completed": round(w.completed, 1),
                    "fits": w.fits,
                    "returning": w.returning,
                }
            )
        return out

    def team_rows(self) -> list[dict[str, Any]]:
        """One row per team: its own answers (the force digest's and force page's lines)."""
        return [t.to_json() for t in self.teams]


def _week_json(w: Week) -> dict[str, Any]:
    return {
        "week_start": week_start(w.on).isoformat(),
        "on": w.on.isoformat(),
        "overdue": whole(w.overdue),
        "overdue_by_risk": whole_parts(w.overdue_by_risk),
        "due": round(w.due, 1),
        "capacity": round(w.capacity, 1),
        "attempted": round(w.attempted, 1),
        "completed": round(w.completed, 1),
        "fits": w.fits,
        "returning": w.returning,
    }
