"""The week's plan, on facts built by hand: the rules it promises, held by hypothesis and by brute force.

Capacity is never exceeded; no lower-risk case is planned while a higher-risk candidate of
the same officer is left out; planned and did-not-fit together are exactly the officer's
overdue and due-this-week visits (nothing overdue disappears); nobody away is planned; the
plan's worst lateness is the least any plan of its size can have; the same facts in any
order give the same plan. Reallocations move only cases that did not fit, within a team, to
room that exists.
"""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_builders import case, facts, officer

from monitor.planning.capacity import capacities
from monitor.planning.facts import Absence, Case
from monitor.planning.plan import make_plan, week_capacity
from monitor.planning.weeks import week_end, week_start
from monitor.rules.obligations import RISK_ORDER

AS_OF = date(2026, 12, 7)  # a Monday
RISKS = list(RISK_ORDER)
STATUSES = ("community", "community", "community", "custody", "hospital", "abroad", "missing")


@st.composite
def plans(draw: st.DrawFn) -> tuple[date, list[Case], dict[str, int]]:
    """An as-of date, cases of a few officers in two teams, and each officer's stated capacity."""
    as_of = AS_OF + timedelta(days=draw(st.integers(0, 6)))
    officers = {f"OM-{n}": draw(st.integers(0, 6)) for n in range(1, draw(st.integers(1, 5)) + 1)}
    cases = []
    for n in range(draw(st.integers(0, 40))):
        who = draw(st.sampled_from(sorted(officers)))
        status = draw(st.sampled_from(STATUSES))
        due = as_of + timedelta(days=draw(st.integers(-300, 20)))
        cases.append(
            case(
                f"RSO-{n:06d}",
                due if status == "community" or draw(st.booleans()) else None,
                risk=draw(st.sampled_from(RISKS)),
                officer=who,
                team="T1" if int(who[3:]) % 2 else "T2",
                status=status,
                failed=draw(st.integers(0, 3)),
            )
        )
    return as_of, cases, officers


def _plan(as_of: date, cases: list[Case], capacity: dict[str, int]):  # type: ignore[no-untyped-def]
    team_of = {o: "T1" if int(o[3:]) % 2 else "T2" for o in capacity}
    officers = [officer(o, team=team_of[o], per_week=n) for o, n in capacity.items()]
    return make_plan(facts(as_of, cases, officers), default_per_week=3)


@settings(max_examples=150, deadline=None)
@given(plans())
def test_the_plan_keeps_its_promises(drawn: tuple[date, list[Case], dict[str, int]]) -> None:
    as_of, cases, capacity = drawn
    plan = _plan(as_of, cases, capacity)
    last = week_end(as_of)
    assert plan.week_start == week_start(as_of) and plan.week_start.weekday() == 0
    for o in plan.officers:
        # Capacity: never more than the week allows.
        assert len(o.planned) <= o.capacity == capacity[o.officer_id]
        assert len(o.planned) == min(o.capacity, len(o.planned) + len(o.did_not_fit))
        # Nothing overdue (or due this week) disappears, and nothing else comes in.
        wanted = {
            c.ref for c in cases if c.officer == o.officer_id and c.status == "community" and c.due and c.due <= last
        }
        shown = [i.ref for i in (*o.planned, *o.did_not_fit)]
        assert sorted(shown) == sorted(wanted)
        # The priority rule: every planned case comes before every case left out.
        for p in o.planned:
            for d in o.did_not_fit:
                assert (RISK_ORDER[p.risk_level], p.due_date) <= (RISK_ORDER[d.risk_level], d.due_date)
    # Nobody away or missing is ever planned.
    away = {c.ref for c in cases if c.status != "community"}
    assert not away & {i.ref for o in plan.officers for i in (*o.planned, *o.did_not_fit)}
    # Reallocations: did-not-fit cases only, in their team, within the room there is.
    room = {o.officer_id: o.room for o in plan.officers}
    team = {o.officer_id: o.team for o in plan.officers}
    left_out = {i.ref: o.officer_id for o in plan.officers for i in o.did_not_fit}
    moved = [r.ref for r in plan.reallocations]
    assert len(moved) == len(set(moved))
    for r in plan.reallocations:
        assert left_out[r.ref] == r.from_officer and team[r.to_officer] == team[r.from_officer] == r.team
        room[r.to_officer] -= 1
    assert all(n >= 0 for n in room.values())
    for t in {o.team for o in plan.officers}:
        over = sum(o.shortfall for o in plan.officers if o.team == t)
        spare = sum(o.room for o in plan.officers if o.team == t)
        assert sum(1 for r in plan.reallocations if r.team == t) == min(over, spare)


