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

import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.core.checks import duration_problem
from monitor.core.durations import Duration
from monitor.extract.dates import DateReader
from monitor.extract.mapping import Header, normalise_token
from monitor.extract.workbook import ERROR_MARK
from monitor.register.specs import (
    ABSENCES,
    CHOICES,
    FREE_TEXT,
    MAX_LENGTH,
    MAX_LENGTHS,
    NO_ECHO,
    OFFENDERS,
    OFFICERS,
    VISITS,
    Spec,
)

#: Character categories refused even in free text: controls, line and paragraph separators,
#: lone surrogates. A tab is the one control allowed there.
_NEVER = frozenset({"Cc", "Zl", "Zp", "Cs"})

#: Distinct date strings remembered per import (visit dates repeat a lot; datetimes don't).
DATE_CACHE_MAX = 50_000

_TRUE = frozenset({"true", "yes", "1", "y"})
_FALSE = frozenset({"false", "no", "0", "n"})
#: What a true/false field reads (a value map's targets for one are checked against it).
FLAG_SPELLINGS = _TRUE | _FALSE


class Bad(Exception):
    """One row's first problem; becomes a Reject."""

    def __init__(self, field: str | None, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


#: Spellings seen in enum cells ("Very High" -> "very_high"); extracts repeat a handful.
_TOKENS: dict[str, str] = {}


def _shown(value: str) -> str:
    """A value safe and short enough to repeat in a reason (only for non-personal fields)."""
    return repr(value if len(value) <= 40 else value[:37] + "...")


class Cells:
    """One record's cells looked up by column name, with the checks every field shares."""

    __slots__ = ("clean", "header", "record")

    def __init__(self, header: Header, record: list[str]):
        # A short row's missing cells are not blanks: storing them as blanks would clear
        # stored values (an ended registration, an inactive officer). A long one has
        # shifted cells. Either way the row cannot be read for certain.
        if len(record) != header.width:
            raise Bad(None, f"has {len(record)} values but the header has {header.width} columns")
        self.header = header
        self.record = record
        # Almost every record passes every cell's checks at once (no cell over the shortest
        # limit, nothing unprintable anywhere): its cells then skip them one by one.
        self.clean = max(map(len, record), default=0) <= MAX_LENGTH and "".join(record).isprintable()

    def present(self, name: str) -> bool:
        return name in self.header.present

    def raw(self, name: str) -> str:
        """The trimmed cell, checked for length and characters; "" when the column is absent."""
        pos = self.header.positions.get(name)
        if pos is None:
            return ""
        value = self.record[pos].strip()
        if self.clean:
            return value
        limit = MAX_LENGTHS.get(name, MAX_LENGTH)
        if len(value) > limit:
            raise Bad(name, f"longer than {limit} characters")
        if not value.isprintable():
            check_characters(name, value)
        return value

    def text(self, name: str, *, required: bool) -> str | None:
        value = self.raw(name)
        if not value:
            if required:
                raise Bad(name, "required value is missing")
            return None
        return value

    def choice(self, name: str, choices: tuple[str, ...] | None = None, *, default: str | None = None) -> str:
        """One of the column's values (``SPECS``' choices unless given), its spellings forgiven."""
        if choices is None:
            choices = CHOICES[name]
        raw = self.raw(name)
        if not raw:
            if default is None:
                raise Bad(name, "required value is missing")
            return default
        value = _TOKENS.get(raw)
        if value is None:
            value = normalise_token(raw)
            if len(_TOKENS) < 10_000:
                _TOKENS[raw] = value
        if value not in choices:
            raise Bad(name, f"expected one of {', '.join(choices)}, got {_shown(raw)}{self.header.codes(name)}")
        return value

    def flag(self, name: str, *, default: bool) -> bool:
        raw = self.raw(name)
        if not raw:
            return default
        value = raw.lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise Bad(name, f"expected true/false, yes/no, 1/0 or y/n, got {_shown(raw)}{self.header.codes(name)}")


def check_characters(name: str, value: str) -> None:
    """Refuse control characters anywhere, and invisible ones outside free text (see FREE_TEXT).

    A NUL once crashed PostgreSQL's import and, stored by SQLite, a later digest; an
    escape sequence reaches an operator's terminal; a bidi override makes one reference
    read as another. The reason names the code point, never the value.
    """
    if value.startswith(ERROR_MARK):
        raise Bad(name, f"an Excel error value ({value.removeprefix(ERROR_MARK)}) where a value belongs")
    free = name in FREE_TEXT
    for ch in value:
        if ch.isprintable():
            continue
        if ch in "\n\r":
            raise Bad(name, "must be on one line (a line break inside quotes?)")
        category = unicodedata.category(ch)
        if free and (ch == "\t" or category not in _NEVER):
            continue
        kind = "a control character" if category == "Cc" else "an invisible or control character"
        raise Bad(name, f"contains {kind} (U+{ord(ch):04X})")


class ParseState:
    """What the row parsers share over one import: the zone, the refs known so far, parsed dates."""

    def __init__(self, tz: ZoneInfo, date_formats: tuple[str, ...] = ()):
        self.tz = tz
        self.read_date = DateReader(date_formats, tz)
        #: Offender refs a visit may name: the register's, then this extract's as they are read.
        self.known_refs: set[str] = set()
        self._date_cache: dict[str, tuple[date, datetime | None] | str] = {}

    def parse_date(self, cells: Cells, name: str, *, required: bool) -> tuple[date | None, datetime | None]:
        raw = cells.raw(name)
        if not raw:
            if required:
                raise Bad(name, "required value is missing")
            return None, None
        parsed = self._date_cache.get(raw)
        if parsed is None:
            try:
                parsed = self.read_date(raw)
            except ValueError as exc:
                parsed = str(exc)
            except OverflowError:
                # 0001-01-01T00:30+01:00 is in year 0 in UTC (found by the battery).
                parsed = f"expected {self.read_date.expected}, got {_shown(raw)} (out of range)"
            if len(self._date_cache) < DATE_CACHE_MAX:
                self._date_cache[raw] = parsed
        if isinstance(parsed, str):
            if name in NO_ECHO:
                raise Bad(name, f"invalid date: expected {self.read_date.expected}")
            raise Bad(name, parsed)
        return parsed


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
            f"expected a whole number of home visits a week from 0 to {MAX_VISITS_PER_WEEK}, got {_shown(raw)}",
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
            "visit_interval", f"expected an ISO 8601 duration such as P2M, P6W or P1Y, got {_shown(raw)}"
        ) from None
    if problem := duration_problem(duration, positive=True):
        raise Bad("visit_interval", f"expected {problem}, got {_shown(raw)}")
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
        raise Bad(name, f"expected one of {expected} (perhaps after '{word}'), got {_shown(raw)}")
    return int(text)


def _parse_visit(imp: ParseState, cells: Cells) -> dict[str, Any]:
    ref = cells.text("ref", required=True)
    assert ref is not None
    if ref not in imp.known_refs:
        raise Bad("ref", f"unknown ref {_shown(ref)}: not in this extract's offenders.csv or the register")
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
