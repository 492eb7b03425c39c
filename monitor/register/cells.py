"""Reading one record's cells: their text, the characters refused, flags, dates, and the one way a value is refused.

Every file's parser (:mod:`monitor.register.fields`) reads its record through :class:`Cells`
and :class:`ParseState` and refuses a value with :class:`Bad` (the field and what was
expected), so the rules for any cell are the same in every file: which characters are never
accepted, which spellings a yes/no takes, how a date is read (and remembered, since visit
dates repeat), and how a bad value is quoted back (:func:`shown`; never for personal data).
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

from monitor.extract.dates import DateReader
from monitor.extract.mapping import Header, normalise_token
from monitor.extract.workbook import ERROR_MARK
from monitor.register.specs import CHOICES, FREE_TEXT, MAX_LENGTH, MAX_LENGTHS, NO_ECHO

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


def shown(value: str) -> str:
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
            raise Bad(name, f"expected one of {', '.join(choices)}, got {shown(raw)}{self.header.codes(name)}")
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
        raise Bad(name, f"expected true/false, yes/no, 1/0 or y/n, got {shown(raw)}{self.header.codes(name)}")


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
                parsed = f"expected {self.read_date.expected}, got {shown(raw)} (out of range)"
            if len(self._date_cache) < DATE_CACHE_MAX:
                self._date_cache[raw] = parsed
        if isinstance(parsed, str):
            if name in NO_ECHO:
                raise Bad(name, f"invalid date: expected {self.read_date.expected}")
            raise Bad(name, parsed)
        return parsed