@settings(max_examples=60, deadline=None)
@given(plans(), st.randoms(use_true_random=False))
def test_the_same_facts_in_any_order_give_the_same_plan(
    drawn: tuple[date, list[Case], dict[str, int]], rnd: random.Random
) -> None:
    as_of, cases, capacity = drawn
    shuffled = list(cases)
    rnd.shuffle(shuffled)
    assert _plan(as_of, cases, capacity).to_json() == _plan(as_of, shuffled, dict(reversed(capacity.items()))).to_json()


def _lateness(left_out: list[Case], last: date) -> int:
    """The worst lateness of a plan: days overdue at the week's end of a case it leaves out."""
    return max(((last - c.due).days for c in left_out if c.due is not None), default=0)


def _respects_priority(planned: set[str], wanted: list[Case]) -> bool:
    kept = [c for c in wanted if c.ref in planned]
    dropped = [c for c in wanted if c.ref not in planned]
    return all(RISK_ORDER[k.risk_level] <= RISK_ORDER[d.risk_level] for k in kept for d in dropped)


@settings(max_examples=120, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(RISKS), st.integers(-6, 200)), min_size=1, max_size=8),
    st.integers(0, 5),
)
def test_the_plan_s_worst_lateness_is_the_least_possible(cases: list[tuple[str, int]], capacity: int) -> None:
    """Brute force: among every plan of the same size that respects the risk order, none
    leaves a less late case out than the plan does."""
    wanted = [case(f"RSO-{n:06d}", AS_OF - timedelta(days=d), risk=r) for n, (r, d) in enumerate(cases)]
    plan = _plan(AS_OF, wanted, {"OM-1": capacity})
    [o] = plan.officers
    size = len(o.planned)
    last = week_end(AS_OF)
    ours = _lateness([c for c in wanted if c.ref not in {i.ref for i in o.planned}], last)
    best = min(
        _lateness([c for c in wanted if c.ref not in chosen], last)
        for chosen in (set(p) for p in itertools.combinations([c.ref for c in wanted], size))
        if _respects_priority(chosen, wanted)
    )
    assert ours == best


def test_reasons_are_words() -> None:
    as_of = date(2026, 12, 7)  # Monday
    cases = [
        case("RSO-000001", as_of - timedelta(days=12), risk="very_high"),
        case("RSO-000002", date(2026, 12, 10), risk="high", failed=2),
        case("RSO-000003", as_of, risk="medium", last_visit=None),
        case("RSO-000004", as_of - timedelta(days=1), risk="low", failed=1),
    ]
    plan = _plan(as_of, cases, {"OM-1": 4})
    reasons = {i.ref: i.reason for i in plan.officers[0].planned}
    assert reasons == {
        "RSO-000001": "very high; 12 days overdue",
        "RSO-000002": "high; due Thu 10 Dec; 2 failed attempts: consider a s.96B warrant",
        "RSO-000003": "medium; due today; first visit",
        "RSO-000004": "low; 1 day overdue; 1 failed attempt",
    }
    assert "advice only" in plan.to_json()["advice"].lower() and "a person decides" in plan.to_json()["advice"]


