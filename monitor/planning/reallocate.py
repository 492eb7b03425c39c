"""Reallocation suggestions within a team: cases that did not fit, to colleagues with room.

When one officer's visits this week exceed their capacity and a colleague in the same team
has room, the supervisor may move cases. The suggestion:

* moves only cases that did not fit (a case its own officer can visit is never moved),
  each at most once, so the number of moves is the least that places as many cases as
  the team's room allows: one per case placed;
* takes the did-not-fit cases in the team's order of urgency (risk, then due date, then
  reference), so the most urgent are placed first;
* gives each to the colleague with the most room left (ties: the lower officer id), which
  spreads the extra work rather than loading one person.

Teams never lend to each other, and an officer marked inactive has no room. Advice only:
the supervisor decides.
"""

from __future__ import annotations

from collections import defaultdict

from monitor.planning.plan_results import OfficerPlan, PlanItem, Reallocation
from monitor.planning.words import plural


def suggest(officers: list[OfficerPlan]) -> list[Reallocation]:
    """Suggested moves for every team among ``officers`` (see the module docstring)."""
    teams: dict[str, list[OfficerPlan]] = defaultdict(list)
    for officer in officers:
        teams[officer.team].append(officer)
    out: list[Reallocation] = []
    for team in sorted(teams):
        out.extend(_team(team, teams[team]))
    return out


def _team(team: str, officers: list[OfficerPlan]) -> list[Reallocation]:
    over: list[tuple[PlanItem, OfficerPlan]] = [(item, o) for o in officers for item in o.did_not_fit]
    room = {o.officer_id: o.room for o in officers if o.room > 0 and o.capacity_source != "inactive"}
    if not over or not room:
        return []
    over.sort(key=lambda pair: pair[0].sort_key)
    moves: list[Reallocation] = []
    for item, source in over:
        if not room:
            break
        to = min(room, key=lambda officer_id: (-room[officer_id], officer_id))
        why = (
            f"{source.officer_id} has {plural(source.shortfall, 'visit')} more than capacity this week; "
            f"{to} has room for {room[to]}"
        )
        moves.append(
            Reallocation(item.ref, item.risk_level, team, source.officer_id, to, item.due_date, item.days_overdue, why)
        )
        room[to] -= 1
        if room[to] == 0:
            del room[to]
    return moves
