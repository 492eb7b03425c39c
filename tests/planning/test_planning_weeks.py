"""Weeks as the planner counts them, and the ``[plan]`` settings.

Monday to Sunday; ISO weeks across the year's end (28 Dec 2026 to 3 Jan 2027 is 2026-W53);
an absence takes its share of working days only. A bad ``[plan]`` value stops start-up
naming the key, the value and what was expected.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core import config as config_module
from monitor.core.plan_settings import PLAN_DEFAULTS, PlanSettings
from monitor.planning.weeks import iso_week, share_away, week_end, week_start, weeks_away, working_days


@given(st.dates(date(2000, 1, 3), date(2099, 12, 25)))
def test_a_week_is_monday_to_sunday_and_holds_its_day(day: date) -> None:
    first, last = week_start(day), week_end(day)
    assert first.weekday() == 0 and last.weekday() == 6 and first <= day <= last and (last - first).days == 6
    assert iso_week(day) == iso_week(first) == iso_week(last)
    assert working_days(first, last) == 5


def test_the_week_across_the_year_s_end() -> None:
    for day in (date(2026, 12, 28), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 3)):
        assert week_start(day) == date(2026, 12, 28) and iso_week(day) == "2026-W53"
    assert iso_week(date(2027, 1, 4)) == "2027-W01"


@given(st.dates(date(2020, 1, 1), date(2030, 1, 1)), st.integers(0, 60))
def test_working_days_count_mondays_to_fridays(first: date, length: int) -> None:
    last = first + timedelta(days=length)
    assert working_days(first, last) == sum(1 for n in range(length + 1) if (first + timedelta(days=n)).weekday() < 5)
    assert working_days(last + timedelta(days=1), last) == 0


def test_absences_take_their_share_of_working_days() -> None:
    monday, sunday = date(2026, 12, 7), date(2026, 12, 13)
    assert share_away([(monday, sunday, 1.0)], monday, sunday) == 1.0
    assert share_away([(date(2026, 12, 12), date(2026, 12, 13), 1.0)], monday, sunday) == 0.0  # a weekend
    assert share_away([(monday, date(2026, 12, 8), 0.5)], monday, sunday) == pytest.approx(0.2)
    # Overlapping absences never take more than the week.
    assert share_away([(monday, sunday, 1.0), (monday, sunday, 1.0)], monday, sunday) == 1.0
    assert weeks_away([(date(2026, 11, 2), date(2026, 11, 13), 1.0)], date(2026, 9, 1), date(2026, 11, 30)) == 2.0


def test_plan_defaults_are_the_settings_defaults() -> None:
    built = config_module.load().plan
    assert built == PlanSettings()
    assert PLAN_DEFAULTS["growth_per_year"] == "" and built.growth_per_year is None


@pytest.mark.parametrize(
    ("values", "key", "expected"),
    [
        ({"default_visits_per_week": -1}, "plan.default_visits_per_week", "from 0 to 100"),
        ({"default_visits_per_week": "3"}, "plan.default_visits_per_week", "from 0 to 100"),
        ({"growth_per_year": 1.5}, "plan.growth_per_year", "from 0 to 1"),
        ({"growth_per_year": "3%"}, "plan.growth_per_year", "register's own rate"),
        ({"weeks": 0}, "plan.weeks", "whole number from 1 to 104"),
        ({"weeks": 26.5}, "plan.weeks", "whole number from 1 to 104"),
        ({"backtest_weeks": 53}, "plan.backtest_weeks", "whole number from 0 to 52"),
        ({"officer_digest_limit": True}, "plan.officer_digest_limit", "whole number from 1 to 100"),
    ],
)
def test_a_bad_plan_value_names_key_value_and_expectation(values: dict[str, object], key: str, expected: str) -> None:
    with pytest.raises(config_module.ConfigError) as caught:
        config_module.load(overrides={"plan": values})
    assert caught.value.key == key and expected in str(caught.value)


def test_configured_plan_values_are_read() -> None:
    plan = config_module.load(
        overrides={"plan": {"growth_per_year": 0.03, "weeks": 13, "default_visits_per_week": 2.5}}
    ).plan
    assert (plan.growth_per_year, plan.weeks, plan.default_visits_per_week) == (0.03, 13, 2.5)
