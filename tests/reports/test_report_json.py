"""The JSON report's fast item writer against the definition it replaces.

``export._ItemJSON`` writes each overdue visit, due-soon visit, risk review and notification
(and each lone visit of the practice measures) with a format string instead of
``Item.to_json`` plus the encoder (most of a national report's time). ``Item.to_json``
stays the contract's definition; this holds the two equal for any item, hostile text
included, so a drift in either shows here.
"""

from __future__ import annotations

import json
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.reports import export
from monitor.rules.obligations import Item, Personal
from monitor.rules.practice import CaseTags, LoneVisit

texts = st.text(min_size=0, max_size=12)  # any code point: quotes, backslashes, controls, non-ASCII
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
personal = st.builds(Personal, st.none() | texts, st.none() | texts, st.none() | dates)
#: The practice measures' tags (an interval as the register or the policy gives it, MAPPA).
tags = st.builds(
    CaseTags,
    st.none() | st.sampled_from(["P1M", "P42D", "P2M3D"]) | texts,
    st.none() | st.sampled_from(["plan", "risk_level"]),
    st.none() | st.integers(min_value=1, max_value=4),
    st.none() | st.integers(min_value=1, max_value=3),
)
items = st.builds(
    Item,
    kind=st.sampled_from(["visit", "risk_review", "notification", "supervisor_review"]),
    ref=texts,
    risk_level=st.sampled_from(["very_high", "high", "medium", "low"]) | texts,
    team=texts,
    offender_manager=texts,
    due_date=dates,
    days_overdue=st.integers(min_value=-400, max_value=40_000),
    last_done=st.none() | dates,
    failed_attempts=st.integers(min_value=0, max_value=30),
    no_fixed_abode=st.booleans(),
    personal=st.none() | personal,
    tags=st.none() | tags,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(items, max_size=6), st.integers(min_value=1, max_value=5))
def test_fast_item_json_is_the_contract(batch: list[Item], flag: int) -> None:
    writer = export._ItemJSON(flag)  # one writer for the batch: its memo tables are shared
    for item in batch:
        text = writer.encode(item)
        assert text == export._COMPACT.encode(item.to_json(flag))
        assert json.loads(text) == item.to_json(flag)


lone_visits = st.builds(
    LoneVisit,
    visit_id=texts,
    ref=texts,
    risk_level=st.sampled_from(["very_high", "high", "medium", "low"]) | texts,
    team=texts,
    offender_manager=texts,
    visit_date=dates,
    officer=texts,
    tags=st.none() | tags,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lone_visits, max_size=6))
def test_fast_lone_visit_json_is_the_contract(batch: list[LoneVisit]) -> None:
    writer = export._ItemJSON(2)
    for visit in batch:
        text = writer.lone(visit)
        assert text == export._COMPACT.encode(visit.to_json())
        assert json.loads(text) == visit.to_json()


def test_due_today_and_due_soon_keys() -> None:
    """``due_in_days`` is written for a visit due today (0) and due soon, never when overdue."""
    writer = export._ItemJSON(2)
    due = date(2026, 11, 30)

    def visit(days: int, failed: int = 0) -> dict[str, object]:
        item = Item("visit", "R-1", "low", "T", "OM", due, days, failed_attempts=failed)
        found: dict[str, object] = json.loads(writer.encode(item))
        return found

    today, soon, late = visit(0), visit(-3), visit(4, failed=2)
    assert (today["due_in_days"], soon["due_in_days"]) == (0, 3)
    assert "due_in_days" not in late and late["warrant_flag"] is True
