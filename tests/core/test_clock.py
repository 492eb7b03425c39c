""" "Today" is the London date; extract dates in ISO, UK and datetime forms."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from monitor.core.clock import parse_date, parse_date_or_datetime, today

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2026-06-30 23:30:00", date(2026, 7, 1)),  # BST: already tomorrow in London
        ("2026-06-30 22:59:59", date(2026, 6, 30)),
        ("2026-12-31 23:30:00", date(2026, 12, 31)),  # GMT: London == UTC
        ("2026-03-28 23:59:59", date(2026, 3, 28)),  # the night the clocks go forward
        ("2026-03-29 00:30:00", date(2026, 3, 29)),
        ("2026-03-29 23:30:00", date(2026, 3, 30)),  # first BST evening
        ("2026-10-24 23:30:00", date(2026, 10, 25)),  # last BST evening
        ("2026-10-25 23:30:00", date(2026, 10, 25)),  # back on GMT
        ("2028-02-28 23:30:00", date(2028, 2, 28)),
        ("2028-02-29 23:59:00", date(2028, 2, 29)),
    ],
)
def test_today_is_the_london_date(instant: str, expected: date) -> None:
    with freeze_time(instant):  # freezegun instants are UTC
        assert today("Europe/London") == expected
        assert today(LONDON) == expected


def test_today_other_zone() -> None:
    with freeze_time("2026-06-30 23:30:00"):
        assert today("UTC") == date(2026, 6, 30)


@pytest.mark.parametrize(
    ("text", "expected_date", "expected_utc"),
    [
        ("2026-07-01", date(2026, 7, 1), None),
        ("01/07/2026", date(2026, 7, 1), None),
        ("1/7/2026", date(2026, 7, 1), None),
        ("2026-06-30T23:30:00Z", date(2026, 7, 1), datetime(2026, 6, 30, 23, 30, tzinfo=UTC)),
        ("2026-06-30 23:30:00+00:00", date(2026, 7, 1), datetime(2026, 6, 30, 23, 30, tzinfo=UTC)),
        ("2026-12-31T23:30:00Z", date(2026, 12, 31), datetime(2026, 12, 31, 23, 30, tzinfo=UTC)),
        ("2026-07-01T00:15", date(2026, 7, 1), datetime(2026, 6, 30, 23, 15, tzinfo=UTC)),  # naive = London
        ("30/06/2026 23:30Z", date(2026, 7, 1), datetime(2026, 6, 30, 23, 30, tzinfo=UTC)),
        ("30/06/2026 09:05", date(2026, 6, 30), datetime(2026, 6, 30, 8, 5, tzinfo=UTC)),
    ],
)
def test_parse_date_or_datetime(text: str, expected_date: date, expected_utc: datetime | None) -> None:
    assert parse_date_or_datetime(text, LONDON) == (expected_date, expected_utc)


@pytest.mark.parametrize("text", ["", "2026-13-01", "31/02/2026", "2026/07/01", "07-01-2026", "tomorrow", "29/02/2027"])
def test_parse_date_rejects_with_expected_forms(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD or DD/MM/YYYY"):
        parse_date(text, LONDON)


def test_leap_day_parses() -> None:
    assert parse_date("29/02/2028", LONDON) == date(2028, 2, 29)