def test_capacity_says_where_it_came_from() -> None:
    as_of = AS_OF
    officers = [
        officer("OM-1", per_week=6),  # stated in officers.csv
        officer("OM-2", attempts=24),  # 24 visits led in 12 weeks: 2 a week
        officer("OM-3"),  # nothing known: the default
        officer("OM-4", per_week=6, active=False),  # inactive (still holding a case): nothing planned
        officer("OM-5", attempts=24),  # away 4 of the 12 weeks: 24 / 8 = 3 a week
    ]
    away = [Absence("OM-5", as_of - timedelta(days=27), as_of - timedelta(days=0), 1.0)]  # 4 working weeks
    held = [case("RSO-000001", as_of, officer="OM-4")]
    caps = capacities(facts(as_of, held, officers, absences=away), default_per_week=3.5)
    assert {o: (c.source, round(c.per_week, 2)) for o, c in caps.items()} == {
        "OM-1": ("register", 6.0),
        "OM-2": ("observed", 2.0),
        "OM-3": ("default", 3.5),
        "OM-4": ("inactive", 0.0),
        "OM-5": ("observed", 3.0),
    }


def test_time_away_and_visits_already_made_come_off_the_week() -> None:
    monday = AS_OF
    officers = [officer("OM-1", per_week=5, this_week=1)]
    half = [Absence("OM-1", monday + timedelta(days=1), monday + timedelta(days=2), 1.0)]  # Tue, Wed: 2 of 5 days
    caps = capacities(facts(monday + timedelta(days=3), [], officers, absences=half), 3)
    assert caps["OM-1"].unavailable(monday, monday + timedelta(days=6)) == pytest.approx(0.4)
    assert week_capacity(caps["OM-1"], monday + timedelta(days=3), attempted=1) == 2  # 5 * 0.6 = 3, less 1 made
    weekend = [Absence("OM-1", monday + timedelta(days=5), monday + timedelta(days=6), 1.0)]
    caps = capacities(facts(monday, [], officers, absences=weekend), 3)
    assert caps["OM-1"].unavailable(monday, monday + timedelta(days=6)) == 0.0
    plan = make_plan(facts(monday + timedelta(days=3), [], officers, absences=half), 3)
    assert plan.to_json()["officers"][0]["unavailable"] == 0.4
    assert "sick" not in str(plan.to_json()) and "reason" not in plan.to_json()["officers"][0]


def test_an_inactive_officer_s_cases_are_offered_to_colleagues_most_urgent_first() -> None:
    cases = [
        case("RSO-000001", AS_OF - timedelta(days=3), risk="low", officer="OM-1"),
        case("RSO-000002", AS_OF - timedelta(days=40), risk="high", officer="OM-1"),
        case("RSO-000003", AS_OF - timedelta(days=1), risk="very_high", officer="OM-1"),
    ]
    officers = [officer("OM-1", per_week=5, active=False), officer("OM-2", per_week=2), officer("OM-3", per_week=1)]
    plan = make_plan(facts(AS_OF, cases, officers), 3)
    by_id = {o.officer_id: o for o in plan.officers}
    assert by_id["OM-1"].capacity == 0 and by_id["OM-1"].capacity_source == "inactive"
    # Most urgent first, each to whoever has most room (ties: the lower id).
    assert [(r.ref, r.to_officer) for r in plan.reallocations] == [
        ("RSO-000003", "OM-2"),
        ("RSO-000002", "OM-2"),
        ("RSO-000001", "OM-3"),
    ]
    assert plan.reallocations[0].reason == "OM-1 has 3 visits more than capacity this week; OM-2 has room for 2"
    assert plan.summary()["left_over"] == 0
    less_room = [officers[0], officer("OM-2", per_week=1)]
    plan = make_plan(facts(AS_OF, cases, less_room), 3)
    assert [r.ref for r in plan.reallocations] == ["RSO-000003"] and plan.summary()["left_over"] == 2


def test_one_officer_s_plan_has_no_reallocations() -> None:
    cases = [case("RSO-000001", AS_OF - timedelta(days=3), officer="OM-1")]
    officers = [officer("OM-1", per_week=0), officer("OM-2", per_week=5)]
    plan = make_plan(facts(AS_OF, cases, officers, officer_id="OM-1"), 3)
    assert [o.officer_id for o in plan.officers] == ["OM-1"] and plan.reallocations == []
    assert plan.scope == "officer:OM-1"
