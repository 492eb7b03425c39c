"""docs/reference/reports.md: the keys of ``report --format json`` and the columns of ``--format csv``.

The keys are read from the report's own result types: one entry of every list is made
(with example values by type) and written through the same ``to_json`` and CSV code the
report uses, so a key added to the code appears here, or fails the test for want of words
(``JSON_WORDS``, ``CSV_WORDS``).
"""

from __future__ import annotations

import copy
import dataclasses
import re
import types
import typing
from datetime import date
from typing import Any

from tools.reference.common import code, finish, head, table

TOP_WORDS: dict[str, str] = {
    "as_of": "The date the report is for (YYYY-MM-DD, London date by default).",
    "overdue_visits": "Home visits past their due date, worst first (risk, then days overdue, then ref).",
    "due_soon": "Home visits due within `[policy] due_soon_days` (due today included).",
    "overdue_risk_reviews": "Risk reviews (ARMS reassessments) past their due date.",
    "overdue_notifications": "Periodic notifications (s.85) past their due date.",
    "whereabouts_unknown": "People whose status is `missing`: they owe no visit but are never dropped.",
    "not_in_extract": "People the latest full extract left out (kept in the register and in every list above).",
    "reactive_high_risk": "Very high and high risk people managed reactively, so owing no routine visit.",
    "lone_visits": "Practice measures: completed home visits made with no second officer in the look-back.",
    "predictable_visits": "Practice measures: people whose last visits fell on one weekday, within two hours, "
    "or never in the evening.",
    "overdue_supervisor_reviews": "Practice measures: supervisor reviews of a case past their due date.",
    "long_plan_intervals": "Practice measures: plan visit intervals longer than "
    "`[policy] plan_interval_warn_multiple` times the risk level's default.",
    "summary": "The backlog's figures for the whole scope (always complete, even with `--section`).",
}

#: Each key of a list's entries; ``(list, key)`` where one list means something else by it.
JSON_WORDS: dict[str, str] = {
    "ref": "Case reference.",
    "risk_level": "`very_high`, `high`, `medium` or `low`.",
    "team": "The case's team code.",
    "offender_manager": "The managing officer's id.",
    "due_date": "When it fell or falls due.",
    "days_overdue": "`as_of` − `due_date` in days: positive when overdue, zero or negative when due soon.",
    "last_visit": "The last completed home visit counted (since the current status began), or null.",
    "failed_attempts": "No-access home visits since the last completed one.",
    "warrant_flag": "true when `failed_attempts` ≥ `[policy] failed_attempts_flag` (2: the s.96B threshold).",
    "due_in_days": "Days until due (due soon only; 0 = due today).",
    "last_assessed": "The last risk assessment, or null.",
    "last_notified": "The last periodic notification, or null.",
    "no_fixed_abode": "true when the person notifies weekly.",
    "missing_since": "The day their status became `missing`.",
    "days_missing": "Days since `missing_since`.",
    "status": "The person's status in the register.",
    "absent_since": "The day of the first full extract that left them out.",
    "days_absent": "Days since `absent_since`.",
    "surname": "Only with `[policy] include_names = true`.",
    "forenames": "Only with `[policy] include_names = true`.",
    "date_of_birth": "Only with `[policy] include_names = true`.",
    ("whereabouts_unknown", "last_visit"): "The last completed home visit on record, or null.",
    "interval": "Practice measures, visits: the visit interval that applied (ISO 8601, e.g. `P2M`).",
    "interval_source": "Practice measures, visits: `plan` (the person's `visit_interval`) or `risk_level`.",
    "mappa_category": "Practice measures: MAPPA category 1-4, or null when not given.",
    "mappa_level": "Practice measures: MAPPA level 1-3, or null when not given (levels 2 and 3 are listed "
    "first within their risk level).",
    "visit_id": "The visit's identifier in visits.csv.",
    "visit_date": "The day of the visit (London date).",
    "officer": "The officer who made it (the visit's `officer`, else the case's offender manager).",
    "last_visits": "How many of the last completed home visits were judged (`[policy] predictable_visits_last`).",
    "same_weekday": "The weekday all of them fell on, or null.",
    "same_time": "The two-hour window all of them fell in (`10:05-11:40`), or null.",
    "never_in_evening": "true when none was from 18:00 to midnight; null when not every visit had a time.",
    "pattern": 'The pattern in words ("last 3 visits all on Tuesdays, none in the evening").',
    "last_reviewed": "The last supervisor review, or null (never, or before the current status began).",
    ("long_plan_intervals", "interval"): "The person's plan visit interval.",
    "default_interval": "The risk level's default interval it is held against.",
}

