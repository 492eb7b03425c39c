"""The obligations engine, rule by rule (docs/rules.md), on SQLite and PostgreSQL.

Each test builds the smallest register that shows one rule and asserts the exact due
date / days overdue, so an off-by-one in either the SQL or the calendar arithmetic fails.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import add_offender, add_visit
from conftest import new_database_url
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event

from monitor.core import clock
from monitor.core.config import Config, Policy
from monitor.register import derived
from monitor.register.db import make_engine, reading, transaction
from monitor.register.models import ImportRun, Offender
from monitor.rules.calendar import notification_due, review_due, visit_due
from monitor.rules.obligations import Item, Obligations
from monitor.rules.scan import scan

D = date
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config()


@pytest.fixture
def policy(config: Config) -> Policy:
    return config.policy


@pytest.fixture
def names_policy(make_config: Callable[..., Config]) -> Policy:
    return make_config(policy={"include_names": True}).policy


def run(engine: Engine, policy: Policy, as_of: date, **kw: Any) -> Obligations:
    with reading(engine) as session:
        return scan(session, policy, as_of, **kw)


def refs(items: list[Any]) -> list[str]:
    return [i.ref for i in items]


def only(items: list[Item]) -> Item:
    assert len(items) == 1, items
    return items[0]


# ---------------------------------------------------------------- calendar arithmetic (pure)


def test_month_end_clamps(policy: Policy) -> None:
    s = D(2020, 1, 1)
    assert visit_due(policy, "medium", s, D(2025, 8, 31)) == D(2026, 2, 28)
    assert visit_due(policy, "medium", s, D(2027, 8, 31)) == D(2028, 2, 29)
    assert visit_due(policy, "low", s, D(2028, 2, 29)) == D(2029, 2, 28)
    assert visit_due(policy, "very_high", s, D(2026, 1, 31)) == D(2026, 2, 28)
    assert visit_due(policy, "very_high", s, D(2028, 1, 31)) == D(2028, 2, 29)
    assert visit_due(policy, "high", s, D(2025, 11, 30)) == D(2026, 2, 28)
    assert visit_due(policy, "high", s, None) == D(2020, 1, 29)  # S + P28D


def test_datetime_just_after_midnight_london_is_the_london_date() -> None:
    london = clock.zone_info("Europe/London")
    day, instant = clock.parse_date_or_datetime("2026-06-30T23:30:00Z", london)
    assert day == D(2026, 7, 1)
    assert instant == datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    # In winter London is UTC: the same clock time stays on the same date.
    assert clock.parse_date("2026-12-31T23:30:00Z", london) == D(2026, 12, 31)


def test_review_due_rules(policy: Policy) -> None:
    s = D(2026, 3, 1)
    window = D(2026, 3, 29)
    assert review_due(policy, "low", s, None) == window
    assert review_due(policy, "low", s, D(2026, 3, 5)) == D(2027, 3, 5)
    assert review_due(policy, "low", s, D(2026, 3, 1)) == D(2027, 3, 1)  # assessed on S: not "returning"
    # Returning person: old assessment long expired -> the window, not a past date.
    assert review_due(policy, "low", s, D(2024, 1, 1)) == window
    # Returning person whose assessment is still current keeps its later date.
    assert review_due(policy, "low", s, D(2025, 12, 1)) == D(2026, 12, 1)


def test_notification_due_rules(policy: Policy) -> None:
    reg = D(2020, 1, 1)
    assert notification_due(policy, "community", reg, reg, D(2025, 6, 1), False) == D(2026, 6, 1)
    assert notification_due(policy, "community", reg, reg, None, False) == D(2021, 1, 1)
    assert notification_due(policy, "community", reg, reg, D(2026, 6, 1), True) == D(2026, 6, 8)
    # Fell due while away: 3 days after return.
    back = D(2026, 5, 10)
    assert notification_due(policy, "community", back, reg, D(2025, 1, 1), False) == D(2026, 5, 13)
    # Not yet due on return: the ordinary date stands.
    assert notification_due(policy, "community", back, reg, D(2026, 1, 1), False) == D(2027, 1, 1)
    # Due exactly on the day of return is not "fell due while away".
    assert notification_due(policy, "community", back, reg, D(2025, 5, 10), False) == D(2026, 5, 10)
    # Missing people get no return grace (they have not returned).
    assert notification_due(policy, "missing", back, reg, D(2025, 1, 1), False) == D(2026, 1, 1)


# ---------------------------------------------------------------- home visits


def test_month_end_through_scan_due_today_is_due_soon_not_overdue(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="medium")
        add_visit(s, "V1", "R1", D(2025, 8, 31))
    ob = run(engine, policy, D(2026, 2, 28))
    assert ob.overdue_visits == []
    item = only(ob.due_soon)
    assert (item.due_date, item.days_overdue, item.last_done) == (D(2026, 2, 28), 0, D(2025, 8, 31))
    assert item.to_json()["due_in_days"] == 0
    ob = run(engine, policy, D(2026, 3, 1))
    item = only(ob.overdue_visits)
    assert (item.due_date, item.days_overdue) == (D(2026, 2, 28), 1)
    assert ob.due_soon == []


def test_leap_day_visit_plus_twelve_months(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="low")
        add_visit(s, "V1", "R1", D(2028, 2, 29))
    assert only(run(engine, policy, D(2029, 2, 28)).due_soon).days_overdue == 0
    item = only(run(engine, policy, D(2029, 3, 1)).overdue_visits)
    assert (item.due_date, item.days_overdue) == (D(2029, 2, 28), 1)


@pytest.mark.parametrize(
    ("as_of", "section", "days"),
    [
        (D(2026, 1, 17), None, None),  # due in 15 days: not yet listed
        (D(2026, 1, 18), "due_soon", -14),  # due in 14 days: first day of the window
        (D(2026, 2, 1), "due_soon", 0),  # due today
        (D(2026, 2, 2), "overdue_visits", 1),
    ],
)
def test_due_soon_window_edges(
    engine: Engine, policy: Policy, as_of: date, section: str | None, days: int | None
) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="very_high")
        add_visit(s, "V1", "R1", D(2026, 1, 1))  # due 1 Feb
    ob = run(engine, policy, as_of)
    found = {name: getattr(ob, name) for name in ("due_soon", "overdue_visits") if getattr(ob, name)}
    if section is None:
        assert found == {}
    else:
        assert list(found) == [section]
        assert only(found[section]).days_overdue == days


def test_visit_just_after_midnight_london_in_summer(engine: Engine, policy: Policy) -> None:
    london = clock.zone_info("Europe/London")
    day, instant = clock.parse_date_or_datetime("2026-06-30T23:30:00Z", london)
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="very_high", registered_on=D(2026, 1, 1))
        add_visit(s, "V1", "R1", day, visited_at=instant)
    # As of 1 July (London), the visit that evening counts: next due 1 August.
    ob = run(engine, policy, D(2026, 7, 1))
    assert ob.overdue_visits == [] and ob.due_soon == []
    item = only(run(engine, policy, D(2026, 8, 1)).due_soon)
    assert (item.due_date, item.last_done) == (D(2026, 8, 1), D(2026, 7, 1))
    # As of 30 June (before the visit's London date) it does not count yet.
    ob = run(engine, policy, D(2026, 6, 30))
    assert only(ob.overdue_visits).last_done is None


def test_visits_before_custody_spell_do_not_count(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="low", status_since=D(2026, 6, 1))
        add_visit(s, "V1", "R1", D(2026, 5, 31))
        add_visit(s, "V2", "R1", D(2026, 5, 20), outcome="no_access")
    item = only(run(engine, policy, D(2026, 7, 1)).overdue_visits)
    assert (item.due_date, item.days_overdue, item.last_done, item.failed_attempts) == (
        D(2026, 6, 29),
        2,
        None,
        0,
    )


def test_visit_on_status_since_counts(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="low", status_since=D(2026, 6, 1))
        add_visit(s, "V1", "R1", D(2026, 6, 1))
    ob = run(engine, policy, D(2026, 7, 1))
    assert ob.overdue_visits == [] and ob.due_soon == []


def test_failed_and_cancelled_do_not_reset_and_only_home_no_access_counts(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="very_high")
        add_visit(s, "V0", "R1", D(2025, 12, 1), outcome="no_access")  # before the last completed: not counted
        add_visit(s, "V1", "R1", D(2026, 1, 1))
        add_visit(s, "V2", "R1", D(2026, 2, 3), outcome="no_access")
        add_visit(s, "V3", "R1", D(2026, 2, 10), outcome="cancelled")
        add_visit(s, "V4", "R1", D(2026, 2, 12), outcome="completed", visit_type="other")
        add_visit(s, "V5", "R1", D(2026, 2, 13), outcome="no_access", visit_type="other")
        add_visit(s, "V6", "R1", D(2026, 2, 20), outcome="no_access")
        add_visit(s, "V7", "R1", D(2026, 3, 20), outcome="no_access")  # after as_of: not counted
    ob = run(engine, policy, D(2026, 3, 1))
    item = only(ob.overdue_visits)
    assert (item.due_date, item.days_overdue, item.last_done, item.failed_attempts) == (
        D(2026, 2, 1),
        28,
        D(2026, 1, 1),
        2,
    )
    assert item.to_json()["warrant_flag"] is True
    assert ob.summary.failed_attempt_flags == 1


def test_one_failed_attempt_is_not_flagged(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="very_high")
        add_visit(s, "V1", "R1", D(2026, 1, 1))
        add_visit(s, "V2", "R1", D(2026, 1, 1), outcome="no_access")  # same day as completed: not after it
        add_visit(s, "V3", "R1", D(2026, 2, 20), outcome="no_access")
    ob = run(engine, policy, D(2026, 3, 1))
    item = only(ob.overdue_visits)
    assert item.failed_attempts == 1
    assert item.to_json()["warrant_flag"] is False
    assert ob.summary.failed_attempt_flags == 0


def test_failed_attempts_without_completed_visit_count_from_status_start(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="high", status_since=D(2026, 1, 10), registered_on=D(2019, 1, 1))
        add_visit(s, "V1", "R1", D(2026, 1, 9), outcome="no_access")  # before S
        add_visit(s, "V2", "R1", D(2026, 1, 10), outcome="no_access")  # on S: counts
        add_visit(s, "V3", "R1", D(2026, 1, 20), outcome="no_access")
    item = only(run(engine, policy, D(2026, 2, 10)).overdue_visits)
    assert (item.due_date, item.days_overdue, item.failed_attempts) == (D(2026, 2, 7), 3, 2)


def test_due_soon_item_carries_failed_attempts_flag(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="medium", registered_on=D(2026, 2, 1))
        add_visit(s, "V1", "R1", D(2026, 2, 10), outcome="no_access")
        add_visit(s, "V2", "R1", D(2026, 2, 12), outcome="no_access")
    ob = run(engine, policy, D(2026, 2, 20))
    item = only(ob.due_soon)
    assert (item.days_overdue, item.failed_attempts) == (-9, 2)
    assert ob.summary.failed_attempt_flags == 1


def test_other_visit_type_does_not_count(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="very_high")
        add_visit(s, "V1", "R1", D(2026, 1, 1))
        add_visit(s, "V2", "R1", D(2026, 2, 15), visit_type="other")
    item = only(run(engine, policy, D(2026, 3, 1)).overdue_visits)
    assert item.last_done == D(2026, 1, 1)


def test_reactive_management_owes_no_visit_but_reviews_and_notifications(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="low", management="reactive", last_notified_on=D(2025, 1, 1))
    ob = run(engine, policy, D(2026, 3, 1))
    assert ob.overdue_visits == [] and ob.due_soon == []
    assert only(ob.overdue_risk_reviews).due_date == D(2020, 1, 29)
    assert only(ob.overdue_notifications).due_date == D(2026, 1, 1)
    assert ob.summary.active_caseload == 1


# ---------------------------------------------------------------- statuses and scope


@pytest.mark.parametrize(
    ("status", "in_scope", "visit", "review", "notification", "whereabouts"),
    [
        ("community", True, True, True, True, False),
        ("custody", True, False, False, False, False),
        ("hospital", True, False, False, False, False),
        ("abroad", True, False, False, False, False),
        ("missing", True, False, False, True, True),
        ("deceased", False, False, False, False, False),
        ("deregistered", False, False, False, False, False),
    ],
)
def test_every_status(
    engine: Engine,
    policy: Policy,
    status: str,
    in_scope: bool,
    visit: bool,
    review: bool,
    notification: bool,
    whereabouts: bool,
) -> None:
    with transaction(engine) as s:
        # Everything long overdue, so the only question is whether the status owes it.
        add_offender(s, "R1", status=status, status_since=D(2025, 1, 1), registered_on=D(2020, 1, 1))
        add_visit(s, "V1", "R1", D(2024, 6, 1))
        add_visit(s, "V2", "R1", D(2025, 3, 1))
    ob = run(engine, policy, D(2026, 6, 1))
    assert ob.summary.active_caseload == (1 if in_scope else 0)
    assert bool(ob.overdue_visits) is visit
    assert bool(ob.overdue_risk_reviews) is review
    assert bool(ob.overdue_notifications) is notification
    assert bool(ob.whereabouts_unknown) is whereabouts
    if whereabouts:
        u = only(ob.whereabouts_unknown)  # type: ignore[arg-type]
        assert (u.missing_since, u.days_missing) == (D(2025, 1, 1), 516)
        # Last visit is the latest completed home visit, even from before they went missing.
        assert u.last_visit == D(2025, 3, 1)
        assert ob.summary.whereabouts_unknown == 1
        n = only(ob.overdue_notifications)
        assert n.due_date == D(2021, 1, 1)  # no return grace for a missing person


def test_missing_last_visit_ignores_later_visits(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", status="missing", status_since=D(2026, 1, 1))
        add_visit(s, "V1", "R1", D(2025, 3, 1))
        add_visit(s, "V2", "R1", D(2025, 4, 1), outcome="no_access")
        add_visit(s, "V3", "R1", D(2026, 8, 1))  # after as_of
    u = run(engine, policy, D(2026, 6, 1)).whereabouts_unknown[0]
    assert u.last_visit == D(2025, 3, 1)


@pytest.mark.parametrize(
    ("registered_on", "registration_ends", "in_scope"),
    [
        (D(2026, 6, 2), None, False),  # registration starts tomorrow
        (D(2026, 6, 1), None, True),  # starts today
        (D(2020, 1, 1), D(2026, 6, 1), True),  # ends today: still in force
        (D(2020, 1, 1), D(2026, 5, 31), False),  # ended yesterday
    ],
)
def test_registration_period(
    engine: Engine, policy: Policy, registered_on: date, registration_ends: date | None, in_scope: bool
) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", registered_on=registered_on, registration_ends=registration_ends)
    ob = run(engine, policy, D(2026, 6, 1))
    assert ob.summary.active_caseload == (1 if in_scope else 0)
    if in_scope and registered_on == D(2026, 6, 1):
        # A brand-new registrant: first visit within 28 days is "due soon" territory later on.
        assert ob.overdue_visits == [] and ob.overdue_risk_reviews == []
    if not in_scope:
        assert ob.to_json()["overdue_visits"] == [] and ob.overdue_notifications == []


# ---------------------------------------------------------------- risk reviews


def test_risk_review_rules_through_scan(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "NEVER", registered_on=D(2026, 1, 1))  # due 29 Jan
        add_offender(s, "CURRENT", risk_assessed_on=D(2025, 6, 1))  # due 1 Jun 2026: not overdue
        add_offender(s, "EXPIRED", risk_assessed_on=D(2025, 1, 15))  # due 15 Jan 2026
        # Returning person, assessment long expired: gets the window after return (S + 28).
        add_offender(s, "RETURNED", status_since=D(2026, 2, 1), risk_assessed_on=D(2023, 1, 1))
        # Returned, then assessed after return: normal interval from the assessment.
        add_offender(s, "REASSESSED", status_since=D(2025, 1, 1), risk_assessed_on=D(2025, 2, 1))
        add_offender(s, "DUE_TODAY", risk_assessed_on=D(2025, 3, 1))
    ob = run(engine, policy, D(2026, 3, 1))
    got = {i.ref: (i.due_date, i.days_overdue, i.last_done) for i in ob.overdue_risk_reviews}
    assert got == {
        "NEVER": (D(2026, 1, 29), 31, None),
        "EXPIRED": (D(2026, 1, 15), 45, D(2025, 1, 15)),
        "REASSESSED": (D(2026, 2, 1), 28, D(2025, 2, 1)),
    }
    ob = run(engine, policy, D(2026, 3, 2))
    returned = [i for i in ob.overdue_risk_reviews if i.ref == "RETURNED"]
    assert [(i.due_date, i.days_overdue) for i in returned] == [(D(2026, 3, 1), 1)]
    assert [i.days_overdue for i in ob.overdue_risk_reviews if i.ref == "DUE_TODAY"] == [1]
    assert only([i for i in ob.overdue_risk_reviews if i.ref == "RETURNED"]).to_json()["last_assessed"] == "2023-01-01"


# ---------------------------------------------------------------- notifications


def test_notifications(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "ANNUAL", last_notified_on=D(2025, 6, 1))  # due 1 Jun 2026
        add_offender(s, "ANNUAL_TODAY", last_notified_on=D(2025, 6, 2))  # due today
        add_offender(s, "NFA", no_fixed_abode=True, last_notified_on=D(2026, 5, 20))  # due 27 May
        add_offender(s, "NFA_OK", no_fixed_abode=True, last_notified_on=D(2026, 5, 30))
        add_offender(s, "NEVER", registered_on=D(2025, 5, 1))  # due 1 May 2026 from registration
        # Fell due (1 Jan) while in custody; back on 20 May: due 23 May.
        add_offender(s, "AWAY", last_notified_on=D(2025, 1, 1), status_since=D(2026, 5, 20))
        add_offender(s, "AWAY_GRACE", last_notified_on=D(2025, 1, 1), status_since=D(2026, 5, 31))
        add_offender(s, "CUSTODY", status="custody", last_notified_on=D(2024, 1, 1), status_since=D(2025, 1, 1))
        add_offender(s, "MISSING", status="missing", last_notified_on=D(2025, 4, 1), status_since=D(2025, 9, 1))
    ob = run(engine, policy, D(2026, 6, 2))
    got = {i.ref: (i.due_date, i.days_overdue, i.last_done, i.no_fixed_abode) for i in ob.overdue_notifications}
    assert got == {
        "ANNUAL": (D(2026, 6, 1), 1, D(2025, 6, 1), False),
        "NFA": (D(2026, 5, 27), 6, D(2026, 5, 20), True),
        "NEVER": (D(2026, 5, 1), 32, None, False),
        "AWAY": (D(2026, 5, 23), 10, D(2025, 1, 1), False),
        "MISSING": (D(2026, 4, 1), 62, D(2025, 4, 1), False),
    }
    nfa = next(i for i in ob.overdue_notifications if i.ref == "NFA").to_json()
    assert nfa["no_fixed_abode"] is True and nfa["last_notified"] == "2026-05-20"
    assert next(i for i in ob.overdue_notifications if i.ref == "NEVER").to_json()["last_notified"] is None


# ---------------------------------------------------------------- filters, ordering, summary


def _filter_register(engine: Engine) -> None:
    with transaction(engine) as s:
        add_offender(s, "A1", team="NORTH", offender_manager="OM1", risk_level="high")
        add_offender(s, "A2", team="NORTH", offender_manager="OM2", risk_level="low", status="custody")
        add_offender(s, "B1", team="SOUTH", offender_manager="OM3", risk_level="medium")
        add_offender(s, "B2", team="SOUTH", offender_manager="OM1", risk_level="very_high")


def test_team_and_officer_filters(engine: Engine, policy: Policy) -> None:
    _filter_register(engine)
    as_of = D(2026, 6, 1)
    everyone = run(engine, policy, as_of)
    assert everyone.summary.active_caseload == 4
    assert everyone.summary.by_team == {"NORTH": 1, "SOUTH": 2}
    assert everyone.extra["caseload_by_officer"] == {"OM1": 2, "OM2": 1, "OM3": 1}

    north = run(engine, policy, as_of, team="NORTH")
    assert (north.team, north.officer) == ("NORTH", None)
    assert refs(north.overdue_visits) == ["A1"]
    assert north.summary.active_caseload == 2
    assert north.summary.by_team == {"NORTH": 1}
    assert north.summary.caseload_by_team == {"NORTH": 2}

    om1 = run(engine, policy, as_of, officer="OM1")
    assert refs(om1.overdue_visits) == ["B2", "A1"]
    assert om1.summary.by_team == {"NORTH": 1, "SOUTH": 1}

    both = run(engine, policy, as_of, team="SOUTH", officer="OM1")
    assert refs(both.overdue_visits) == ["B2"]

    nobody = run(engine, policy, as_of, team="NOPE")
    assert nobody.summary.active_caseload == 0
    assert nobody.summary.by_team == {} and nobody.summary.most_overdue_days is None
    assert nobody.overdue_visits == []


def test_team_scope_with_visits_elsewhere(engine: Engine, policy: Policy) -> None:
    """Filters must not leak visits of other people into a person's facts."""
    with transaction(engine) as s:
        add_offender(s, "N1", team="NORTH", risk_level="very_high")
        add_offender(s, "S1", team="SOUTH", risk_level="very_high")
        add_visit(s, "V1", "S1", D(2026, 5, 25))
        add_visit(s, "V2", "N1", D(2026, 4, 1))
    north = run(engine, policy, D(2026, 6, 1), team="NORTH")
    item = only(north.overdue_visits)
    assert (item.ref, item.last_done, item.days_overdue) == ("N1", D(2026, 4, 1), 31)


