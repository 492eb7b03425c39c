"""Reading a date cell: the force's own forms first (``[import] date_formats``), then the contract's.

The contract reads ``YYYY-MM-DD``, ``DD/MM/YYYY`` and datetimes (``monitor.core.clock``); a
records system writes ``05-MAR-2025``, so a force adds its forms as strftime patterns. The
configuration refuses forms that could read one text as two dates (``monitor.core.
import_settings``), so the order they are tried in never changes what a cell means. A form
with a time gives an instant too: local time in the configured zone unless it has ``%z``.
Upper-case month names are read (``MAR``): strptime ignores case.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from monitor.core.clock import DATE_EXPECTED, parse_date_or_datetime

_TIME = re.compile(r"%[HIMSpfz]")
_EXAMPLE = datetime(2025, 3, 5, 14, 30)


class DateReader:
    """Parses one date cell to ``(date, instant or None)``; raises ValueError saying what was expected."""

    def __init__(self, forms: tuple[str, ...], tz: ZoneInfo):
        self.forms = tuple((form, bool(_TIME.search(form))) for form in forms)
        self.tz = tz
        if forms:
            examples = ", ".join(_EXAMPLE.strftime(form) for form in forms)
            self.expected = f"a date as {examples}, YYYY-MM-DD or DD/MM/YYYY (a datetime is also accepted)"
        else:
            self.expected = DATE_EXPECTED

    def __call__(self, text: str) -> tuple[date, datetime | None]:
        value = text.strip()
        for form, timed in self.forms:
            try:
                parsed = datetime.strptime(value, form)
            except ValueError:
                continue
            if not timed:
                return parsed.date(), None
            instant = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=self.tz)
            return instant.astimezone(self.tz).date(), instant.astimezone(UTC)
        try:
            return parse_date_or_datetime(value, self.tz)
        except ValueError:
            if not self.forms:
                raise
            raise ValueError(f"expected {self.expected}, got {value!r}") from None
