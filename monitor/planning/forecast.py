"""The forecast: when does the backlog clear at the present pace, and what would clear it by a date.

Per team (teams do not lend capacity to each other; within a team the model assumes the
supervisor moves work to whoever has room, as the plan's reallocations suggest) and for
the force as the sum of its teams. The model itself is :mod:`monitor.planning.model`;
this module gives it each team's inputs, runs it, and answers the questions:

* **capacity**: each officer's visits a week (:mod:`monitor.planning.capacity`) less the
  share of each week's working days they are known to be away, plus any what-if;
* **success rate**: completed / (completed + no access) home visits of the team's people
  in the 26 weeks before the as-of date (the force's when the team has none; 1 when
  nobody has any);
* **demand**: each person's next due date and their own interval after that (their risk
  management plan's, else their risk level's); people in custody expected back on a known
  date (``expected_release``), each owing a first visit within the window; growth at ``growth_per_year`` (default: the
  register's own, new registrations less people who left over the last 3 years, a year,
  per person in the caseload), as new people each owing a first visit;
* **clears_on**: the Monday of the first week that fits (searched up to a year ahead);
  None is "not at current capacity";
* **extra_per_week_to_clear_by**: the least whole number of extra visits a week, every
  week, with which the model clears on or before the date asked; the answer is checked
  by running the model with it, so it does clear by that date in the forecast's own terms.

Deterministic: the same facts, settings and what-ifs give the same forecast.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from math import ceil
from operator import attrgetter
from typing import Any

from monitor.core.durations import Duration
from monitor.core.gcpause import paused_gc
from monitor.planning.capacity import Capacity, by_team, capacities
from monitor.planning.facts import Facts
from monitor.planning.forecast_results import ForecastResult, TeamForecast, WhatIf
from monitor.planning.model import Group, TeamModel, clearing_week
from monitor.planning.weeks import week_start
from monitor.rules.obligations import RISK_ORDER

_TEAM = attrgetter("team")
#: How far ahead the clearing week is looked for (beyond it: "not at current capacity").
CLEAR_SEARCH_WEEKS = 52
#: Weeks a run may need (the search, and a little beyond it for the facts' absences).
RUN_WEEKS = CLEAR_SEARCH_WEEKS + 1
#: The window new registrations are measured over, in years.
GROWTH_YEARS = 3
DAYS_PER_YEAR = 365.2425
#: The status whose ``expected_release`` the forecast reads (on anyone else it is ignored).
RETURNING_STATUS = "custody"


def growth_rate(facts: Facts, configured: float | None) -> tuple[float, str]:
    """Growth of the caseload a year, as a share of it, and where the figure came from.

    The register's own: people registered in the 3 years before the as-of date, less those
    who left in them (died, deregistered, or their registration ended), a year, per person
    in the caseload; never below 0 (the model adds people, it does not take them away).
    """
    if configured is not None:
        return configured, "config"
    if facts.caseload <= 0:
        return 0.0, "register"
    return max(0.0, (facts.registrations - facts.leavers) / GROWTH_YEARS / facts.caseload), "register"


def success_rates(facts: Facts) -> tuple[dict[str, float], float, str]:
    """Per team rate, the force's rate, and where the force's came from ("register" or "none")."""
    completed = sum(c for c, _ in facts.outcomes.values())
    failed = sum(n for _, n in facts.outcomes.values())
    force = completed / (completed + failed) if completed + failed else 1.0
    teams = {team: c / (c + n) for team, (c, n) in facts.outcomes.items() if c + n}
    return teams, force, "register" if completed + failed else "none"


def mean_days(interval: Duration) -> float:
    """An interval's length in days on average (a month is 30.44 days)."""
    return interval.months * DAYS_PER_YEAR / 12 + interval.days


@dataclass
class TeamStart:
    """One team's starting state for the model, and the figures the forecast reports with it."""

    model: TeamModel
    #: People in scope (any status), for new registrations.
    caseload: int = 0
    #: Visits a week the caseload's own intervals ask for.
    due_per_week: float = 0.0
    #: Overdue today.
    overdue: int = 0
    #: People in custody whose expected release is already past (not forecast).
    releases_passed: int = 0


