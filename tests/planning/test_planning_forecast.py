"""The forecast, held against an independent simulation and against its own promises.

* Against tests/forecast_reference.py (which imports nothing from monitor and simulates
  people one by one with random outcomes): with the same people, capacity, success rate and
  growth, the forecast's clearing week is within 2 weeks (or 15 %) of the simulation's.
* More capacity never clears later; the extra visits it names for ``--clear-by`` do clear
  by that date in its own model, and one fewer does not.
* Week 0 is today's overdue count; people expected back from custody add their first
  visit; an officer away takes their capacity; the same facts in any order give the same
  forecast.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from forecast_reference import Person, Team, add_months, median_clearing_week
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_builders import MONTHS, case, facts, officer

from monitor.planning.facts import Case, Facts
from monitor.planning.forecast import forecast, growth_rate, share_extra, success_rates
from monitor.planning.forecast_results import WhatIf
from monitor.planning.weeks import week_start

AS_OF = date(2026, 11, 23)  # a Monday
RISK_MIX = ("very_high",) * 2 + ("high",) * 18 + ("medium",) * 30 + ("low",) * 50


def _people(rng: random.Random, people: int, backlog: int) -> list[Person]:
    """A team's people: most due within their interval, ``backlog`` of them overdue."""
    out = []
    for n in range(people):
        risk = rng.choice(RISK_MIX)
        months = MONTHS[risk]
        if n < backlog:
            due = AS_OF - timedelta(days=rng.randint(1, 200))
        else:
            due = AS_OF + timedelta(days=rng.randint(0, int(months * 30.4) - 1))
        out.append(Person(f"RSO-{n:06d}", risk, months, due))
    return out


def _facts(people: list[Person], capacity: int, success: float, team: str = "T1") -> Facts:
    cases = [case(p.ref, p.due, risk=p.risk, team=team, months=p.months) for p in people]
    completed = round(success * 1000)
    return facts(
        AS_OF,
        cases,
        [officer("OM-1", team=team, per_week=capacity)],
        outcomes={team: (completed, 1000 - completed)},
        team=team,
    )


def _demand(people: list[Person]) -> float:
    return sum(7 / (p.months * 30.436875) for p in people)


