"""What "today" means, and parsing of dates from extracts.

"Today" is always the calendar date in the configured timezone (Europe/London by
default), never the UTC date: at 23:30 UTC on 30 June it is already 1 July in London,
and a visit recorded at that moment happened on 1 July as far as the officer knows.
Every module asks this one for the date so that freezegun tests exercise one code path.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def now_utc() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def today(tz: str | ZoneInfo) -> date:
    """Today's date in ``tz`` (a zone name or ZoneInfo)."""
    zone = tz if isinstance(tz, ZoneInfo) else zone_info(tz)
    return now_utc().astimezone(zone).date()


def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"expected an IANA timezone name such as Europe/London, got {name!r}") from exc


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_UK_DATETIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?$")

DATE_EXPECTED = "a date as YYYY-MM-DD or DD/MM/YYYY (a datetime is also accepted)"


def parse_date_or_datetime(text: str, tz: ZoneInfo) -> tuple[date, datetime | None]:
    """Parse a register date cell.

    Returns the date and, when the cell held a time too, the instant as aware UTC.
    A datetime with an offset (``Z``, ``+01:00``) is converted to its date in ``tz``; a
    naive datetime is taken to be local time in ``tz`` already. Raises ValueError whose
    message says what was expected.
    """
    value = text.strip()
    if m := _ISO_DATE.match(value):
        return _checked_date(int(m[1]), int(m[2]), int(m[3]), value), None
    if m := _UK_DATE.match(value):
        return _checked_date(int(m[3]), int(m[2]), int(m[1]), value), None
    instant: datetime | None = None
    if _ISO_DATETIME.match(value):
        try:
            instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            instant = None
    elif m := _UK_DATETIME.match(value):
        iso = f"{int(m[3]):04d}-{int(m[2]):02d}-{int(m[1]):02d}T{int(m[4]):02d}:{m[5]}:{m[6] or '00'}" + (
            m[7] or ""
        ).replace("Z", "+00:00")
        try:
            instant = datetime.fromisoformat(iso)
        except ValueError:
            instant = None
    if instant is None:
        raise ValueError(f"expected {DATE_EXPECTED}, got {value!r}")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=tz)
    local = instant.astimezone(tz)
    return local.date(), instant.astimezone(UTC)


def parse_date(text: str, tz: ZoneInfo) -> date:
    return parse_date_or_datetime(text, tz)[0]


def _checked_date(year: int, month: int, day: int, original: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"expected {DATE_EXPECTED}, got {original!r} ({exc})") from exc