def test_ordering_risk_then_days_then_ref(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "L-OLD", risk_level="low", registered_on=D(2020, 1, 1))
        add_offender(s, "H-B", risk_level="high", registered_on=D(2026, 1, 1))
        add_offender(s, "H-A", risk_level="high", registered_on=D(2026, 1, 1))
        add_offender(s, "H-OLD", risk_level="high", registered_on=D(2025, 1, 1))
        add_offender(s, "VH", risk_level="very_high", registered_on=D(2026, 3, 1))
        add_offender(s, "M", risk_level="medium", registered_on=D(2024, 1, 1))
    ob = run(engine, policy, D(2026, 6, 1))
    assert refs(ob.overdue_visits) == ["VH", "H-OLD", "H-A", "H-B", "M", "L-OLD"]
    assert refs(ob.overdue_risk_reviews) == ["VH", "H-OLD", "H-A", "H-B", "M", "L-OLD"]
    # The most overdue case is the low-risk one: worst by days, whatever its risk.
    assert (ob.summary.most_overdue_days, ob.summary.most_overdue_ref) == (2315, "L-OLD")


def test_summary_age_band_edges(engine: Engine, policy: Policy) -> None:
    as_of = D(2026, 6, 1)
    days = {"D7": 7, "D8": 8, "D28": 28, "D29": 29, "D90": 90, "D91": 91}
    with transaction(engine) as s:
        for ref, n in days.items():
            # very_high, no visit: due = S + 28 days, so choose S to give exactly n days overdue.
            start = as_of - timedelta(days=n + 28)
            add_offender(s, ref, risk_level="very_high" if n < 50 else "high", registered_on=start)
        add_offender(s, "SOON", risk_level="low", registered_on=as_of - timedelta(days=20))
    ob = run(engine, policy, as_of)
    assert {i.ref: i.days_overdue for i in ob.overdue_visits} == days
    sm = ob.summary
    assert sm.by_age == {"1-7": 1, "8-28": 2, "29-90": 2, "91+": 1}
    assert sm.by_risk == {"very_high": 4, "high": 2, "medium": 0, "low": 0}
    assert sm.risk_by_age == {
        "very_high": {"1-7": 1, "8-28": 2, "29-90": 1, "91+": 0},
        "high": {"1-7": 0, "8-28": 0, "29-90": 1, "91+": 1},
        "medium": {"1-7": 0, "8-28": 0, "29-90": 0, "91+": 0},
        "low": {"1-7": 0, "8-28": 0, "29-90": 0, "91+": 0},
    }
    assert (sm.most_overdue_days, sm.most_overdue_ref) == (91, "D91")
    assert (sm.active_caseload, sm.overdue_visits, sm.due_soon) == (7, 6, 1)
    assert sm.caseload_by_risk == {"very_high": 4, "high": 2, "medium": 0, "low": 1}
    assert sm.by_team == {"T1": 6}


