"""The plan and forecast in the digests (issue 22 phase 2): officer, team and force.

Database tests run on SQLite and PostgreSQL (``engine``). Intervals are set in days (very
high 30, high 90, medium 180, low 360) so "N days overdue" is built exactly. The as-of date
is a Thursday: the week is Mon 23 to Sun 29 Nov 2026.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from builders import add_offender, add_officer, add_visit
from freezegun import freeze_time
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import monitor.digests.planned
import monitor.planning.inputs
from monitor.cli.app import resolve_as_of
from monitor.core.config import Config
from monitor.digests.build import build_plans
from monitor.digests.render import render_digest
from monitor.register.db import reading, transaction

AS_OF = date(2026, 11, 26)
DAYS = {"very_high": 30, "high": 90, "medium": 180, "low": 360}
ADVICE = "Advice only: a person decides."


@pytest.fixture
def cfg(make_config: Callable[..., Config], db_url: str) -> Callable[..., Config]:
    def _make(**overrides: Any) -> Config:
        policy = {"intervals": {r: f"P{d}D" for r, d in DAYS.items()}, **overrides.pop("policy", {})}
        return make_config(db_url, policy=policy, **overrides)

    return _make


def person(s: Session, ref: str, risk: str, overdue: int, *, om: str, team: str) -> None:
    """A community registrant whose home visit is ``overdue`` days overdue; reviews recent."""
    add_offender(
        s,
        ref,
        risk_level=risk,
        team=team,
        offender_manager=om,
        risk_assessed_on=AS_OF - timedelta(days=30),
        last_notified_on=AS_OF - timedelta(days=30),
    )
    add_visit(s, f"V-{ref}", ref, AS_OF - timedelta(days=overdue + DAYS[risk]))


def register(s: Session) -> None:
    """T1: OM1 (2 a week) holds five overdue visits, OM2 (5 a week) none; T2: OM3 (1 a week), six."""
    add_officer(s, "OM1", team="T1", visits_per_week=2)
    add_officer(s, "OM2", team="T1", visits_per_week=5)
    add_officer(s, "DS-T1", team="T1", role="supervisor")
    add_officer(s, "OM3", team="T2", visits_per_week=1)
    add_officer(s, "DS-T2", team="T2", role="supervisor")
    add_officer(s, "LEAD1", team="HQ", role="lead")
    for ref, risk, days in (("R1", "very_high", 10), ("R2", "high", 20), ("R3", "medium", 5)):
        person(s, ref, risk, days, om="OM1", team="T1")
    for ref, risk, days in (("R4", "medium", 3), ("R5", "low", 2)):
        person(s, ref, risk, days, om="OM1", team="T1")
    for n in range(6):
        person(s, f"B{n}", "medium", 10 + n, om="OM3", team="T2")


def contexts(engine: Engine, config: Config, kinds: list[str], as_of: date = AS_OF) -> dict[tuple[str, str], Any]:
    with reading(engine) as s:
        plans = build_plans(s, config, kinds, as_of)
    return {(p.context.kind, p.context.recipient.officer_id): p.context for p in plans.plans}


def test_officer_digest_suggests_the_week_capped(engine: Engine, cfg: Callable[..., Config]) -> None:
    with transaction(engine) as s:
        register(s)
    config = cfg(plan={"officer_digest_limit": 1})
    ctx = contexts(engine, config, ["officer"])[("officer", "OM1")]
    week = ctx.week
    assert (week.capacity, week.capacity_source, [i.ref for i in week.listed], week.more, week.did_not_fit) == (
        2,
        "register",
        ["R1"],
        1,
        3,
    )
    rendered = render_digest(ctx, config)
    text = rendered.text
    assert (
        "SUGGESTED FOR THIS WEEK, 23 Nov 2026 to 29 Nov 2026: 2 visits (you can still make 2 visits this week; "
        "capacity: stated in officers.csv)"
    ) in text
    assert "R1             very high; 10 days overdue" in text
    assert "and 1 more" in text and "R2 " not in text.split("SUGGESTED FOR THIS WEEK")[1].split("OVERDUE")[0]
    assert "3 more did not fit: your supervisor sees them." in text
    assert "Advice only: you decide" in text
    assert "Advice only: you decide" in rendered.html and "Suggested for this week" in rendered.html
    assert "3 more did not fit: your supervisor sees them." in rendered.html
    # The week's suggestions are disclosed: logged with the rest.
    assert "R1" in ctx.case_refs


def test_team_digest_shows_capacity_did_not_fit_moves_and_forecast(engine: Engine, cfg: Callable[..., Config]) -> None:
    with transaction(engine) as s:
        register(s)
    config = cfg(plan={"clear_within_weeks": 2})
    ctxs = contexts(engine, config, ["team"])
    plan = ctxs[("team", "DS-T1")].plan
    rows = {o.officer_id: (o.capacity, o.capacity_source, len(o.planned), o.shortfall) for o in plan.officers}
    assert rows == {"OM1": (2, "register", 2, 3), "OM2": (5, "register", 0, 0)}
    assert [i.ref for i in plan.did_not_fit] == ["R3", "R4", "R5"]
    assert [(r.ref, r.from_officer, r.to_officer) for r in plan.reallocations] == [
        ("R3", "OM1", "OM2"),
        ("R4", "OM1", "OM2"),
        ("R5", "OM1", "OM2"),
    ]
    text = render_digest(ctxs[("team", "DS-T1")], config).text
    assert "THIS WEEK'S PLAN, 23 Nov 2026 to 29 Nov 2026: 2 visits planned, 3 did not fit, 3 could move" in text
    assert "R3             from OM1 to OM2: OM1 has 3 visits more than capacity this week; OM2 has room for 5" in text
    assert "stated in officers.csv" in render_digest(ctxs[("team", "DS-T1")], config).html
    # T2: six overdue, one visit a week, so they clear in 6 weeks at current capacity;
    # clearing by the Monday 2 weeks on (7 Dec) takes one more a week.
    t2 = render_digest(ctxs[("team", "DS-T2")], config)
    forecast = ctxs[("team", "DS-T2")].plan.forecast
    assert forecast[0] == (
        "6 visits overdue now. At current capacity the overdue visits clear in 5 weeks, w/c 28 Dec 2026."
    )
    assert forecast[1] == "1 more visit a week would clear them by 7 Dec 2026."
    assert forecast[0] in t2.text and forecast[1] in t2.html
    assert "Force-wide, the last 12 weeks' forecasts were within" in t2.text
    assert ADVICE in t2.text and ADVICE in t2.html


def test_force_digest_has_each_teams_forecast(engine: Engine, cfg: Callable[..., Config]) -> None:
    with transaction(engine) as s:
        register(s)
    config = cfg()
    ctx = contexts(engine, config, ["force"])[("force", "LEAD1")]
    lines = {t.team: (t.overdue, t.clears_words, t.extra_words) for t in ctx.forecast.teams}
    assert lines == {
        "T1": (5, "this week, w/c 23 Nov 2026", "none needed"),
        "T2": (6, "in 5 weeks, w/c 28 Dec 2026", "none needed"),
    }
    assert [t.team for t in ctx.forecast.teams] == ["T2", "T1"]  # slowest to clear first
    rendered = render_digest(ctx, config)
    assert "FORECAST: when each team's overdue visits clear" in rendered.text
    assert "To clear by 18 Jan 2027" in rendered.text
    assert "in 5 weeks, w/c 28 Dec 2026" in rendered.html
    assert ADVICE in rendered.text and ADVICE in rendered.html
    assert "the last 12 weeks' forecasts were within" in rendered.text.lower()


def test_no_capacity_says_not_at_current_capacity(engine: Engine, cfg: Callable[..., Config]) -> None:
    with transaction(engine) as s:
        add_officer(s, "OM9", team="T9", visits_per_week=0)
        add_officer(s, "LEAD1", team="HQ", role="lead")
        person(s, "Z1", "high", 4, om="OM9", team="T9")
    config = cfg()
    ctx = contexts(engine, config, ["force"])[("force", "LEAD1")]
    [line] = ctx.forecast.teams
    assert line.clears_words == "not at current capacity"
    assert "not at current capacity" in render_digest(ctx, config).text


@freeze_time("2026-11-26 09:00:00")
def test_one_read_of_the_facts_per_run_and_none_for_escalation(
    engine: Engine, cfg: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(engine) as s:
        register(s)
    calls: list[Any] = []
    real = monitor.planning.inputs.read_facts

    def counted(*args: Any, **kw: Any) -> Any:
        calls.append(kw.get("team"))
        return real(*args, **kw)

    monkeypatch.setattr(monitor.digests.planned, "read_facts", counted)
    config = cfg()
    contexts(engine, config, ["officer", "team", "force", "escalation"])
    assert calls == [None]  # once, for the force, whatever the number of teams
    calls.clear()
    contexts(engine, config, ["escalation"])
    assert calls == []


@pytest.mark.parametrize(
    ("now", "week", "clear_by"),
    [
        ("2026-11-29 23:30:00", "23 Nov 2026 to 29 Nov 2026", "18 Jan 2027"),  # Sunday night in London
        ("2026-11-30 00:30:00", "30 Nov 2026 to 6 Dec 2026", "25 Jan 2027"),  # Monday: the next week
    ],
)
def test_the_digests_week_and_target_follow_the_london_date(
    engine: Engine, cfg: Callable[..., Config], now: str, week: str, clear_by: str
) -> None:
    with transaction(engine) as s:
        register(s)
    config = cfg()
    with freeze_time(now):
        as_of = resolve_as_of(config, None)
        ctxs = contexts(engine, config, ["officer", "team", "force"], as_of)
    assert f"SUGGESTED FOR THIS WEEK, {week}" in render_digest(ctxs[("officer", "OM3")], config).text
    assert f"THIS WEEK'S PLAN, {week}" in render_digest(ctxs[("team", "DS-T2")], config).text
    assert f"To clear by {clear_by}" in render_digest(ctxs[("force", "LEAD1")], config).text
    t2 = ctxs[("team", "DS-T2")].plan.forecast
    assert t2[0].startswith("6 visits overdue now. At current capacity the overdue visits clear in ")
    assert t2[1] == f"They clear by {clear_by} without extra visits."
