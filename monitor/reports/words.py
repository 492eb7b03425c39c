"""Words shared by the table and HTML reports: section titles and statuses in words.

Status is always in words ("OVERDUE 12 days", "2+ failed attempts"), never colour alone,
so a report printed in black and white or read by a screen reader says the same thing;
the terminal table and the printable HTML page must say it the same way, so both take
their wording from here.
"""

from __future__ import annotations

from typing import Any

from monitor.reports.formats import plural
from monitor.rules.obligations import Item, Obligations

SECTION_TITLES: dict[str, str] = {
    "overdue_visits": "Overdue home visits",
    "due_soon": "Home visits due soon",
    "overdue_risk_reviews": "Overdue risk reviews",
    "overdue_notifications": "Overdue periodic notifications",
    "whereabouts_unknown": "Whereabouts unknown",
    "not_in_extract": "Not in the latest full extract",
    "reactive_high_risk": "High risk on reactive management (no routine visits)",
}


def status_words(item: Item) -> str:
    """How overdue, in words: "OVERDUE 12 days", "Due today", "Due in 3 days"."""
    if item.days_overdue > 0:
        return f"OVERDUE {plural(item.days_overdue, 'day')}"
    if item.days_overdue == 0:
        return "Due today"
    return f"Due in {plural(-item.days_overdue, 'day')}"


def failed_words(item: Item, flag: int) -> str:
    """Failed attempts since the last completed visit; flagged ones say so in words."""
    if item.failed_attempts >= flag:
        return f"{flag}+ failed attempts ({item.failed_attempts})"
    if item.failed_attempts:
        return plural(item.failed_attempts, "failed attempt")
    return "None"


def scope_words(obligations: Obligations) -> str:
    parts = []
    if obligations.team is not None:
        parts.append(f"team {obligations.team}")
    if obligations.officer is not None:
        parts.append(f"officer {obligations.officer}")
    return ", ".join(parts) if parts else "whole force"


def personal_name(p: Any) -> str:
    if p is None:
        return ""
    return ", ".join(x for x in (p.surname, p.forenames) if x)