SUMMARY_WORDS: dict[str, str] = {
    "active_caseload": "People in scope: registered, not ended, not deceased or deregistered.",
    "overdue_visits": "How many home visits are overdue.",
    "by_risk": "Overdue visits per risk level.",
    "by_team": "Overdue visits per team.",
    "by_age": "Overdue visits per age band of days overdue: `1-7`, `8-28`, `29-90`, `91+`.",
    "most_overdue_days": "Days overdue of the most overdue visit (null when none).",
    "most_overdue_ref": "Its case reference.",
    "due_soon": "How many visits are due soon.",
    "overdue_risk_reviews": "How many risk reviews are overdue.",
    "overdue_notifications": "How many notifications are overdue.",
    "whereabouts_unknown": "How many people are missing.",
    "failed_attempt_flags": "Overdue or due-soon visits with the warrant flag.",
    "caseload_by_team": "Active caseload per team.",
    "caseload_by_risk": "Active caseload per risk level.",
    "risk_by_age": "Overdue visits per risk level, then per age band.",
    "not_in_extract": "How many people the latest full extract left out.",
    "reactive_high_risk": "How many very high or high risk people are managed reactively.",
    "practice_recorded": "Practice measures: the practice columns the register holds (a measure whose column "
    "is missing says null: not recorded).",
    "plan_intervals": "People owing visits whose plan sets their visit interval.",
    "long_plan_intervals": "How many plan intervals are long (the `long_plan_intervals` list).",
    "lone_visit_lookback": "The look-back over which visits are judged (`[policy] lone_visit_lookback`).",
    "home_visits_in_lookback": "Completed home visits in the look-back whose pairing or announcement is recorded.",
    "lone_visits": "How many of them were lone (null: not recorded).",
    "lone_visit_share": "Lone visits over those visits, a fraction to four places (null: none, or not recorded).",
    "lone_visit_share_by_team": "The same per team (the person's team).",
    "lone_visit_share_by_officer": "The same per visiting officer.",
    "announced_visits": "Announced completed home visits in the look-back (null: not recorded).",
    "announced_share": "Their share of the look-back's completed home visits.",
    "announced_share_by_team": "The same per team.",
    "predictable_visits": "How many people are in `predictable_visits`.",
    "overdue_supervisor_reviews": "How many supervisor reviews are overdue (null: not recorded).",
    "caseload_ceiling": "`[policy] caseload_ceiling`.",
    "officers_over_ceiling": "Offender managers whose caseload or weighted caseload is above it.",
    "officer_caseloads": "Per offender manager: `caseload` (people), `weighted` (by `[policy] caseload_weights`) "
    "and `over_ceiling`.",
    "mappa": "Caseload by MAPPA category and level, and overdue visits by level (`none`: not given).",
}

