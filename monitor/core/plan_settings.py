"""The ``[plan]`` section: what the planner assumes where the register says nothing.

Kept beside ``config.py``, as ``web_settings`` is, because these are the planner's own
rules (monitor.planning) and ``config.py`` is already long. ``config.build`` calls
:func:`parse` and turns a :class:`SettingError` into its ConfigError (key, bad value, what
was expected). Every default here is documented with the same value in
``config/monitor.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.core.web_settings import SettingError

PLAN_DEFAULTS: dict[str, Any] = {
    "default_visits_per_week": 3,
    "growth_per_year": "",
    "weeks": 26,
    "backtest_weeks": 12,
    "officer_digest_limit": 5,
    "clear_within_weeks": 8,
}


@dataclass(frozen=True)
class PlanSettings:
    #: Capacity of an officer with no stated figure and no home visit in the last 12 weeks.
    default_visits_per_week: float = 3.0
    #: New registrations a year per person in the caseload; None: the register's own rate.
    growth_per_year: float | None = None
    #: Weeks a forecast shows.
    weeks: int = 26
    #: Weeks back the forecast's own backtest starts (0: no backtest beside the forecast).
    backtest_weeks: int = 12
    #: Visits the officer digest lists under "suggested for this week" (the rest counted).
    officer_digest_limit: int = 5
    #: The digests' and web pages' target: "N more visits a week would clear them by" the
    #: Monday this many weeks after this week's.
    clear_within_weeks: int = 8


def _number(raw: Mapping[str, Any], name: str, low: float, high: float, expected: str) -> float:
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise SettingError(f"plan.{name}", value, expected)
    return float(value)


def _whole(raw: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingError(f"plan.{name}", value, f"a whole number from {low} to {high}")
    return value


def parse(raw: Mapping[str, Any]) -> PlanSettings:
    """Validate the merged ``[plan]`` table; raise SettingError on the first bad key."""
    growth = raw["growth_per_year"]
    return PlanSettings(
        default_visits_per_week=_number(
            raw, "default_visits_per_week", 0, 100, "a number of home visits a week from 0 to 100"
        ),
        growth_per_year=None
        if growth == ""
        else _number(
            raw,
            "growth_per_year",
            0,
            1,
            'new registrations a year per person in the caseload, from 0 to 1 (0.03 = 3 %), or "" for the '
            "register's own rate",
        ),
        weeks=_whole(raw, "weeks", 1, 104),
        backtest_weeks=_whole(raw, "backtest_weeks", 0, 52),
        officer_digest_limit=_whole(raw, "officer_digest_limit", 1, 100),
        clear_within_weeks=_whole(raw, "clear_within_weeks", 1, 52),
    )