def test_most_overdue_ties_break_by_risk_then_ref(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        for ref, risk in (("Z", "very_high"), ("B", "high"), ("A", "high")):
            add_offender(s, ref, risk_level=risk, registered_on=D(2026, 1, 1))
    sm = run(engine, policy, D(2026, 6, 1)).summary
    assert (sm.most_overdue_ref, sm.most_overdue_days) == ("Z", 123)
    with transaction(engine) as s:
        add_offender(s, "Y", risk_level="low", registered_on=D(2026, 1, 1))
    with transaction(engine) as s:
        s.get_one(Offender, "Z").risk_level = "low"
    sm = run(engine, policy, D(2026, 6, 1)).summary
    assert sm.most_overdue_ref == "A"


# ---------------------------------------------------------------- personal data and contract


def test_personal_data_only_when_policy_allows(engine: Engine, policy: Policy, names_policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", surname="Testperson", forenames="Alex", date_of_birth=D(1970, 1, 2))
        add_offender(s, "R2", status="missing", surname="Sample", forenames="Sam")
    off = run(engine, policy, D(2026, 6, 1))
    assert off.include_names is False
    assert all(i.personal is None for i in (*off.overdue_visits, *off.whereabouts_unknown))
    text = str(off.to_json())
    assert "Testperson" not in text and "Sample" not in text and "1970" not in text

    on = run(engine, names_policy, D(2026, 6, 1))
    assert on.include_names is True
    item = only(on.overdue_visits)
    assert item.personal is not None and item.personal.surname == "Testperson"
    js = item.to_json()
    assert (js["surname"], js["forenames"], js["date_of_birth"]) == ("Testperson", "Alex", "1970-01-02")
    assert on.whereabouts_unknown[0].to_json()["surname"] == "Sample"
    assert on.whereabouts_unknown[0].to_json()["date_of_birth"] is None


def test_json_contract_keys(engine: Engine, policy: Policy) -> None:
    with transaction(engine) as s:
        add_offender(s, "R1", risk_level="high")
        add_offender(s, "R2", status="missing")
        add_offender(s, "R3", registered_on=D(2026, 5, 10))
    js = run(engine, policy, D(2026, 6, 1)).to_json()
    assert list(js) == [
        "as_of",
        "overdue_visits",
        "due_soon",
        "overdue_risk_reviews",
        "overdue_notifications",
        "whereabouts_unknown",
        "not_in_extract",
        "reactive_high_risk",
        "summary",
    ]
    assert js["as_of"] == "2026-06-01"
    contract = {"ref", "risk_level", "team", "offender_manager", "due_date", "days_overdue"}
    assert contract | {"last_visit", "failed_attempts"} <= set(js["overdue_visits"][0])
    assert contract | {"last_visit", "failed_attempts", "due_in_days"} <= set(js["due_soon"][0])
    assert {"active_caseload", "overdue_visits", "by_risk", "by_team", "by_age", "most_overdue_days"} <= set(
        js["summary"]
    )
    assert set(js["summary"]["by_age"]) == {"1-7", "8-28", "29-90", "91+"}
    assert set(js["summary"]["by_risk"]) == {"very_high", "high", "medium", "low"}
    assert js["whereabouts_unknown"][0]["ref"] == "R2"


def test_scan_issues_one_statement(engine: Engine, policy: Policy) -> None:
    """Set-based: the visit history is reduced in the database, not row by row in Python.

    With visit facts kept by the import (monitor.register.derived) the scan is one
    statement; without them (rows written here by the builders) one more, set-based.
    (Besides these, one read of the register's one-row state says whether the practice
    measures are on: a primary-key lookup, not counted here.)
    """
    with transaction(engine) as s:
        for n in range(30):
            add_offender(s, f"R{n:02d}", risk_level="high")
            for k in range(5):
                add_visit(s, f"V{n:02d}{k}", f"R{n:02d}", D(2026, 1, 1) + timedelta(days=k * 20), outcome="no_access")
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (
            statement.lstrip().upper().startswith(("SELECT", "WITH"))
            and "visit_facts_state.practice_columns" not in statement
        ):
            statements.append(statement)

    def counted() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            ob = run(engine, policy, D(2026, 6, 1))
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert len(ob.overdue_visits) == 30 and all(i.failed_attempts == 5 for i in ob.overdue_visits)
        return len(statements)

    assert counted() == 2
    with transaction(engine) as s:
        import_run = ImportRun(source="test", started_at=NOW, finished_at=NOW, outcome="ok", counts={})
        s.add(import_run)
        s.flush()
        derived.refresh(s, import_run.id)
    assert counted() == 1


# ---------------------------------------------------------------- same answers on both backends


def _random_register(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    risks = ["very_high", "high", "high", "medium", "medium", "medium", "low", "low", "low", "low"]
    statuses = ["community"] * 12 + ["custody", "hospital", "abroad", "missing", "missing", "deceased", "deregistered"]
    base = D(2026, 6, 1)
    with transaction(engine) as s:
        vid = 0
        for n in range(250):
            registered = base - timedelta(days=rng.randint(-20, 2500))
            since = registered + timedelta(days=rng.randint(0, 900)) if rng.random() < 0.4 else None
            add_offender(
                s,
                f"SYN-{n:04d}",
                risk_level=rng.choice(risks),
                status=rng.choice(statuses),
                team=rng.choice(["NORTH", "SOUTH", "EAST"]),
                offender_manager=f"OM{rng.randint(1, 9)}",
                registered_on=registered,
                status_since=since,
                management="reactive" if rng.random() < 0.15 else "active",
                risk_assessed_on=base - timedelta(days=rng.randint(0, 700)) if rng.random() < 0.8 else None,
                last_notified_on=base - timedelta(days=rng.randint(0, 500)) if rng.random() < 0.8 else None,
                no_fixed_abode=rng.random() < 0.05,
                registration_ends=base + timedelta(days=rng.randint(-30, 30)) if rng.random() < 0.1 else None,
                surname="Testperson",
                forenames=f"Fake{n}",
            )
            for _ in range(rng.randint(0, 12)):
                vid += 1
                add_visit(
                    s,
                    f"V{vid:05d}",
                    f"SYN-{n:04d}",
                    base - timedelta(days=rng.randint(-30, 800)),
                    outcome=rng.choice(["completed", "completed", "no_access", "cancelled"]),
                    visit_type="home" if rng.random() < 0.85 else "other",
                )


def test_same_results_on_sqlite_and_postgresql(
    tmp_path: Path, request: pytest.FixtureRequest, policy: Policy, names_policy: Policy
) -> None:
    results: dict[str, list[dict[str, Any]]] = {}
    for backend in ("sqlite", "postgresql"):
        folder = tmp_path / backend
        folder.mkdir()
        eng = make_engine(new_database_url(backend, folder, request))
        try:
            _random_register(eng, seed=20261126)
            results[backend] = [
                run(eng, policy, D(2026, 6, 1)).to_json(),
                run(eng, names_policy, D(2026, 6, 1), team="NORTH").to_json(),
                run(eng, policy, D(2026, 2, 28), officer="OM3").to_json(),
                run(eng, policy, D(2028, 2, 29)).to_json(),
            ]
        finally:
            eng.dispose()
    assert results["sqlite"] == results["postgresql"]
    first = results["sqlite"][0]
    # The register is rich enough to exercise every section.
    for key in ("overdue_visits", "due_soon", "overdue_risk_reviews", "overdue_notifications", "whereabouts_unknown"):
        assert first[key], key
    assert any(i["failed_attempts"] >= 2 for i in first["overdue_visits"])


def test_as_of_before_status_since_owes_nothing_from_that_status(
    engine: Engine, make_config: Callable[..., Config]
) -> None:
    """Issue 8: an --as-of earlier than status_since showed negative days.

    The register keeps no status history, so on a date before status_since the person was
    not yet in their current status: nothing that runs from S (a visit, a review, "missing
    since") is owed or listed yet. They are still registered, so they count in the caseload.
    """
    policy = make_config(policy={"first_visit_within": "P7D"}).policy
    with transaction(engine) as s:
        add_offender(s, "BACK", status="community", status_since=D(2026, 6, 10))  # returns on 10 June
        add_offender(s, "GONE", status="missing", status_since=D(2026, 6, 10))  # missing from 10 June
    before = run(engine, policy, D(2026, 6, 5))
    data = before.to_json()
    assert data["whereabouts_unknown"] == [] and data["due_soon"] == [] and data["overdue_visits"] == []
    assert data["overdue_risk_reviews"] == []
    assert before.summary.active_caseload == 2
    for section in ("overdue_visits", "overdue_risk_reviews", "overdue_notifications"):
        assert all(item["days_overdue"] > 0 for item in data[section])
    # From status_since on, the rules apply as usual.
    on = run(engine, policy, D(2026, 6, 10))
    assert [(u.ref, u.days_missing) for u in on.whereabouts_unknown] == [("GONE", 0)]
    assert [(i.ref, i.due_date, i.days_overdue) for i in on.due_soon] == [("BACK", D(2026, 6, 17), -7)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["very_high", "high", "medium", "low"]),
            st.integers(-30, 40),  # few values: many ties on days
            st.sampled_from(["R-1", "R-2", "R-10", "a", "B", ""]),  # and on refs
        ),
        max_size=40,
    )
)
def test_items_sorted_in_contract_order(rows: list[tuple[str, int, str]]) -> None:
    """The scan's three stable sorts give exactly the contract's order (risk, most overdue, ref)."""
    from monitor.rules.scan_parts import sort_items as _sort_items

    items = [Item("visit", ref, risk, "T", "OM", date(2026, 1, 1), days) for risk, days, ref in rows]
    fast = list(items)
    _sort_items(fast)
    assert fast == sorted(items, key=lambda i: i.sort_key)
