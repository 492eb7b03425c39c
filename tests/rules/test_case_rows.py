"""The case-table rows written in Python (``reports.case_rows``) are the Jinja loops they replaced.

The loops are kept as test data (``tests/data/email_case_table_loops.*``, the partials as
they were) and both are rendered from random items, hostile text included, through the
same environments: every byte must match, HTML escaping and text padding alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import markupsafe
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.reports import case_rows
from monitor.reports.render import html_environment, text_environment
from monitor.rules.obligations import Item, Personal, Unlocated

DATA = Path(__file__).resolve().parents[1] / "data"
TEXT = st.one_of(
    st.sampled_from(["RSO-000001", "<script>alert(1)</script>", "a&b \"q\" 'x'", "Zoë", "T/1 50%", ""]),
    st.text(max_size=12),
)
DATES = st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
RISKS = st.sampled_from(["very_high", "high", "medium", "low"])
PERSONAL = st.one_of(st.none(), st.builds(Personal, st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT), DATES))
ITEMS = st.lists(
    st.builds(
        Item,
        kind=st.sampled_from(["visit", "risk_review", "notification"]),
        ref=TEXT.filter(bool),
        risk_level=RISKS,
        team=TEXT,
        offender_manager=TEXT,
        due_date=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
        days_overdue=st.integers(-30, 5000),
        last_done=DATES,
        failed_attempts=st.integers(0, 5),
        no_fixed_abode=st.booleans(),
        personal=PERSONAL,
    ),
    max_size=4,
)
UNLOCATED = st.lists(
    st.builds(
        Unlocated,
        ref=TEXT.filter(bool),
        risk_level=RISKS,
        team=TEXT,
        offender_manager=TEXT,
        missing_since=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
        days_missing=st.integers(0, 5000),
        last_visit=DATES,
        personal=PERSONAL,
    ),
    max_size=4,
)


@dataclass
class Digest:
    failed_attempts_flag: int


CALLS = {
    "visit_table": "visit_table(items, show_officer=a, show_team=b)",
    "item_table": 'item_table(items, "Assessed", show_officer=a)',
    "unlocated_table": "unlocated_table(items, show_officer=a)",
}


def both(suffix: str, macro: str, **context: Any) -> tuple[str, str]:
    env = html_environment() if suffix == "html" else text_environment()
    loops = (DATA / f"email_case_table_loops.{suffix}").read_text(encoding="utf-8")
    old = env.from_string(loops + "{{ " + CALLS[macro] + " }}").render(**context)
    new = env.from_string(
        f'{{% from "partials/email_case_table.{suffix}" import {macro} with context %}}{{{{ {CALLS[macro]} }}}}'
    ).render(**context)
    if suffix == "txt":  # render_text's own last step, for both
        old, new = ("\n".join(line.rstrip(" ") for line in t.split("\n")) for t in (old, new))
    return old, new


@settings(max_examples=150, deadline=None)
@given(
    items=ITEMS,
    unlocated=UNLOCATED,
    a=st.booleans(),
    b=st.booleans(),
    names=st.booleans(),
    url=st.sampled_from(["", "https://cases.police.example/case/{ref}?x=1&y=2"]),
    flag=st.integers(1, 3),
    suffix=st.sampled_from(["html", "txt"]),
)
def test_rows_equal_the_old_loops(
    items: list[Item],
    unlocated: list[Unlocated],
    a: bool,
    b: bool,
    names: bool,
    url: str,
    flag: int,
    suffix: str,
) -> None:
    context = {"a": a, "b": b, "include_names": names, "case_url": url, "d": Digest(flag)}
    for macro in CALLS:
        old, new = both(suffix, macro, items=unlocated if macro == "unlocated_table" else items, **context)
        assert new == old


@given(st.text())
def test_escape_is_markupsafes(text: str) -> None:
    assert case_rows.escape(text) == str(markupsafe.escape(text))


CONTEXTS = st.fixed_dictionaries(
    {
        "a": st.booleans(),
        "b": st.booleans(),
        "include_names": st.booleans(),
        "case_url": st.sampled_from(["", "https://cases.police.example/case/{ref}"]),
        "d": st.builds(Digest, st.integers(1, 3)),
    }
)


@settings(max_examples=60, deadline=None)
@given(
    items=ITEMS.filter(bool),
    contexts=st.lists(CONTEXTS, min_size=2, max_size=6),
    suffix=st.sampled_from(["html", "txt"]),
)
def test_reused_tables_follow_every_input(items: list[Item], contexts: list[dict[str, Any]], suffix: str) -> None:
    """The same list written again and again (``case_rows._reused`` answers repeats from
    memory) under changing arguments and context, then grown: always what the loops write."""
    for context in contexts:
        old, new = both(suffix, "item_table", items=items, **context)
        assert new == old
    items.append(items[0])  # the same list object, one row longer
    old, new = both(suffix, "item_table", items=items, **contexts[-1])
    assert new == old
