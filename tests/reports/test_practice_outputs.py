"""The practice measures everywhere they show: snapshots and their month-by-month governance
view, the team and force digests (and what they disclose), the CSV and ``--section``, and
the migration that brings an existing register to them.

One generated register with the practice columns (the oracle tests hold its figures); here
the question is whether each output carries them, and carries what the scan found. Database
tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from monitor.cli.app import cli
from monitor.core.config import Config
from monitor.digests.build import build_plans
from monitor.digests.contexts import ForceDigest, TeamDigest
from monitor.register.db import reading
from monitor.register.importer import import_directory
from monitor.register.models import BacklogSnapshot
from monitor.reports.governance import governance
from monitor.reports.snapshot import take_snapshot
from monitor.rules.case_tags import TAGS
from monitor.rules.obligations import Item
from monitor.rules.practice_scan import sort_entries
from monitor.rules.scan import COUNTABLE, scan
from monitor.synthetic.generator import generate

AS_OF = date(2026, 11, 23)


@pytest.fixture
def imported(engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path) -> Config:
    src = tmp_path / "extract"
    generate(300, seed=81, as_of=AS_OF, out_dir=src, practice=True)
    config = make_config(db_url)
    assert import_directory(engine, config, src).exit_code == 0
    return config


def test_snapshots_keep_the_trend_figures_and_governance_reads_them_by_month(engine: Engine, imported: Config) -> None:
    month_ends = [date(2026, 8, 31), date(2026, 9, 15), date(2026, 9, 30), date(2026, 10, 31)]
    for day in month_ends:
        take_snapshot(engine, imported, day)
    with reading(engine) as s:
        rows = list(s.scalars(select(BacklogSnapshot).where(BacklogSnapshot.taken_on == date(2026, 10, 31))))
        ob = scan(s, imported.policy, date(2026, 10, 31), count_only=COUNTABLE)
        now = scan(s, imported.policy, AS_OF, count_only=COUNTABLE)
        view = governance(s, now)
    assert ob.practice is not None
    assert sum(r.lookback_lone_visits or 0 for r in rows) == ob.practice.tally()[2] > 0
    assert sum(r.lookback_home_visits or 0 for r in rows) == ob.practice.tally()[1]
    assert sum(r.overdue_supervisor_reviews or 0 for r in rows) == ob.practice.counts["overdue_supervisor_reviews"]
    assert sum(r.predictable_visits or 0 for r in rows) == ob.practice.counts["predictable_visits"]
    worst = max(r.most_overdue_review_days or 0 for r in rows)
    assert worst == max(late for late, _ref in ob.unlisted_worst["overdue_risk_reviews"].values())
    # Governance: twelve months, oldest first, each the month's last snapshot, then now.
    assert len(view.labels) == 12 and view.labels[-1] == "now" and view.labels[-2] == "Oct 2026"
    force = view.force
    by_label = dict(zip(view.labels, force.months, strict=True))
    assert by_label["Sep 2026"].on == date(2026, 9, 30)  # not the 15th
    assert by_label["Oct 2026"].overdue == ob.summary.overdue_visits
    assert by_label["Oct 2026"].caseload == ob.summary.active_caseload
    assert by_label["Jul 2026"].on is None and by_label["Jul 2026"].overdue is None
    assert by_label["now"].overdue == now.summary.overdue_visits == force.overdue
    assert force.overdue_reviews == now.summary.overdue_risk_reviews
    assert force.oldest_review_days == max(late for late, _ref in now.unlisted_worst["overdue_risk_reviews"].values())
    assert force.supervisor_reviews == len(now.overdue_supervisor_reviews) and view.lone_recorded
    assert sum(t.caseload for t in view.teams) == force.caseload


def test_digests_carry_the_practice_blocks_and_disclose_their_cases(engine: Engine, imported: Config) -> None:
    with reading(engine) as s:
        plans = build_plans(s, imported, ["team", "force"], AS_OF)
        ob = scan(s, imported.policy, AS_OF)
    teams = [p.context for p in plans.plans if isinstance(p.context, TeamDigest)]
    force = next(p.context for p in plans.plans if isinstance(p.context, ForceDigest))
    assert teams and all(t.practice is not None for t in teams)
    lone_refs = {v.ref for v in ob.lone_visits}
    listed = {v.ref for t in teams if t.practice for v in t.practice.lone_visits}
    assert listed == lone_refs
    for t in teams:
        assert t.practice is not None and set(t.practice.case_refs) <= set(t.case_refs)
    assert force.governance is not None and force.practice is not None
    assert force.governance.force.oldest_review_ref in force.case_refs
    assert ob.practice is not None and force.practice.mappa == ob.practice.mappa_counts()


def test_team_digest_text_and_html_say_it(
    engine: Engine, imported: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    out = tmp_path / "preview"
    result = CliRunner().invoke(cli, ["digest", "--as-of", AS_OF.isoformat(), "--kind", "team", "--preview", str(out)])
    assert result.exit_code == 0, result.output
    eml = sorted(out.glob("team-*.eml"))[0]
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for words in (
        "PRACTICE: paired and varied visits",
        "OVERDUE SUPERVISOR REVIEWS",
        "PREDICTABLE VISITS",
        "LONE VISITS",
    ):
        assert words in body, words
    assert "(risk level)" in body and "MAPPA level" in body  # every case line
    html = eml.with_suffix(".html").read_text()
    assert "Overdue supervisor reviews, worst first" in html and "Predictable visits (" in html


def test_csv_and_sections_of_the_practice_lists(db_url: str, imported: Config) -> None:
    def report(*args: str) -> str:
        result = CliRunner().invoke(
            cli, ["report", "--as-of", AS_OF.isoformat(), *args], env={"MONITOR_DATABASE_URL": db_url}
        )
        assert result.exit_code == 0, result.output
        return result.stdout

    full = json.loads(report("--format", "json"))
    assert list(full)[-5:] == [
        "lone_visits",
        "predictable_visits",
        "overdue_supervisor_reviews",
        "long_plan_intervals",
        "summary",
    ]
    only = json.loads(report("--format", "json", "--section", "lone_visit", "--section", "long_plan_interval"))
    assert list(only) == ["as_of", "lone_visits", "long_plan_intervals", "summary"]
    assert only["summary"] == full["summary"]  # the summary counts what is not listed
    rows = list(csv.DictReader(io.StringIO(report("--format", "csv"))))
    sections = {r["section"] for r in rows}
    assert {"lone_visit", "predictable_visit", "overdue_supervisor_review", "long_plan_interval"} <= sections
    lone = [r for r in rows if r["section"] == "lone_visit"]
    assert [r["visit_id"] for r in lone] == [v["visit_id"] for v in full["lone_visits"]]
    visits = [r for r in rows if r["section"] == "overdue_visit"]
    assert all(r["interval_source"] in ("plan", "risk_level") and r["interval"] for r in visits)
    assert [r["ref"] for r in visits] == [v["ref"] for v in full["overdue_visits"]]


def test_migration_fills_visit_times_in_london_and_marks_the_facts_stale(engine: Engine) -> None:
    from alembic import command

    from monitor.register.db import alembic_config, upgrade

    command.downgrade(alembic_config(engine), "0006_visit_facts_clustered")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO offenders (ref, risk_level, status, team, offender_manager, registered_on, management,"
                " no_fixed_abode, updated_at) VALUES ('R-1', 'low', 'community', 'T', 'OM', :d, 'active', false, :at)"
            ),
            {"d": date(2020, 1, 1), "at": datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)},
        )
        for vid, at in (("V-1", datetime(2026, 7, 1, 8, 30)), ("V-2", datetime(2026, 1, 10, 18, 5)), ("V-3", None)):
            conn.execute(
                text(
                    "INSERT INTO visits (visit_id, ref, visit_date, visited_at, outcome, visit_type, updated_at)"
                    " VALUES (:v, 'R-1', :d, :at, 'completed', 'home', :u)"
                ),
                {"v": vid, "d": date(2026, 1, 10), "at": at, "u": datetime(2026, 1, 1)},
            )
        conn.execute(
            text("INSERT INTO visit_facts_state (id, import_id, refreshed_at) VALUES (1, 1, :u)"),
            {"u": datetime(2026, 1, 1)},
        )
    upgrade(engine)
    with engine.connect() as conn:
        minutes = dict(conn.execute(text("SELECT visit_id, visit_minute FROM visits")).all())
        state = conn.execute(text("SELECT import_id FROM visit_facts_state")).scalar_one()
    assert minutes == {"V-1": 9 * 60 + 30, "V-2": 18 * 60 + 5, "V-3": None}  # 08:30 UTC is 09:30 BST
    assert state is None


def _item(ref: str, risk: str, days: int, level: int | None) -> Item:
    return Item("supervisor_review", ref, risk, "T", "OM", AS_OF, days, tags=TAGS[None, None, 1, level])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            _item,
            st.text(alphabet="ABC123", min_size=1, max_size=3),
            st.sampled_from(["very_high", "high", "medium", "low"]),
            st.integers(min_value=-5, max_value=400),
            st.none() | st.integers(min_value=1, max_value=3),
        ),
        max_size=30,
    )
)
def test_practice_lists_sort_as_their_sort_key(items: list[Any]) -> None:
    """The stable sorts by attribute keys give the contract order (risk, MAPPA 2 and 3 first,
    most overdue, ref), as the sort key states it."""
    expected = sorted(items, key=lambda i: i.sort_key)
    got = list(items)
    sort_entries(got, days=True)
    assert [i.sort_key for i in got] == [i.sort_key for i in expected]
