"""The planner with each person's own interval and returns from custody, held by the rules.

* The plan, from the scan's rows with mixed plan intervals (weeks and months) through the
  planner's own inputs: capacity never exceeded; no lower-risk case planned while a
  higher-risk one of the same officer is left out; planned and did-not-fit together are
  exactly the officer's visits overdue or due this week, each due date as an oracle written
  from the rules works it out (not the calendar the code uses).
* The forecast against tests/forecast_reference.py's simulation (people one by one, random
  outcomes), with plan intervals and people back from custody: the clearing week within 2
  weeks or 15 % of the simulated median. More capacity never clears later; the extra visits
  it names do clear by the date.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from forecast_reference import Person, Return, Team, median_clearing_week
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import Span
from planning_builders import MONTHS, case, facts, officer

from monitor.core.config import load
from monitor.core.durations import Duration
from monitor.planning.facts import Case, Facts
from monitor.planning.forecast import forecast
from monitor.planning.forecast_results import WhatIf
from monitor.planning.inputs import cases_from
from monitor.planning.plan import make_plan
from monitor.rules.obligations import RISK_ORDER

POLICY = load(None, {"database": {"url": "sqlite://"}}).policy
AS_OF = date(2026, 11, 23)  # a Monday
RISKS = list(RISK_ORDER)
#: Plan intervals as a force writes them (weeks and months), and their (months, days).
PLANS = {"P2W": (0, 14), "P6W": (0, 42), "P1M": (1, 0), "P2M": (2, 0), "P4M": (4, 0), "P9M": (9, 0), "P18M": (18, 0)}
CANONICAL = {"P2W": "P14D", "P6W": "P42D"}
RISK_MIX = ("very_high",) * 2 + ("high",) * 18 + ("medium",) * 30 + ("low",) * 50


# --- the plan -------------------------------------------------------------------------------


@st.composite
def registers(draw: st.DrawFn) -> tuple[date, list[tuple], dict[str, tuple[str | None, int | None]], dict[str, int]]:  # type: ignore[type-arg]
    """Scan rows (as the database gives them) of a few officers' people, some with a plan."""
    as_of = AS_OF + timedelta(days=draw(st.integers(0, 6)))
    today = as_of.toordinal()
    officers = {f"OM-{n}": draw(st.integers(0, 6)) for n in range(1, draw(st.integers(1, 4)) + 1)}
    rows, extras = [], {}
    for n in range(draw(st.integers(0, 40))):
        ref = f"RSO-{n:06d}"
        registered = today - draw(st.integers(0, 900))
        since = draw(st.one_of(st.none(), st.integers(registered, today + 3)))
        start = since or registered
        last = draw(st.one_of(st.none(), st.integers(start, today))) if start <= today else None
        plan = draw(st.one_of(st.none(), st.sampled_from(sorted(PLANS))))
        status = draw(st.sampled_from(("community",) * 4 + ("custody", "missing")))
        management = draw(st.sampled_from(("active",) * 5 + ("reactive",)))
        if plan is not None:
            extras[ref] = (CANONICAL.get(plan, plan), None)
        who = draw(st.sampled_from(sorted(officers)))
        rows.append(
            (
                ref,
                draw(st.sampled_from(RISKS)),
                status,
                "T1",
                who,
                registered,
                since,
                management,
                None,
                None,
                False,
                None,
                None,
                None,
                None,
                last,
                last,
                draw(st.integers(0, 3)),
            )
        )
    return as_of, rows, extras, officers


def _oracle_due(row: tuple, plan: str | None, as_of: date) -> date | None:  # type: ignore[type-arg]
    """From the rules: last completed visit + the plan's interval (else the risk level's), or
    S + 28 days; only for people in the community, actively managed, from S on."""
    _ref, risk, status, _t, _o, registered, since, management, *_rest = row
    last = row[15]
    start = date.fromordinal(since or registered)
    if status != "community" or management != "active" or start > as_of:
        return None
    if last is None:
        return start + timedelta(days=28)
    span = Span(*PLANS[plan]) if plan else Span(MONTHS[risk], 0)
    return span.after(date.fromordinal(last))


