"""How many home visits each officer can lead: in a normal week, and in a given week.

Every figure says where it came from (``source``), because a supervisor who is told an
officer can do 6 visits a week must be able to ask "says who?":

* ``register``: the officer's ``visits_per_week`` in officers.csv;
* ``observed``: otherwise their own pace, the home visits they led (completed or no
  access) to people of their team in the 12 weeks before the as-of date, per week they
  were available (weeks away do not dilute it);
* ``default``: neither (a new officer, or a register that does not record who led a
  visit): ``[plan] default_visits_per_week``;
* ``inactive``: the directory marks them inactive, so nothing is planned for them and
  their cases are for the team to move.

Time away (absences.csv) then takes its share of the working days of a particular week
(:func:`monitor.planning.weeks.share_away`). It is only ever "unavailable": the register
holds no reason and none is ever shown.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from operator import attrgetter

from monitor.planning.facts import Case, Facts, OfficerFacts
from monitor.planning.weeks import share_away, weeks_away

#: The weeks of visits an officer's observed pace is measured over.
PACE_WEEKS = 12
SOURCES: tuple[str, ...] = ("register", "observed", "default", "inactive")


@dataclass(frozen=True)
class Capacity:
    """One officer's capacity: ``per_week`` in a normal week, from ``source``."""

    officer_id: str
    team: str
    per_week: float
    source: str
    #: Their absences as (starts_on, ends_on, fraction).
    away: tuple[tuple[date, date, float], ...] = ()

    def unavailable(self, first: date, last: date) -> float:
        """The share (0 to 1) of the working days from ``first`` to ``last`` they are away."""
        return share_away(self.away, first, last) if self.away else 0.0

    def available(self, first: date, last: date) -> float:
        """Home visits they can lead from ``first`` to ``last`` (a week), less time away."""
        return self.per_week * (1.0 - self.unavailable(first, last))


def officer_teams(officers: Mapping[str, OfficerFacts], cases: Iterable[Case]) -> dict[str, str]:
    """Each officer's team: the directory's, else the team most of their cases are in (ties:
    the first code)."""
    return teams_from_pairs(officers, Counter(map(_OFFICER_TEAM, cases)))  # counted in C


def teams_from_pairs(officers: Mapping[str, OfficerFacts], pairs: Mapping[tuple[str, str], int]) -> dict[str, str]:
    """:func:`officer_teams` from the people counted by (officer, team)."""
    best: dict[str, tuple[int, str]] = {}
    for (manager, team), n in pairs.items():
        found = best.get(manager)
        if found is None or (-n, team) < (-found[0], found[1]):
            best[manager] = (n, team)
    teams = {manager: team for manager, (_n, team) in best.items()}
    for officer_id, officer in officers.items():
        if officer.team is not None:
            teams[officer_id] = officer.team
    return teams


_OFFICER_TEAM = attrgetter("officer", "team")


def in_scope(facts: Facts, teams: dict[str, str]) -> list[str]:
    """The officers a plan or forecast of ``facts``' scope covers, sorted.

    Whoever manages someone in scope, and every active offender manager of a team in scope
    (an officer with room and no case due is just who a reallocation needs).
    """
    officers = {case.officer for case in facts.cases} | facts.managers
    if facts.officer is not None:
        officers.add(facts.officer)
    for officer_id, officer in facts.officers.items():
        wanted = facts.officer is None and (facts.team is None or officer.team == facts.team)
        if wanted and officer.active and officer.role == "offender_manager":
            officers.add(officer_id)
    return sorted(o for o in officers if o in teams)


def capacities(facts: Facts, default_per_week: float) -> dict[str, Capacity]:
    """Every officer in scope's capacity (see the module docstring), by officer id."""
    teams = facts.homes or officer_teams(facts.officers, facts.cases)
    away: dict[str, list[tuple[date, date, float]]] = defaultdict(list)
    for absence in facts.absences:
        away[absence.officer_id].append((absence.starts_on, absence.ends_on, absence.fraction))
    first = facts.as_of - timedelta(days=7 * PACE_WEEKS - 1)
    out: dict[str, Capacity] = {}
    for officer_id in in_scope(facts, teams):
        officer = facts.officers.get(officer_id)
        spans = tuple(sorted(away.get(officer_id, ())))
        if officer is not None and not officer.active:
            per_week, source = 0.0, "inactive"
        elif officer is not None and officer.visits_per_week is not None:
            per_week, source = float(officer.visits_per_week), "register"
        elif officer is not None and officer.attempts > 0:
            available = PACE_WEEKS - weeks_away(spans, first, facts.as_of)
            per_week, source = officer.attempts / max(1.0, available), "observed"
        else:
            per_week, source = default_per_week, "default"
        out[officer_id] = Capacity(officer_id, teams[officer_id], per_week, source, spans)
    return out


def by_team(capacity: Iterable[Capacity]) -> dict[str, list[Capacity]]:
    """Capacities grouped by team, each list in officer order."""
    out: dict[str, list[Capacity]] = defaultdict(list)
    for c in sorted(capacity, key=lambda c: (c.team, c.officer_id)):
        out[c.team].append(c)
    return dict(out)
