"""The plan and forecast as the digests and web pages show them: a team's part, and its words.

Why here: the digests (monitor.digests.planned) and the web pages (monitor.web.planning)
show the same things (an officer's week, a team's plan, a team's forecast line) and must
say them in the same words. Both sit above the reports, so the shared pieces live here.
Nothing is computed anew: a team's part of a force-wide plan or forecast is cut from it
(teams never lend capacity to each other, so the force's plan of a team's officers is the
team's own plan, and the force's forecast of a team is the team's forecast).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta

from monitor.planning.forecast_results import Backtest, ForecastResult, TeamForecast
from monitor.planning.plan_results import Plan
from monitor.planning.weeks import week_start
from monitor.planning.words import ADVICE, date_words, plural, weeks_words
from monitor.reports.formats import CAPACITY_SOURCE_WORDS

SOURCE_WORDS = CAPACITY_SOURCE_WORDS

#: The short form of the line every page and digest with a plan or forecast carries.
ADVICE_SHORT = "Advice only: a person decides."

__all__ = ["ADVICE", "ADVICE_SHORT", "SOURCE_WORDS", "ForecastLine", "clear_by_date", "split_plan"]


def clear_by_date(as_of: date, weeks: int) -> date:
    """The Monday ``weeks`` weeks after the Monday of ``as_of``'s week (``[plan] clear_within_weeks``)."""
    return week_start(as_of) + timedelta(days=7 * weeks)


def split_plan(plan: Plan) -> dict[str, Plan]:
    """A force-wide plan cut into each team's plan (officers and reallocations), in one pass."""
    officers = defaultdict(list)
    moves = defaultdict(list)
    for officer in plan.officers:
        officers[officer.team].append(officer)
    for move in plan.reallocations:
        moves[move.team].append(move)
    return {team: Plan(plan.as_of, rows, moves.get(team, []), team=team) for team, rows in officers.items()}


def team_result(result: ForecastResult, team: TeamForecast) -> ForecastResult:
    """One team's forecast cut from a force-wide one (its own words; no backtest)."""
    return replace(result, team=team.team, teams=[team], success_rate=team.success_rate, backtest=None)


def backtest_words(backtest: Backtest | None, scope: str = "") -> str | None:
    """The backtest's sentence, said of ``scope`` ("force-wide") when it is not the reader's own."""
    if backtest is None or not backtest.later:
        return None
    words = backtest.words()
    return f"{scope}, {words[0].lower()}{words[1:]}" if scope else words


@dataclass(frozen=True)
class ForecastLine:
    """One team's forecast in a line: the force digest's and force page's row."""

    team: str
    overdue: int
    capacity_per_week: float
    due_per_week: float
    clears_on: date | None
    clears_in_weeks: int | None
    clear_by: date | None
    extra_to_clear_by: int | None
    #: The forecast's sentences for this team (the same as ``forecast --team``'s).
    words: tuple[str, ...]

    @property
    def clears_words(self) -> str:
        """ "in 9 weeks, w/c 1 Feb 2027", "this week", or "not at current capacity"."""
        if self.clears_in_weeks is None or self.clears_on is None:
            return "not at current capacity"
        if self.clears_in_weeks == 0 and self.overdue == 0:
            return "nothing overdue"
        return f"{weeks_words(self.clears_in_weeks)}, w/c {date_words(self.clears_on)}"

    @property
    def extra_words(self) -> str:
        """ "6 more a week", "none needed", or "-" (the date has passed or none was asked)."""
        if self.clear_by is None or self.extra_to_clear_by is None:
            return "-"
        if self.extra_to_clear_by == 0:
            return "none needed"
        return f"{plural(self.extra_to_clear_by, 'more visit')} a week"

    @classmethod
    def of(cls, result: ForecastResult, team: TeamForecast) -> ForecastLine:
        return cls(
            team=team.team,
            overdue=team.overdue_now,
            capacity_per_week=round(team.capacity_per_week, 1),
            due_per_week=round(team.due_per_week, 1),
            clears_on=team.clears_on,
            clears_in_weeks=team.clears_week,
            clear_by=result.what_if.clear_by,
            extra_to_clear_by=team.extra_per_week_to_clear_by,
            words=tuple(team_result(result, team).words()),
        )


def forecast_lines(result: ForecastResult) -> list[ForecastLine]:
    """Every team's line, slowest to clear first (not at current capacity first), then by team."""
    lines = [ForecastLine.of(result, t) for t in result.teams]
    never = 10**6
    return sorted(
        lines,
        key=lambda line: (-(never if line.clears_in_weeks is None else line.clears_in_weeks), -line.overdue, line.team),
    )
