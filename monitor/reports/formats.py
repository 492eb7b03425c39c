"""Values in words and dates for people: the formatting every report and digest shares.

Kept apart from the Jinja set-up (``render``) so the Python row writers (``case_rows``)
and the templates' filters are the very same functions.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from monitor.rules.obligations import RISK_LABELS

UK_DATE = "%d %b %Y"
#: ``format_date`` of plain dates in the default format: a national digest run formats a
#: few hundred thousand dates, drawn from a few thousand distinct days.
_UK_DATES: dict[date, str] = {}


def format_date(value: date | datetime | None, fmt: str = UK_DATE) -> str:
    """UK-style date for people ("03 Nov 2026"); "never" for a missing date."""
    if value is None:
        return "never"
    if fmt != UK_DATE or type(value) is not date:
        return value.strftime(fmt)
    text = _UK_DATES.get(value)
    if text is None:
        if len(_UK_DATES) > 100_000:
            _UK_DATES.clear()
        text = _UK_DATES[value] = value.strftime(fmt)
    return text


def date_words(d: date | None, none: str = "Never") -> str:
    """Report-table date without a leading zero ("3 Nov 2026"); ``none`` for a missing date."""
    return d.strftime("%d %b %Y").lstrip("0") if d else none


def iso_date(value: date | datetime | None) -> str:
    return "never" if value is None else value.isoformat()[:10]


def risk_label(value: str) -> str:
    """ "very_high" -> "Very high" (words, never colour alone)."""
    return RISK_LABELS.get(value, value)


def overdue_words(days: int) -> str:
    """How overdue, in words: "12 days overdue", "due today", "due in 3 days"."""
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} overdue"
    if days == 0:
        return "due today"
    return f"due in {-days} day{'s' if days != -1 else ''}"


def plural(count: int, singular: str, many: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def case_link(template: str, ref: str) -> str | None:
    """The case-system URL for ``ref`` (percent-encoded), or None when no link is configured."""
    if not template:
        return None
    return template.format(ref=quote(ref, safe=""))
