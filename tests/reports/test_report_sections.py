"""``report --section``: scripts ask for the lists they use, the summary still counts all.

Why it exists: a national report is 140,000 entries, nine tenths of them overdue risk
reviews and notifications; a script that feeds a dashboard of overdue visits should not
wait for, or parse, the rest. What must not change: the summary (it describes the whole
scope, whatever is listed), the lists asked for (entry for entry as in the full report),
and the contract's key order. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from test_report import AS_OF, build_register

from monitor.cli.app import cli
from monitor.core.config import Config
from monitor.register.db import reading
from monitor.reports.export import SECTIONS
from monitor.reports.sections import SECTION_LISTS
from monitor.rules.obligations import LISTS, PRACTICE_LISTS
from monitor.rules.scan import COUNTABLE, scan


def report(db_url: str, *args: str) -> Any:
    return CliRunner().invoke(
        cli, ["report", "--as-of", AS_OF.isoformat(), *args], env={"MONITOR_DATABASE_URL": db_url}
    )


def test_json_lists_only_the_sections_asked_for(engine: Engine, db_url: str) -> None:
    build_register(engine)
    full = json.loads(report(db_url, "--format", "json").stdout)
    assert all(full[name] for name in ("overdue_visits", "due_soon", "overdue_risk_reviews", "overdue_notifications"))

    only_visits = json.loads(report(db_url, "--format", "json", "--section", "overdue_visit").stdout)
    assert list(only_visits) == ["as_of", "overdue_visits", "summary"]
    assert only_visits["overdue_visits"] == full["overdue_visits"]
    # The summary still counts what is not listed.
    assert only_visits["summary"] == full["summary"]
    assert only_visits["summary"]["overdue_risk_reviews"] == len(full["overdue_risk_reviews"]) > 0

    # Any order on the command line; the contract's order in the file.
    picked = report(db_url, "--format", "json", "--section", "whereabouts_unknown", "--section", "overdue_notification")
    assert picked.exit_code == 0, picked.output
    data = json.loads(picked.stdout)
    assert list(data) == ["as_of", "overdue_notifications", "whereabouts_unknown", "summary"]
    assert data["overdue_notifications"] == full["overdue_notifications"]
    assert data["whereabouts_unknown"] == full["whereabouts_unknown"]
    assert data["summary"] == full["summary"]


def test_every_section_alone_is_the_full_reports_list(engine: Engine, db_url: str) -> None:
    build_register(engine)
    full = json.loads(report(db_url, "--format", "json").stdout)
    for section, name in SECTION_LISTS.items():
        data = json.loads(report(db_url, "--format", "json", "--section", section).stdout)
        if name in PRACTICE_LISTS:  # a register without the practice columns: measures off
            assert name not in full and list(data) == ["as_of", "summary"], section
            continue
        assert list(data) == ["as_of", name, "summary"], section
        assert data[name] == full[name] and data["summary"] == full["summary"], section


def test_csv_rows_only_of_the_sections_asked_for(engine: Engine, db_url: str) -> None:
    build_register(engine)

    def rows(*args: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(report(db_url, "--format", "csv", *args).stdout)))

    full = rows()
    picked = rows("--section", "overdue_risk_review", "--section", "due_soon")
    assert picked == [r for r in full if r["section"] in ("due_soon", "overdue_risk_review")]
    assert {r["section"] for r in picked} == {"due_soon", "overdue_risk_review"}


@pytest.mark.parametrize("fmt", ["table", "html"])
def test_section_with_a_format_for_people_is_a_usage_error(sqlite_url: str, fmt: str) -> None:
    result = report(sqlite_url, "--format", fmt, "--section", "overdue_visit")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["visit-monitor: --section applies to --format json or csv only"]
    assert result.stdout == ""


def test_unknown_section_is_a_usage_error(sqlite_url: str) -> None:
    result = report(sqlite_url, "--format", "json", "--section", "overdue_visits")
    assert result.exit_code == 2
    assert "overdue_visit" in result.stderr and "Traceback" not in result.stderr


def test_sections_name_every_list_and_the_csv_sections() -> None:
    """One vocabulary: --section takes the CSV's section values, each naming a JSON list."""
    assert tuple(SECTION_LISTS.values()) == LISTS
    assert dict(SECTIONS).items() <= SECTION_LISTS.items()
    assert set(LISTS) >= COUNTABLE


def test_counted_lists_cannot_be_listed_afterwards(
    engine: Engine, db_url: str, make_config: Callable[..., Config]
) -> None:
    build_register(engine)
    policy = make_config(db_url).policy
    with reading(engine) as session:
        counted = scan(session, policy, AS_OF, count_only=COUNTABLE)
        with pytest.raises(ValueError, match="cannot count without listing"):
            scan(session, policy, AS_OF, count_only={"overdue_visits"})
    assert counted.unlisted == COUNTABLE and not counted.overdue_risk_reviews
    assert counted.summary.overdue_risk_reviews > 0
    assert "overdue_risk_reviews" not in counted.to_json()
    with pytest.raises(ValueError, match="not listed by the scan"):
        counted.only(["overdue_risk_reviews"])
    with pytest.raises(ValueError, match="not a list of the report"):
        counted.only(["summary"])
    visits = counted.only(["overdue_visits"])
    assert visits.overdue_visits == counted.overdue_visits and not visits.due_soon
    assert list(visits.to_json()) == ["as_of", "overdue_visits", "summary"]