@settings(max_examples=150, deadline=None)
@given(registers())
def test_the_plan_keeps_its_promises_with_plan_intervals(drawn: tuple) -> None:  # type: ignore[type-arg]
    as_of, rows, extras, capacity = drawn
    plans = {ref: plan for ref, (plan, _r) in extras.items()}
    written = {CANONICAL.get(p, p): p for p in PLANS}
    cases = cases_from(rows, POLICY, as_of, extras, with_plans=True)
    plan = make_plan(facts(as_of, cases, [officer(o, per_week=n) for o, n in capacity.items()]), 3)
    sunday = as_of + timedelta(days=6 - as_of.weekday())
    due = {row[0]: _oracle_due(row, written.get(plans.get(row[0], "")), as_of) for row in rows}
    for o in plan.officers:
        assert len(o.planned) <= o.capacity == capacity[o.officer_id]
        wanted = {row[0]: due[row[0]] for row in rows if row[4] == o.officer_id and (due[row[0]] or sunday) <= sunday}
        wanted = {ref: d for ref, d in wanted.items() if d is not None}
        shown = {i.ref: i.due_date for i in (*o.planned, *o.did_not_fit)}
        assert shown == wanted
        for i in (*o.planned, *o.did_not_fit):
            assert i.interval_source == ("plan" if i.ref in plans else "risk_level")
            if i.ref in plans and not i.first_visit:
                assert "; plan every " in i.reason
        for p in o.planned:
            for d in o.did_not_fit:
                assert RISK_ORDER[p.risk_level] <= RISK_ORDER[d.risk_level]
                if p.risk_level == d.risk_level:
                    assert p.due_date <= d.due_date
    # With the practice measures off, nobody's plan counts: everyone at their risk level's.
    plain = cases_from(rows, POLICY, as_of, extras, with_plans=False)
    assert all(c.interval_source == "risk_level" for c in plain)


# --- the forecast ---------------------------------------------------------------------------


def _people(rng: random.Random, size: int, backlog: int, plans: float) -> list[Person]:
    out = []
    for n in range(size):
        risk = rng.choice(RISK_MIX)
        months, days = (MONTHS[risk], 0)
        if rng.random() < plans:
            months, days = PLANS[rng.choice(sorted(PLANS))]
        length = int(months * 30.4) + days
        if n < backlog:
            due = AS_OF - timedelta(days=rng.randint(1, 200))
        else:
            due = AS_OF + timedelta(days=rng.randint(0, max(1, length - 1)))
        out.append(Person(f"RSO-{n:06d}", risk, months, due, days))
    return out


def _returns(rng: random.Random, count: int) -> list[Return]:
    out = []
    for n in range(count):
        risk = rng.choice(RISK_MIX)
        months, days = PLANS[rng.choice(sorted(PLANS))] if rng.random() < 0.3 else (MONTHS[risk], 0)
        out.append(Return(f"RET-{n:05d}", risk, months, AS_OF + timedelta(days=rng.randint(0, 180)), days))
    return out


def _facts(people: list[Person], returns: list[Return], capacity: int, success: float) -> Facts:
    cases: list[Case] = [
        case(p.ref, p.due, risk=p.risk, months=0, team="T1")
        for p in people  # interval set below: months and days
    ]
    cases = [
        Case(**{**_fields(c), "interval": Duration(p.months, p.days), "interval_source": "plan"})
        for c, p in zip(cases, people, strict=True)
    ]
    cases += [
        Case(
            **{
                **_fields(case(r.ref, None, risk=r.risk, status="custody", expected_release=r.release)),
                "interval": Duration(r.months, r.days),
            }
        )
        for r in returns
    ]
    completed = round(success * 1000)
    return facts(
        AS_OF, cases, [officer("OM-1", per_week=capacity)], outcomes={"T1": (completed, 1000 - completed)}, team="T1"
    )


def _fields(c: Case) -> dict:  # type: ignore[type-arg]
    return {name: getattr(c, name) for name in Case.__dataclass_fields__}


