"""Turning one record's cells into a row's stored values, by the contract in ``specs``.

The reader is forgiving about *form* ("Very High" for ``very_high``, UK dates, datetimes
where a date is expected, blank for a default) and strict about *meaning*: a value that
cannot be understood is never guessed at; the row is rejected with the field and what was
expected (``Bad``). Which columns each file has, which are required and which take fixed
values is ``monitor.register.specs.SPECS``, the one statement of the contract.

Personal data (surname, forenames, date of birth; an officer's name and email) is never
echoed in a reason: those say what was expected, not what was found.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.core.checks import duration_problem
from monitor.core.durations import Duration
from monitor.register.cells import Bad, Cells, ParseState, shown
from monitor.register.specs import (
    ABSENCES,
    OFFENDERS,
    OFFICERS,
    VISITS,
    Spec,
)


def _not_before(name: str, value: date | None, other_name: str, other: date) -> None:
    if value is not None and value < other:
        raise Bad(name, f"must not be before {other_name} ({other.isoformat()}), got {value.isoformat()}")


def _parse_officer(imp: ParseState, cells: Cells) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": cells.text("name", required=True),
    }
    email = cells.text("email", required=True)
    assert email is not None
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or any(ch in email for ch in ' \t<>,;:"()[]\\'):
        raise Bad("email", "expected an email address such as name@police.example")
    out["email"] = email
    out["team"] = cells.text("team", required=True)
    out["role"] = cells.choice("role")
    if cells.present("active"):
        out["active"] = cells.flag("active", default=True)
    if cells.present("sign_in_id"):
        out["sign_in_id"] = cells.text("sign_in_id", required=False)
    if cells.present("visits_per_week"):
        out["visits_per_week"] = _visits_per_week(cells)
    out["absent_since"] = None  # named by this extract: present
    return out


#: The most home visits a week one officer can be said to lead (a typing slip beyond it).
MAX_VISITS_PER_WEEK = 100


def _visits_per_week(cells: Cells) -> int | None:
    raw = cells.raw("visits_per_week")
    if not raw:
        return None  # blank: the officer's observed pace (monitor.planning)
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_VISITS_PER_WEEK:
        raise Bad(
            "visits_per_week",
            f"expected a whole number of home visits a week from 0 to {MAX_VISITS_PER_WEEK}, got {shown(raw)}",
        )
    return int(raw)


def absence_key(officer_id: str, starts_on: date) -> str:
    """The stored key of one absence: its officer and first day (``OM-0001|2026-12-07``)."""
    return f"{officer_id}|{starts_on.isoformat()}"


def _absence_key(imp: ParseState, cells: Cells) -> str:
    officer_id = cells.text("officer_id", required=True)
    starts_on = imp.parse_date(cells, "starts_on", required=True)[0]
    assert officer_id is not None and starts_on is not None
    return absence_key(officer_id, starts_on)


def _parse_absence(imp: ParseState, cells: Cells) -> dict[str, Any]:
    starts_on = imp.parse_date(cells, "starts_on", required=True)[0]
    ends_on = imp.parse_date(cells, "ends_on", required=True)[0]
    assert starts_on is not None and ends_on is not None
    if ends_on < starts_on:
        raise Bad("ends_on", "must not be before starts_on")
    out: dict[str, Any] = {
        "officer_id": cells.text("officer_id", required=True),
        "starts_on": starts_on,
        "ends_on": ends_on,
    }
    if cells.present("fraction"):
        out["fraction"] = _fraction(cells.raw("fraction"))
    out["withdrawn_on"] = None  # named by this extract: current
    return out


def _fraction(raw: str) -> float:
    """The share of each working day away: blank = 1 (whole days); 0.5 or 50% = half."""
    if not raw:
        return 1.0
    percent = raw.endswith("%")
    text = raw[:-1].strip() if percent else raw
    value = -1.0
    if text.isascii() and text.replace(".", "", 1).isdigit():
        value = float(text) / (100 if percent else 1)
    if not 0 < value <= 1:
        # Staff data: the value is not repeated (see NO_ECHO).
        raise Bad("fraction", "expected the share of each working day away, above 0 and at most 1 (0.5 or 50%)")
    return value


def _parse_offender(imp: ParseState, cells: Cells) -> dict[str, Any]:
    out: dict[str, Any] = {
        "risk_level": cells.choice("risk_level"),
        "status": cells.choice("status"),
        "team": cells.text("team", required=True),
        "offender_manager": cells.text("offender_manager", required=True),
    }
    registered_on = imp.parse_date(cells, "registered_on", required=True)[0]
    assert registered_on is not None
    out["registered_on"] = registered_on
    if cells.present("status_since"):
        since = imp.parse_date(cells, "status_since", required=False)[0]
        _not_before("status_since", since, "registered_on", registered_on)
        out["status_since"] = since
    if cells.present("management"):
        out["management"] = cells.choice("management", default="active")
    for name in ("risk_assessed_on", "last_notified_on"):
        if cells.present(name):
            out[name] = imp.parse_date(cells, name, required=False)[0]
    if cells.present("no_fixed_abode"):
        out["no_fixed_abode"] = cells.flag("no_fixed_abode", default=False)
    if cells.present("registration_ends"):
        ends = imp.parse_date(cells, "registration_ends", required=False)[0]
        _not_before("registration_ends", ends, "registered_on", registered_on)
        out["registration_ends"] = ends
    for name in ("surname", "forenames"):
        if cells.present(name):
            out[name] = cells.text(name, required=False)
    if cells.present("date_of_birth"):
        out["date_of_birth"] = imp.parse_date(cells, "date_of_birth", required=False)[0]
    if cells.present("expected_release"):
        # Any date, kept whatever the status: only someone in custody is expected back, and
        # the forecast reads it for them alone (docs/planning.md).
        out["expected_release"] = imp.parse_date(cells, "expected_release", required=False)[0]
    if cells.present("visit_interval"):
        out["visit_interval"] = plan_interval(cells.raw("visit_interval"))
    for name, choices in (("mappa_category", MAPPA_CATEGORIES), ("mappa_level", MAPPA_LEVELS)):
        if cells.present(name):
            out[name] = mappa_number(name, cells.raw(name), choices)
    if cells.present("supervisor_reviewed_on"):
        out["supervisor_reviewed_on"] = imp.parse_date(cells, "supervisor_reviewed_on", required=False)[0]
        out["supervisor_review_recorded"] = True  # blank here: never reviewed
    out["absent_since"] = None  # named by this extract: present
    return out


MAPPA_CATEGORIES = (1, 2, 3, 4)
MAPPA_LEVELS = (1, 2, 3)
#: Words a MAPPA cell may carry before its number ("Category 1", "Cat. 2", "Level 3", "L2").
_MAPPA_WORDS: dict[str, tuple[str, ...]] = {
    "mappa_category": ("category", "cat", "c"),
    "mappa_level": ("level", "lvl", "l"),
}


def plan_interval(raw: str) -> str | None:
    """A risk management plan's visit frequency as canonical ISO 8601 text, None when blank."""
    if not raw:
        return None
    try:
        duration = Duration.parse(raw)
    except ValueError:
        raise Bad(
            "visit_interval", f"expected an ISO 8601 duration such as P2M, P6W or P1Y, got {shown(raw)}"
        ) from None
    if problem := duration_problem(duration, positive=True):
        raise Bad("visit_interval", f"expected {problem}, got {shown(raw)}")
    return str(duration)


