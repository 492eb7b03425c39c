"""The ``[policy]`` keys of the practice-quality measures: plan intervals, paired and varied
visits, supervisor reviews and caseloads.

Kept beside ``config.py`` rather than inside it because these keys are one job (what the
inspectors look at besides the backlog) and ``config.py`` is already long. Their defaults
live here, merged into ``config.DEFAULTS["policy"]``, and ``config/monitor.toml`` documents
them with the same values (a test keeps the two in step). ``config.build`` calls
:func:`parse` and turns a :class:`SettingError` into its ConfigError (key, bad value, what
was expected).

Why these defaults:

* ``caseload_ceiling = 50``: HMICFRS and the joint MAPPA inspection use about 50 cases per
  offender manager as the benchmark, and found 50 to 100 in practice, with quality falling
  above it.
* ``caseload_weights``: half of an offender manager's work per case is the same whatever
  the risk (risk assessment, notifications, MAPPA meetings, recording) and half follows
  the home visits the default intervals ask for (12, 4, 2 and 1 a year). Weighting each
  case by ``0.5 + 0.5 x its visits / the average case's visits`` (2.06 a year at the
  national risk mix of 2/18/30/50 %) and rounding gives 3, 1.5, 1 and 0.75: a caseload
  with the national mix weighs what it counts, so one ceiling serves both figures.
* ``supervisor_review_interval = P3M``: a supervisor looking at each case every quarter is
  common local practice; no national figure exists, so it is per risk level and yours to set.
* ``lone_visit_lookback = P90D``: a quarter, long enough for every very high and high risk
  case to have been visited at least once at the default intervals.
* ``predictable_visits_last = 3``: three visits on the same weekday, at the same time of
  day or never in the evening is a pattern a person can plan around.
* ``plan_interval_warn_multiple = 2``: a plan twice as long as the risk level's default
  (a high-risk person seen every six months) is worth a second look.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor.core import checks
from monitor.core.durations import Duration
from monitor.core.web_settings import SettingError

RISK_LEVELS: tuple[str, ...] = ("very_high", "high", "medium", "low")
#: ``practice_measures``: "auto" shows them when the register holds any practice column.
PRACTICE_CHOICES: tuple[str, ...] = ("auto", "on", "off")

PRACTICE_DEFAULTS: dict[str, Any] = {
    "practice_measures": "auto",
    "plan_interval_warn_multiple": 2,
    "lone_visit_lookback": "P90D",
    "predictable_visits_last": 3,
    "supervisor_review_interval": {"very_high": "P3M", "high": "P3M", "medium": "P3M", "low": "P3M"},
    "caseload_ceiling": 50,
    "caseload_weights": {"very_high": 3.0, "high": 1.5, "medium": 1.0, "low": 0.75},
}
#: Keys that may be one value for every risk level (``supervisor_review_interval = "P3M"``).
PER_RISK_SHORTHAND: frozenset[str] = frozenset({"policy.supervisor_review_interval"})


@dataclass(frozen=True)
class PracticePolicy:
    """The practice-quality keys, checked (see the module docstring for the defaults)."""

    measures: str
    plan_interval_warn_multiple: float
    lone_visit_lookback: Duration
    predictable_visits_last: int
    supervisor_review_interval: dict[str, Duration]
    caseload_ceiling: int
    caseload_weights: dict[str, float]

    @classmethod
    def default(cls) -> PracticePolicy:
        return parse(PRACTICE_DEFAULTS)


def parse(raw: Mapping[str, Any]) -> PracticePolicy:
    """The practice keys of a merged ``[policy]`` table, or SettingError on the first bad one."""
    measures = raw["practice_measures"]
    if measures not in PRACTICE_CHOICES:
        raise SettingError("policy.practice_measures", measures, " or ".join(f'"{c}"' for c in PRACTICE_CHOICES))
    multiple = _number(raw, "plan_interval_warn_multiple", 1, 10)
    lookback = _duration(raw["lone_visit_lookback"], "policy.lone_visit_lookback")
    if lookback.months * 31 + lookback.days > 731:
        raise SettingError("policy.lone_visit_lookback", raw["lone_visit_lookback"], "a duration of at most P2Y")
    last = raw["predictable_visits_last"]
    if problem := checks.whole_number_problem(last, 2, 10):
        raise SettingError("policy.predictable_visits_last", last, problem)
    ceiling = raw["caseload_ceiling"]
    if problem := checks.whole_number_problem(ceiling, 1, 1000):
        raise SettingError("policy.caseload_ceiling", ceiling, problem)
    reviews = _per_risk(raw, "supervisor_review_interval", lambda v, key: _duration(v, key))
    weights = _per_risk(raw, "caseload_weights", lambda v, key: _weight(v, key))
    return PracticePolicy(
        measures=measures,
        plan_interval_warn_multiple=multiple,
        lone_visit_lookback=lookback,
        predictable_visits_last=last,
        supervisor_review_interval=reviews,
        caseload_ceiling=ceiling,
        caseload_weights=weights,
    )


def _duration(value: object, key: str) -> Duration:
    try:
        duration = Duration.parse(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise SettingError(key, value, "an ISO 8601 duration such as P1M, P28D or P1Y") from None
    if problem := checks.duration_problem(duration, positive=True):
        raise SettingError(key, value, problem)
    return duration


def _number(raw: Mapping[str, Any], name: str, low: float, high: float) -> float:
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise SettingError(f"policy.{name}", value, f"a number from {low:g} to {high:g}")
    return float(value)


def _weight(value: object, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 20:
        raise SettingError(key, value, "a number from 0 to 20")
    return float(value)


def _per_risk(raw: Mapping[str, Any], name: str, read: Callable[[object, str], Any]) -> dict[str, Any]:
    key = f"policy.{name}"
    value = raw[name]
    if f"policy.{name}" in PER_RISK_SHORTHAND and isinstance(value, str):
        value = dict.fromkeys(RISK_LEVELS, value)
    if not isinstance(value, Mapping) or any(r not in value for r in RISK_LEVELS):
        raise SettingError(key, value, f"a value for each of {', '.join(RISK_LEVELS)}")
    return {r: read(value[r], f"{key}.{r}") for r in RISK_LEVELS}
