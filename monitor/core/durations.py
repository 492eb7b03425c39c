"""ISO 8601 durations and calendar arithmetic for due dates.

Policy intervals are written as ISO 8601 durations (``P1M``, ``P28D``, ``P1Y``) because
that is what forces already write in their policies and it says exactly what it means.
Months are *calendar* months clamped to the end of the month, so 31 August + P6M is
28 February (29 February in a leap year): a visit is never pushed into the next month
just because the target month is shorter.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_ISO_DURATION = re.compile(r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?$")


@dataclass(frozen=True, order=True)
class Duration:
    """A date-only ISO 8601 duration: whole months (years folded in) plus whole days."""

    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``PnYnMnWnD`` (date parts only). Raise ValueError with the expected form."""
        match = _ISO_DURATION.match(text.strip().upper()) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"expected an ISO 8601 duration such as P1M, P28D or P1Y, got {text!r}")
        parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        return cls(months=parts["years"] * 12 + parts["months"], days=parts["weeks"] * 7 + parts["days"])

    def after(self, start: date) -> date:
        """The date this duration after ``start``: months first (clamped), then days."""
        return add_days(add_months(start, self.months), self.days)

    def __str__(self) -> str:
        out = "P"
        if self.months:
            out += f"{self.months}M"
        if self.days or not self.months:
            out += f"{self.days}D"
        return out


def add_months(start: date, months: int) -> date:
    """Add calendar months, clamping to the last day of the target month."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last))


def add_days(start: date, days: int) -> date:
    return start + timedelta(days=days)


#: Days in a month on average over the Gregorian calendar's 400-year cycle, as a fraction
#: (146,097 days in 4,800 months): lengths compare exactly in 4,800ths of a day.
_MONTH_DAYS_NUM, _MONTH_DAYS_DEN = 146_097, 4_800


def length_units(duration: Duration) -> int:
    """A duration's average length in 4,800ths of a day (months at their average length),
    for comparing durations that mix months and days (a plan's P8W against a default P1M)."""
    return duration.months * _MONTH_DAYS_NUM + duration.days * _MONTH_DAYS_DEN


def longer_than(duration: Duration, other: Duration, multiple: float = 1.0) -> bool:
    """Whether ``duration`` is on average longer than ``multiple`` times ``other``."""
    return length_units(duration) > multiple * length_units(other)
