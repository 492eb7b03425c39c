"""Calendar arithmetic of due dates: month ends clamp, leap days, ISO 8601 parsing."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.core.durations import Duration, add_months


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 8, 31), 6, date(2027, 2, 28)),  # docs/rules.md's own example
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # ...and in a leap year
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),  # leap day + a year
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2026, 3, 31), 3, date(2026, 6, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # year rollover
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 5, 31), -3, date(2026, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P1M", Duration(months=1)),
        ("P12M", Duration(months=12)),
        ("P1Y", Duration(months=12)),
        ("P28D", Duration(days=28)),
        ("P2W", Duration(days=14)),
        ("P1Y2M3D", Duration(months=14, days=3)),
        ("p3m", Duration(months=3)),
    ],
)
def test_parse(text: str, expected: Duration) -> None:
    assert Duration.parse(text) == expected


@pytest.mark.parametrize("text", ["", "P", "1M", "P1.5M", "PT1H", "P-1M", "monthly", "P1M1Y"])
def test_parse_rejects_with_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        Duration.parse(text)


def test_after_applies_months_then_days() -> None:
    assert Duration(months=1, days=1).after(date(2026, 1, 31)) == date(2026, 3, 1)
    assert Duration(days=28).after(date(2026, 2, 1)) == date(2026, 3, 1)
    assert Duration(days=28).after(date(2028, 2, 1)) == date(2028, 2, 29)