def _demand(people: list[Person]) -> float:
    return sum(7 / (p.months * 30.436875 + p.days) for p in people)


def _scenarios(count: int) -> list[tuple[int, int, int, float, float, float, int]]:
    rng = random.Random(2027)
    out = []
    for seed in range(count):
        size = rng.randint(100, 500)
        out.append(
            (
                seed,
                size,
                rng.randint(10, size // 3),
                rng.uniform(1.2, 1.8),
                rng.choice([0.7, 0.85, 1.0]),
                rng.choice([0.0, 0.03]),
                rng.randint(0, size // 8),
            )
        )
    return out


@pytest.mark.parametrize(("seed", "size", "backlog", "slack", "success", "growth", "back"), _scenarios(12))
def test_the_clearing_week_agrees_with_a_simulation_with_plans_and_returns(
    seed: int, size: int, backlog: int, slack: float, success: float, growth: float, back: int
) -> None:
    rng = random.Random(seed)
    people = _people(rng, size, backlog, plans=0.3)
    returns = _returns(rng, back)
    capacity = max(1, round(_demand(people) * slack / success))
    result = forecast(_facts(people, returns, capacity, success), 3, growth, 26, WhatIf())
    team = Team(AS_OF, people, capacity, success, growth, others=len(returns), weeks_run=60, returns=returns)
    simulated = median_clearing_week(team, range(41))
    ours = result.clears_week
    assert simulated is not None and ours is not None, (ours, simulated)
    assert abs(ours - simulated) <= max(2, 0.15 * simulated), (ours, simulated)
    assert result.series[0].overdue == backlog
    assert result.returning_from_custody == sum(1 for r in returns if (r.release - AS_OF).days < 7 * 26)


@st.composite
def teams(draw: st.DrawFn) -> tuple[list[Person], list[Return], int, float]:
    rng = random.Random(draw(st.integers(0, 10_000)))
    people = _people(rng, draw(st.integers(5, 120)), draw(st.integers(0, 40)), plans=draw(st.sampled_from([0.2, 0.6])))
    returns = _returns(rng, draw(st.integers(0, 15)))
    return people, returns, draw(st.integers(0, 40)), draw(st.sampled_from([0.5, 0.85, 1.0]))


def _key(week: int | None) -> float:
    return float("inf") if week is None else week


@settings(max_examples=50, deadline=None)
@given(teams(), st.integers(1, 20))
def test_more_capacity_never_clears_later_with_plans_and_returns(team: tuple, more: int) -> None:  # type: ignore[type-arg]
    people, returns, capacity, success = team
    base = forecast(_facts(people, returns, capacity, success), 3, 0.0, 26, WhatIf()).clears_week
    bigger = forecast(_facts(people, returns, capacity + more, success), 3, 0.0, 26, WhatIf()).clears_week
    extra = forecast(_facts(people, returns, capacity, success), 3, 0.0, 26, WhatIf(extra_per_week=more)).clears_week
    assert _key(bigger) <= _key(base) and _key(extra) <= _key(base)


@settings(max_examples=50, deadline=None)
@given(teams(), st.integers(0, 40))
def test_the_extra_visits_it_names_clear_by_the_date_with_plans_and_returns(team: tuple, weeks: int) -> None:  # type: ignore[type-arg]
    people, returns, capacity, success = team
    by = AS_OF + timedelta(days=7 * weeks + 3)
    needed = forecast(
        _facts(people, returns, capacity, success), 3, 0.0, 26, WhatIf(clear_by=by)
    ).extra_per_week_to_clear_by
    assert needed is not None
    with_it = forecast(_facts(people, returns, capacity, success), 3, 0.0, 26, WhatIf(extra_per_week=needed))
    assert with_it.clears_on is not None and with_it.clears_on <= by
    if needed:
        without = forecast(_facts(people, returns, capacity, success), 3, 0.0, 26, WhatIf(extra_per_week=needed - 1))
        assert without.clears_on is None or without.clears_on > by
