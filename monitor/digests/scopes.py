"""The scopes a digest run groups one force-wide scan by: all, officer, team, team and officer.

Why a module of its own: the builder (``build``) asks for "the overdue visits of team T" or
"the caseload of officer O in team T" thousands of times in a national run, so every list
of the scan and the caseload are grouped once, up front, under these keys. The keys' shape
is defined here, next to the grouping, so the lists and the caseload can never be keyed
differently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.rules.obligations import Item, Unlocated

#: () = whole force, ("om", officer id), ("team", team code), ("team_om", team code, officer id)
Scope = tuple[str, ...]


def scopes_of(team: str, om: str) -> tuple[Scope, ...]:
    """Every scope a case of offender manager ``om`` in team ``team`` counts in."""
    return ((), ("om", om), ("team", team), ("team_om", team, om))


def group(items: Sequence[Item | Unlocated]) -> dict[Scope, list[Any]]:
    """``items`` by scope (the keys of :func:`scopes_of`); contract order kept in each.

    One pass with a dictionary per kind of scope, not :func:`scopes_of` per item: a national
    scan holds 140,000 items.
    """
    by_om: dict[str, list[Any]] = {}
    by_team: dict[str, list[Any]] = {}
    by_pair: dict[tuple[str, str], list[Any]] = {}
    for x in items:
        om, team = x.offender_manager, x.team
        by_om.setdefault(om, []).append(x)
        by_team.setdefault(team, []).append(x)
        by_pair.setdefault((team, om), []).append(x)
    grouped: dict[Scope, list[Any]] = {(): list(items)} if items else {}
    grouped.update((("om", om), found) for om, found in by_om.items())
    grouped.update((("team", team), found) for team, found in by_team.items())
    grouped.update((("team_om", team, om), found) for (team, om), found in by_pair.items())
    return grouped
