"""Values in words and dates for people: the formatting every report and digest shares.

Kept apart from the Jinja set-up (``render``) so the Python row writers (``case_rows``)
and the templates' filters are the very same functions.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from monitor.core.memo import Memo
from monitor.rules.obligations import RISK_LABELS

UK_DATE = "%d %b %Y"


#: ``format_date(day)`` in the default format, by day ("never" for None); the case-table
#: rows read it directly.
UK_DATES: Memo[date | None, str] = Memo(lambda day: "never" if day is None else day.strftime(UK_DATE))


def format_date(value: date | datetime | None, fmt: str = UK_DATE) -> str:
    """UK-style date for people ("03 Nov 2026"); "never" for a missing date."""
    if value is None or (fmt == UK_DATE and type(value) is date):
        return UK_DATES[value]
    return value.strftime(fmt)


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


def share_words(value: float | None, none: str = "none") -> str:
    """A share for people: "21.5 %"; ``none`` when there is nothing to share out."""
    return none if value is None else f"{value * 100:.1f} %"


def of_words(part: int | None, whole: int | None) -> str:
    """ "185 of 1,600 (11.6 %)"; "-" when not known (no snapshot that month)."""
    if part is None or whole is None:
        return "-"
    share = f" ({part / whole * 100:.1f} %)" if whole else ""
    return f"{part:,} of {whole:,}{share}"


#: Where a visit interval came from, in words (``interval_source``).
INTERVAL_SOURCES: dict[str, str] = {"plan": "plan", "risk_level": "risk level"}


def interval_words(tags: Any) -> str:
    """A visit's interval for people: "every P2M (plan)"; "" without one."""
    if tags is None or tags.interval is None:
        return ""
    return f"every {tags.interval} ({INTERVAL_SOURCES.get(tags.interval_source, tags.interval_source)})"


def mappa_words(tags: Any) -> str:
    """ "MAPPA level 2, category 1"; "" when neither is given."""
    if tags is None or (tags.mappa_level is None and tags.mappa_category is None):
        return ""
    parts = []
    if tags.mappa_level is not None:
        parts.append(f"level {tags.mappa_level}")
    if tags.mappa_category is not None:
        parts.append(f"category {tags.mappa_category}")
    return "MAPPA " + ", ".join(parts)


def tags_words(tags: Any) -> str:
    """A case line's practice details in words, joined: "every P3M (risk level); MAPPA level 1"."""
    return "; ".join(w for w in (interval_words(tags), mappa_words(tags)) if w)


#: Where an officer's capacity figure came from, in words (docs/planning.md).
CAPACITY_SOURCE_WORDS: dict[str, str] = {
    "register": "stated in officers.csv",
    "observed": "their pace over the last 12 weeks",
    "default": "the default (no stated figure, no visits led in 12 weeks)",
    "inactive": "inactive in the officer directory",
}


def capacity_source_words(source: str) -> str:
    """ "observed" -> "their pace over the last 12 weeks"."""
    return CAPACITY_SOURCE_WORDS.get(source, source)