CSV_WORDS: dict[str, str] = {
    "section": "Which list the row belongs to (the values below; also `report --section` names).",
    "ref": "Case reference.",
    "risk_level": "`very_high`, `high`, `medium` or `low`.",
    "team": "The case's team code.",
    "offender_manager": "The managing officer's id.",
    "due_date": "When it fell or falls due (blank for whereabouts unknown and the last two sections).",
    "days_overdue": "`as_of` − `due_date` in days (zero or negative in `due_soon`).",
    "last_done": "The last completed home visit, risk assessment or notification, by section.",
    "failed_attempts": "Visits: no-access home visits since the last completed one.",
    "warrant_flag": "Visits: `true` at `[policy] failed_attempts_flag` failed attempts or more.",
    "due_in_days": "`due_soon` only: days until due.",
    "no_fixed_abode": "Notifications: `true` when the person notifies weekly.",
    "missing_since": "Whereabouts unknown: the day their status became `missing`.",
    "days_missing": "Whereabouts unknown: days since then.",
    "absent_since": "`not_in_extract`: the day of the first full extract that left them out.",
    "days_absent": "`not_in_extract`: days since then.",
    "status": "`not_in_extract` and `reactive_high_risk`: the person's status.",
    "surname": "Only with `[policy] include_names = true`.",
    "forenames": "Only with `[policy] include_names = true`.",
    "date_of_birth": "Only with `[policy] include_names = true`.",
    "interval": "Practice measures, visits: the interval that applied; `long_plan_interval`: the plan's.",
    "interval_source": "Practice measures, visits: `plan` or `risk_level`.",
    "mappa_category": "Practice measures: MAPPA category 1-4 (blank: not given).",
    "mappa_level": "Practice measures: MAPPA level 1-3 (blank: not given).",
    "visit_id": "`lone_visit`: the visit's identifier.",
    "visit_date": "`lone_visit`: the day of the visit.",
    "officer": "`lone_visit`: the officer who made it.",
    "pattern": "`predictable_visit`: the pattern in words.",
    "default_interval": "`long_plan_interval`: the risk level's default interval.",
}

#: The Item kind and days overdue that make an entry of each list of Items.
ITEM_KINDS: dict[str, tuple[str, int]] = {
    "overdue_visits": ("visit", 12),
    "due_soon": ("visit", -3),
    "overdue_risk_reviews": ("risk_review", 12),
    "overdue_notifications": ("notification", 12),
}
_EXAMPLE_TEXT = {"ref": "RSO-000123", "risk_level": "high", "team": "TEAM-01", "offender_manager": "OM-0001"}


def _example(cls: type, names: bool = False, **fixed: Any) -> Any:
    """An instance of a result dataclass with a plausible value of each field's type."""
    from monitor.rules.case_tags import CaseTags
    from monitor.rules.obligations import Personal

    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in fixed:
            values[f.name] = fixed[f.name]
            continue
        hint = hints[f.name]
        options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        options = tuple(o for o in options if o is not type(None))
        base = typing.get_origin(options[0]) or options[0]
        if base is CaseTags:  # practice measures on: every entry carries its tags
            values[f.name] = CaseTags("P2M", "plan", 1, 2)
        elif base is Personal:
            values[f.name] = Personal("Fakename", "Testy", date(1970, 1, 2)) if names else None
        elif base is str:
            values[f.name] = _EXAMPLE_TEXT.get(f.name, "community" if f.name == "status" else "x")
        elif base is bool:
            values[f.name] = False
        elif base is int:
            values[f.name] = 5
        elif base is date:
            values[f.name] = date(2026, 11, 1)
        elif base in (dict, list, set, frozenset, tuple):
            values[f.name] = base()
        elif f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        else:
            values[f.name] = None
    return cls(**values)


#: Fields a list's example entry needs beyond a plausible value of their type.
EXAMPLE_FIELDS: dict[str, dict[str, Any]] = {"predictable_visits": {"weekday": 1, "window": (605, 700)}}


def _hints(cls: type) -> dict[str, Any]:
    """``cls``'s field types, the practice measures' types (imported only when on) included."""
    from monitor.rules import case_tags, practice

    return typing.get_type_hints(cls, localns={**vars(practice), **vars(case_tags)})


def json_lists(names: bool = False) -> dict[str, dict[str, Any]]:
    """Each list of the JSON report and the keys (with an example value) of its entries."""
    from monitor.rules.obligations import LISTS, Item, Obligations

    hints = _hints(Obligations)
    out: dict[str, dict[str, Any]] = {}
    for name in LISTS:
        (element,) = typing.get_args(hints[name])
        if element is Item:
            kind, days = ITEM_KINDS.get(name, ("visit", 12))
            entry = _example(Item, names, kind=kind, days_overdue=days)
            out[name] = entry.to_json(2)
        else:
            out[name] = _example(element, names, **EXAMPLE_FIELDS.get(name, {})).to_json()
    return out