def team_starts(facts: Facts, growth: float, rates: dict[str, float], force_rate: float) -> dict[str, TeamStart]:
    """Each team's starting state (see the model's docstring), with returns and growth added.

    One pass over the people, counting per (team, risk level, interval): a national register
    is 100,000 of them.
    """
    as_of = facts.as_of
    today = as_of.toordinal()
    last = today + 7 * RUN_WEEKS
    window = facts.first_visit_within
    # (team, risk, interval's months and days) -> [overdue now, in the group, {week: falling
    # due}, interval]: keyed by plain values, hashed in C (a Duration hashes in Python).
    cells: dict[tuple[str, str, int, int], list[Any]] = {}
    caseload: Counter[str] = Counter(map(_TEAM, facts.cases))  # counted in C
    returns: list[tuple[str, Group, date]] = []
    passed: Counter[str] = Counter()
    for case in facts.cases:
        due = case.due
        if due is not None and case.status == "community":
            team = case.team
            interval = case.interval
            key = (team, case.risk_level, interval.months, interval.days)
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = [0, 0, {}, interval]
            cell[1] += 1
            day = due.toordinal()
            if day < today:
                cell[0] += 1
            elif day < last:
                weeks_ = cell[2]
                week = (day - today) // 7
                weeks_[week] = weeks_.get(week, 0) + 1
        elif case.status == RETURNING_STATUS and case.expected_release is not None:
            team = case.team
            if case.expected_release < as_of:
                passed[team] += 1  # not back yet: they owe nothing until they are
            elif case.expected_release.toordinal() < last:
                returns.append((team, Group(case.risk_level, case.interval), case.expected_release))
    starts = {
        team: TeamStart(
            TeamModel(as_of, rates.get(team, force_rate), window=window), caseload=n, releases_passed=passed[team]
        )
        for team, n in caseload.items()
    }
    per_week = growth * 7 / DAYS_PER_YEAR
    population: Counter[str] = Counter()
    for (team, *_rest), cell in cells.items():
        population[team] += cell[1]
    for (team, risk, *_rest), (overdue, people, falling, interval) in sorted(
        cells.items(), key=lambda kv: (kv[0][0], RISK_ORDER[kv[0][1]], kv[0][2], kv[0][3])
    ):
        start = starts[team]
        group = Group(risk, interval)
        model = start.model
        index = model.group(group)
        model.over[index] += overdue
        model.due[index].update((week, float(n)) for week, n in falling.items())
        start.overdue += overdue
        start.due_per_week += people * 7 / mean_days(interval)
        if per_week > 0:
            new = per_week * start.caseload * people / population[team]
            start.due_per_week += new
            model.add_arrivals(group, new)
    for team, group, back in returns:
        starts[team].model.add_return(group, back)
    return starts


def team_capacity(
    caps: list[Capacity], as_of: date, weeks: int, extra: float, away: dict[str, int | None]
) -> list[float]:
    """The team's capacity in each of ``weeks`` weeks: less time away, less officers away, plus extra."""
    steady = extra + sum(c.per_week for c in caps if not c.away and c.officer_id not in away)
    varying = [c for c in caps if c.away or c.officer_id in away]
    if not varying:
        return [steady] * weeks
    out = []
    for k in range(weeks):
        first = as_of + timedelta(days=7 * k)
        last = first + timedelta(days=6)
        total = steady
        for cap in varying:
            if cap.officer_id in away:
                gone = away[cap.officer_id]
                if gone is None or k < gone:
                    continue
            total += cap.available(first, last)
        out.append(total)
    return out


