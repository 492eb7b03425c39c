"""A scan that only counts the practice lists (``scan(count_only=...)``) says what the listing
scan says.

Why: ``report --section`` counts the lists it does not write instead of making them (a
national register's 30,000 lone visits and supervisor reviews), and its summary must still
be the whole report's, on both engines and on both ways of reading SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from monitor.cli.app import cli
from monitor.core.config import Config
from monitor.digests.build import build_plans
from monitor.register.db import reading
from monitor.register.importer import import_directory
from monitor.rules.obligations import PRACTICE_LISTS
from monitor.rules.scan import COUNTABLE, PRACTICE_COUNTABLE, scan
from monitor.synthetic.generator import generate

AS_OF = date(2026, 11, 23)


@pytest.fixture
def imported(engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path) -> Config:
    src = tmp_path / "extract"
    generate(300, seed=83, as_of=AS_OF, out_dir=src, practice=True)
    config = make_config(db_url)
    assert import_directory(engine, config, src).exit_code == 0
    return config


def test_counting_the_practice_lists_gives_the_listing_scans_figures(engine: Engine, imported: Config) -> None:
    with reading(engine) as session:
        listed = scan(session, imported.policy, AS_OF)
        counted = scan(session, imported.policy, AS_OF, count_only=COUNTABLE | PRACTICE_COUNTABLE)
    assert listed.practice is not None and counted.practice is not None
    assert all(getattr(listed, name) for name in PRACTICE_LISTS)  # the register has some of each
    for name in PRACTICE_LISTS:
        assert getattr(counted, name) == []
        assert name in counted.unlisted
        assert counted.count(name) == listed.count(name) == len(getattr(listed, name))
    assert counted.practice.counts == listed.practice.counts
    assert counted.practice.visits == listed.practice.visits
    assert counted.to_json()["summary"] == listed.to_json()["summary"]


def test_a_section_report_counts_what_it_does_not_list(db_url: str, imported: Config) -> None:
    def report(*args: str) -> dict[str, object]:
        argv = ["report", "--as-of", AS_OF.isoformat(), "--format", "json", *args]
        result = CliRunner().invoke(cli, argv, env={"MONITOR_DATABASE_URL": db_url})
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.stdout))

    full = report()
    for section, name in (("overdue_visit", "overdue_visits"), ("predictable_visit", "predictable_visits")):
        only = report("--section", section)
        assert list(only) == ["as_of", name, "summary"]
        assert only[name] == full[name]
        assert only["summary"] == full["summary"]


def test_officer_digests_alone_scan_without_making_the_practice_lists(engine: Engine, imported: Config) -> None:
    """Officer and escalation digests show no practice list, so their scan only counts them."""
    with reading(engine) as session:
        alone = build_plans(session, imported, ["officer", "escalation"], AS_OF)
        with_team = build_plans(session, imported, ["officer", "escalation", "team"], AS_OF)
    contexts = [p.context for p in with_team.plans if p.context.kind != "team"]
    assert [p.context for p in alone.plans] == contexts
    assert contexts