def summary_keys() -> list[str]:
    """The summary's keys: the backlog's, then the practice measures' (when they are on)."""
    from monitor.core.config import DEFAULTS, build
    from monitor.rules.obligations import Obligations, Summary
    from monitor.rules.practice import PracticeFigures

    summary = _example(Summary)
    policy = build(copy.deepcopy(DEFAULTS)).policy.practice
    figures = PracticeFigures(recorded=frozenset(), policy=policy, lookback_start=date(2026, 8, 2))
    obligations = _example(Obligations, summary=summary, practice=figures)
    return list(summary.to_json()) + list(figures.summary_json(obligations))


def top_keys() -> list[str]:
    from monitor.rules.obligations import LISTS

    return ["as_of", *LISTS, "summary"]


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "integer"
    if value is None:
        return "text or null"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        return "date"
    return "text"


def _words(list_name: str, key: str) -> str:
    return JSON_WORDS.get((list_name, key)) or JSON_WORDS.get(key, "")  # type: ignore[call-overload]


def page() -> str:
    from monitor.reports.export import CSV_COLUMNS, CSV_PERSONAL_COLUMNS, CSV_PRACTICE_COLUMNS
    from monitor.reports.sections import SECTION_LISTS

    lines = head(
        "Report formats: JSON and CSV",
        "For whoever scripts against `visit-monitor report` or opens its CSV in a spreadsheet: every key "
        "and column, and what it means.",
        "Dates are `YYYY-MM-DD`. Lists are in contract order: risk (very high first), then most overdue, "
        "then reference. Names and dates of birth appear only with `[policy] include_names = true`. "
        "`--section NAME` (JSON and CSV) writes only the named lists; the others' keys are then absent, "
        "never empty, and the summary still counts everything.",
    )
    lines += ["## JSON (`--format json`)", "", "The top-level keys, in order:", ""]
    lines += table(("Key", "What it holds"), [(code(k), TOP_WORDS.get(k, "")) for k in top_keys()])
    plain, named = json_lists(), json_lists(names=True)
    for list_name, entry in plain.items():
        lines += [f"### {code(list_name)} entries", ""]
        rows = [(code(k), _type(v), _words(list_name, k)) for k, v in entry.items()]
        rows += [(code(k), _type(v), _words(list_name, k)) for k, v in named[list_name].items() if k not in entry]
        lines += table(("Key", "Type", "Meaning"), rows)
    lines += ["### `summary`", ""]
    lines += table(("Key", "Meaning"), [(code(k), SUMMARY_WORDS.get(k, "")) for k in summary_keys()])

    lines += ["## CSV (`--format csv`)", ""]
    lines += [
        "UTF-8, CRLF line ends, a header row, one row per entry of every list. A text cell starting with "
        "`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` so that a spreadsheet shows it "
        "as text instead of running it; numbers are never changed. The web app's CSV exports have the "
        "same columns, with the protective marking as a row of its own at the top and the bottom.",
        "",
        "Values of `section`: " + ", ".join(code(s) for s in SECTION_LISTS) + ".",
        "",
    ]
    lines += table(
        ("Column", "Meaning"),
        [(code(c), CSV_WORDS.get(c, "")) for c in (*CSV_COLUMNS, *CSV_PRACTICE_COLUMNS, *CSV_PERSONAL_COLUMNS)],
    )
    return finish(lines)


def missing_words() -> list[str]:
    from monitor.reports.export import CSV_COLUMNS, CSV_PERSONAL_COLUMNS, CSV_PRACTICE_COLUMNS

    gaps = [f"JSON key {k}" for k in top_keys() if k not in TOP_WORDS]
    for list_name, entry in json_lists(names=True).items():
        gaps += [f"JSON key {list_name}[].{k}" for k in entry if not _words(list_name, k)]
    gaps += [f"JSON key summary.{k}" for k in summary_keys() if k not in SUMMARY_WORDS]
    gaps += [
        f"CSV column {c}" for c in (*CSV_COLUMNS, *CSV_PRACTICE_COLUMNS, *CSV_PERSONAL_COLUMNS) if c not in CSV_WORDS
    ]
    return gaps