def extra_to_clear_by(model: TeamModel, caps: list[Capacity], what: WhatIf, by: date, base_extra: float) -> int | None:
    """The least whole number of extra visits a week with which the model clears by ``by``.

    None when ``by`` is before this week. Found by bisection and always checked: the
    number returned is one with which the model's run does clear by ``by``.
    """
    as_of = model.as_of
    if by < week_start(as_of):
        return None
    latest = (by - week_start(as_of)).days // 7  # the last week whose Monday is on or before ``by``
    until = latest + 1

    def clears(extra: int) -> bool:
        capacity = team_capacity(caps, as_of, until, base_extra + extra, what.officers_away)
        found = clearing_week(model.run(capacity, until=until, stop_after=0))
        return found is not None and found <= latest

    if clears(0):
        return 0
    # Enough to attempt every week's whole pool, whatever it holds: the visits overdue and
    # due in the whole run, at once. Doubled until it clears, should that ever not be so.
    first = model.run(team_capacity(caps, as_of, until, base_extra, what.officers_away), until=until)
    high = max(1, ceil(first[0].overdue + sum(w.due for w in first) + 1))
    while not clears(high):
        high *= 2
    low = 0  # clears(low) is False, clears(high) is True
    while high - low > 1:
        middle = (low + high) // 2
        if clears(middle):
            high = middle
        else:
            low = middle
    return high


@paused_gc()  # thousands of weeks, none of them cyclic (see core.gcpause)
def forecast(
    facts: Facts, default_per_week: float, growth_per_year: float | None, weeks: int, what: WhatIf
) -> ForecastResult:
    """The forecast for ``facts``' scope (see the module docstring)."""
    caps = capacities(facts, default_per_week)
    growth, growth_source = growth_rate(facts, growth_per_year)
    rates, force_rate, rate_source = success_rates(facts)
    starts = team_starts(facts, growth, rates, force_rate)
    teams_caps = by_team(caps.values())
    names = sorted(set(starts) | set(teams_caps))
    if facts.team is not None:
        names = [t for t in names if t == facts.team]
    extras = share_extra(what.extra_per_week, {t: float(starts[t].overdue) if t in starts else 0.0 for t in names})
    until = max(weeks, RUN_WEEKS)
    teams: list[TeamForecast] = []
    for team in names:
        start = starts.get(team) or TeamStart(
            TeamModel(facts.as_of, rates.get(team, force_rate), window=facts.first_visit_within)
        )
        team_caps = teams_caps.get(team, [])
        extra = extras.get(team, 0)
        capacity = team_capacity(team_caps, facts.as_of, until, extra, what.officers_away)
        run = start.model.run(capacity, until=until, stop_after=weeks)
        index = clearing_week(run)
        if index is not None and index >= CLEAR_SEARCH_WEEKS:
            index = None
        needed = None
        if what.clear_by is not None:
            needed = extra_to_clear_by(start.model, team_caps, what, what.clear_by, extra)
        teams.append(
            TeamForecast(
                team=team,
                weeks=run[:weeks],
                capacity_per_week=sum(c.per_week for c in team_caps if c.officer_id not in what.officers_away) + extra,
                capacity_sources=dict(Counter(c.source for c in team_caps)),
                success_rate=start.model.success_rate,
                due_per_week=start.due_per_week,
                clears_week=index,
                clears_on=week_start(run[index].on) if index is not None else None,
                extra_per_week=extra,
                extra_per_week_to_clear_by=needed,
                releases_passed=start.releases_passed,
            )
        )
    return ForecastResult(
        as_of=facts.as_of,
        team=facts.team,
        teams=teams,
        weeks=weeks,
        success_rate=teams[0].success_rate if facts.team is not None and teams else force_rate,
        success_rate_source=rate_source,
        growth_per_year=growth,
        growth_source=growth_source,
        what_if=what,
    )


def share_extra(extra: int, overdue: dict[str, float]) -> dict[str, int]:
    """Extra visits a week shared among teams in proportion to what each has overdue now
    (largest remainder, whole visits; evenly when nothing is overdue)."""
    if extra <= 0 or not overdue:
        return {}
    total = sum(overdue.values())
    weights = overdue if total > 0 else dict.fromkeys(overdue, 1.0)
    total = sum(weights.values())
    quotas = {t: extra * w / total for t, w in weights.items()}
    shares = {t: int(q) for t, q in quotas.items()}
    left = extra - sum(shares.values())
    for t in sorted(quotas, key=lambda t: (-(quotas[t] - shares[t]), t))[:left]:
        shares[t] += 1
    return shares