def _scenarios(count: int) -> list[tuple[int, int, int, float, float, float]]:
    """Teams none of these tests was tuned on: (seed, people, backlog, capacity over what
    the caseload asks, success rate, growth), drawn from a fixed seed."""
    rng = random.Random(2026)
    out = []
    for seed in range(count):
        size = rng.randint(100, 600)
        out.append(
            (
                seed,
                size,
                rng.randint(10, size // 3),
                rng.uniform(1.15, 1.8),
                rng.choice([0.7, 0.8, 0.85, 0.9, 1.0]),
                rng.choice([0.0, 0.02, 0.05]),
            )
        )
    return out


@pytest.mark.parametrize(("seed", "size", "backlog", "slack", "success", "growth"), _scenarios(16))
def test_the_clearing_week_agrees_with_a_simulation(
    seed: int, size: int, backlog: int, slack: float, success: float, growth: float
) -> None:
    """Within 2 weeks or 15 % of the median of 41 simulated runs of the same team."""
    rng = random.Random(seed)
    people = _people(rng, size, backlog)
    capacity = max(1, round(_demand(people) * slack / success))
    result = forecast(_facts(people, capacity, success), 3, growth, 26, WhatIf())
    ours = result.clears_week
    simulated = median_clearing_week(Team(AS_OF, people, capacity, success, growth, weeks_run=60), range(41))
    assert simulated is not None and ours is not None, (ours, simulated)
    assert abs(ours - simulated) <= max(2, 0.15 * simulated), (ours, simulated)
    # And the week-0 figure is today's count, exactly.
    assert result.series[0].overdue == backlog


def test_a_team_short_of_capacity_does_not_clear_in_either() -> None:
    people = _people(random.Random(9), 300, 50)
    capacity = max(1, round(_demand(people) * 0.8))
    assert forecast(_facts(people, capacity, 1.0), 3, 0.0, 26, WhatIf()).clears_on is None
    assert median_clearing_week(Team(AS_OF, people, capacity, 1.0), range(3)) is None


@st.composite
def teams(draw: st.DrawFn) -> tuple[list[Person], int, float]:
    rng = random.Random(draw(st.integers(0, 10_000)))
    people = _people(rng, draw(st.integers(5, 120)), draw(st.integers(0, 40)))
    return people, draw(st.integers(0, 40)), draw(st.sampled_from([0.5, 0.7, 0.85, 1.0]))


def _key(week: int | None) -> float:
    return float("inf") if week is None else week


@settings(max_examples=60, deadline=None)
@given(teams(), st.integers(1, 20))
def test_more_capacity_never_clears_later(team: tuple[list[Person], int, float], more: int) -> None:
    people, capacity, success = team
    base = forecast(_facts(people, capacity, success), 3, 0.0, 26, WhatIf()).clears_week
    bigger = forecast(_facts(people, capacity + more, success), 3, 0.0, 26, WhatIf()).clears_week
    extra = forecast(_facts(people, capacity, success), 3, 0.0, 26, WhatIf(extra_per_week=more)).clears_week
    assert _key(bigger) <= _key(base) and _key(extra) <= _key(base)


@settings(max_examples=60, deadline=None)
@given(teams(), st.integers(0, 40))
def test_the_extra_visits_it_names_clear_by_the_date(team: tuple[list[Person], int, float], weeks: int) -> None:
    people, capacity, success = team
    by = AS_OF + timedelta(days=7 * weeks + 3)
    asked = forecast(_facts(people, capacity, success), 3, 0.0, 26, WhatIf(clear_by=by))
    needed = asked.extra_per_week_to_clear_by
    assert needed is not None
    with_it = forecast(_facts(people, capacity, success), 3, 0.0, 26, WhatIf(extra_per_week=needed))
    assert with_it.clears_on is not None and with_it.clears_on <= by
    if needed:
        without = forecast(_facts(people, capacity, success), 3, 0.0, 26, WhatIf(extra_per_week=needed - 1))
        assert without.clears_on is None or without.clears_on > by
    assert (
        forecast(
            _facts(people, capacity, success), 3, 0.0, 26, WhatIf(clear_by=AS_OF - timedelta(days=7))
        ).extra_per_week_to_clear_by
        is None
    )


@settings(max_examples=40, deadline=None)
@given(teams(), st.randoms(use_true_random=False))
def test_the_same_facts_in_any_order_give_the_same_forecast(
    team: tuple[list[Person], int, float], rnd: random.Random
) -> None:
    people, capacity, success = team
    shuffled = list(people)
    rnd.shuffle(shuffled)
    one = forecast(_facts(people, capacity, success), 3, 0.02, 26, WhatIf(clear_by=AS_OF + timedelta(days=60)))
    two = forecast(_facts(shuffled, capacity, success), 3, 0.02, 26, WhatIf(clear_by=AS_OF + timedelta(days=60)))
    assert one.to_json() == two.to_json()


def test_people_expected_back_add_their_first_visit() -> None:
    back = AS_OF + timedelta(days=10)
    away = [case(f"RSO-{n:06d}", None, status="custody", expected_release=back) for n in range(5)]
    unknown = [case("RSO-000099", None, status="hospital")]
    result = forecast(facts(AS_OF, away + unknown, [officer("OM-1", per_week=0)], team="T1"), 3, 0.0, 10, WhatIf())
    overdue = [round(w.overdue, 6) for w in result.series]
    # Back on day 10, first visit within 28 days (due day 38), overdue from week 6 (day 42).
    assert overdue[:6] == [0.0] * 6 and overdue[6] == 5.0
    assert sum(w.due for w in result.series) == pytest.approx(5.0)


def test_an_officer_away_takes_their_capacity_and_extra_is_shared_by_what_is_overdue() -> None:
    cases = [case(f"RSO-{n:06d}", AS_OF - timedelta(days=5)) for n in range(10)]
    officers = [officer("OM-1", per_week=4), officer("OM-2", per_week=6)]
    base = forecast(facts(AS_OF, cases, officers, team="T1"), 3, 0.0, 4, WhatIf())
    away = forecast(facts(AS_OF, cases, officers, team="T1"), 3, 0.0, 4, WhatIf(officers_away={"OM-2": 2}))
    assert [w.capacity for w in base.series] == [10.0] * 4
    assert [w.capacity for w in away.series] == [4.0, 4.0, 10.0, 10.0]
    assert share_extra(10, {"T1": 30.0, "T2": 10.0, "T3": 0.0}) == {"T1": 8, "T2": 2, "T3": 0}
    assert share_extra(3, {"T1": 0.0, "T2": 0.0}) == {"T1": 2, "T2": 1}


def test_success_rate_and_growth_come_from_the_register_unless_configured() -> None:
    f = facts(AS_OF, [], [], outcomes={"T1": (80, 20), "T2": (0, 0)})
    assert success_rates(f) == ({"T1": 0.8}, 0.8, "register")
    assert success_rates(facts(AS_OF, [], [])) == ({}, 1.0, "none")
    grown = Facts(AS_OF, [], {}, registrations=330, leavers=30, caseload=1000)
    assert growth_rate(grown, None) == (pytest.approx(0.1), "register")
    assert growth_rate(grown, 0.03) == (0.03, "config")
    shrinking = Facts(AS_OF, [], {}, registrations=10, leavers=30, caseload=1000)
    assert growth_rate(shrinking, None) == (0.0, "register")


def test_the_force_is_the_sum_of_its_teams_and_clears_with_the_last() -> None:
    rng = random.Random(3)
    one, two = _people(rng, 100, 10), _people(rng, 100, 40)
    cases: list[Case] = [case(p.ref, p.due, risk=p.risk, team="T1", months=p.months) for p in one]
    cases += [case(p.ref + "B", p.due, risk=p.risk, team="T2", months=p.months) for p in two]
    officers = [officer("OM-1", team="T1", per_week=20), officer("OM-2", team="T2", per_week=12)]
    result = forecast(facts(AS_OF, cases, officers, outcomes={"T1": (9, 1), "T2": (9, 1)}), 3, 0.0, 26, WhatIf())
    teams = {t.team: t for t in result.teams}
    assert result.series[0].overdue == 50
    assert all(
        w.overdue == pytest.approx(teams["T1"].weeks[k].overdue + teams["T2"].weeks[k].overdue)
        for k, w in enumerate(result.series)
    )
    weeks = [t.clears_week for t in result.teams]
    assert result.clears_week == (None if None in weeks else max(w for w in weeks if w is not None))
    assert result.to_json()["scope"] == "force" and result.to_json()["weeks"][0]["week_start"] == "2026-11-23"
    assert result.clears_on is None or result.clears_on.weekday() == 0


def test_words_say_when_it_clears() -> None:
    people = _people(random.Random(1), 300, 60)
    capacity = round(_demand(people) * 1.4 / 0.85)
    result = forecast(_facts(people, capacity, 0.85), 3, 0.0, 26, WhatIf(clear_by=AS_OF + timedelta(days=28)))
    words = result.words()
    assert words[0].startswith("60 visits overdue now. At current capacity the overdue visits clear in ")
    assert f"w/c {result.clears_on.day} " in words[0] if result.clears_on else False
    assert words[1].endswith("a week would clear them by 21 Dec 2026.")
    assert week_start(AS_OF + timedelta(days=28)) == date(2026, 12, 21)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