def mappa_number(name: str, raw: str, choices: tuple[int, ...]) -> int | None:
    """A MAPPA category (1-4) or level (1-3): a number, perhaps after its word ("Level 2")."""
    if not raw:
        return None
    text = raw.lower().replace(".", " ").replace(":", " ").strip()
    for word in _MAPPA_WORDS[name]:
        if text.startswith(word) and text[len(word) :].strip().isdigit():
            text = text[len(word) :].strip()
            break
    if not (text.isascii() and text.isdigit()) or int(text) not in choices:
        expected = ", ".join(str(c) for c in choices)
        word = _MAPPA_WORDS[name][0].title()
        raise Bad(name, f"expected one of {expected} (perhaps after '{word}'), got {shown(raw)}")
    return int(text)


def _parse_visit(imp: ParseState, cells: Cells) -> dict[str, Any]:
    ref = cells.text("ref", required=True)
    assert ref is not None
    if ref not in imp.known_refs:
        raise Bad("ref", f"unknown ref {shown(ref)}: not in this extract's offenders.csv or the register")
    visit_date, visited_at = imp.parse_date(cells, "visit_date", required=True)
    out: dict[str, Any] = {
        "ref": ref,
        "visit_date": visit_date,
        "visited_at": visited_at,
        "outcome": cells.choice("outcome"),
    }
    if cells.present("visit_type"):
        out["visit_type"] = cells.choice("visit_type", default="home")
    if cells.present("officer"):
        out["officer"] = cells.text("officer", required=False)
    out["visit_minute"] = None if visited_at is None else _local_minute(visited_at, imp.tz)
    if cells.present("second_officer"):
        second = cells.text("second_officer", required=False)
        out["second_officer"] = second
        out["paired"] = second is not None  # blank in the column: no second officer
    if cells.present("announced"):
        out["announced"] = cells.flag("announced", default=False)
    return out


def _local_minute(instant: datetime, tz: ZoneInfo) -> int:
    """Minutes after midnight of ``instant`` on the clock in ``tz``."""
    local = instant.astimezone(tz)
    return local.hour * 60 + local.minute


#: The row parser per file: the stored values besides the key, or Bad.
PARSERS: dict[str, Callable[[ParseState, Cells], dict[str, Any]]] = {
    OFFICERS: _parse_officer,
    OFFENDERS: _parse_offender,
    VISITS: _parse_visit,
    ABSENCES: _parse_absence,
}
#: The key parser of a file whose key is made from several columns (``Spec.key_columns``).
KEY_PARSERS: dict[str, Callable[[ParseState, Cells], str]] = {ABSENCES: _absence_key}


def row_key(imp: ParseState, spec: Spec, cells: Cells) -> str:
    """One row's key: its key column, or the key made from ``spec.key_columns``; or Bad."""
    parse = KEY_PARSERS.get(spec.name)
    if parse is not None:
        return parse(imp, cells)
    key = cells.text(spec.key, required=True)
    assert key is not None
    return key
