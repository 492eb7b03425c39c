"""What is built from a scan that counted risk reviews and notifications equals what is
built from one that listed them: the web app's force page and the daily snapshot.

Why: those two show reviews and notifications only as counts per team (and risk level),
so they scan with ``count_only`` and hold a tenth of a national scan's items (the force
page's figures stay cached in the web server). Their figures must not change for it, team
by team, on generated registers on both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from monitor.core.config import Config
from monitor.register.db import reading
from monitor.register.importer import import_directory
from monitor.reports.snapshot import snapshot_cells
from monitor.rules.scan import COUNTABLE, scan
from monitor.synthetic.generator import generate
from monitor.web.figures import backlog, force_figures, scan_scope, split, team_lines, with_lists

AS_OF = date(2026, 11, 30)


@pytest.fixture
def register(engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path) -> Config:
    generate(600, seed=51, as_of=AS_OF, out_dir=tmp_path / "extract")
    config = make_config(db_url)
    assert import_directory(engine, config, tmp_path / "extract").exit_code == 0
    return config


def test_force_figures_from_counts_equal_those_from_lists(engine: Engine, register: Config) -> None:
    days = register.policy.due_soon_days
    with reading(engine) as db:
        listed = scan_scope(db, register, AS_OF)
        figures = force_figures(db, register, AS_OF, None)
    assert figures.ob.unlisted == COUNTABLE and not figures.ob.overdue_risk_reviews
    assert figures.backlog == backlog(listed, listed.summary.active_caseload, days)
    assert figures.teams == team_lines(listed, days)
    assert len(figures.teams) >= 2 and all(line.backlog.overdue_risk_reviews for line in figures.teams)


def test_snapshot_cells_from_counts_equal_those_from_lists(engine: Engine, register: Config) -> None:
    days = register.policy.due_soon_days
    with reading(engine) as db:
        listed = scan(db, register.policy, AS_OF)
        counted = scan(db, register.policy, AS_OF, count_only=COUNTABLE)
    assert snapshot_cells(counted, counted.caseload, days) == snapshot_cells(listed, listed.caseload, days)
    assert counted.count("overdue_notifications") == len(listed.overdue_notifications) > 0


def test_counted_lists_are_cut_by_team_only(engine: Engine, register: Config) -> None:
    with reading(engine) as db:
        counted = scan(db, register.policy, AS_OF, count_only=COUNTABLE)
    parts = split(counted, "team")
    assert sum(part.count("overdue_risk_reviews") for part in parts.values()) == counted.summary.overdue_risk_reviews
    with pytest.raises(ValueError, match="cannot be cut by offender_manager"):
        split(counted, "offender_manager")
    empty = with_lists(counted)  # a team with nothing listed or counted: zero, not the force's
    assert empty.count("overdue_risk_reviews") == 0 and empty.count("overdue_notifications") == 0
    only = counted.only(["overdue_visits"])  # left out by only(): not counted either
    with pytest.raises(ValueError, match="left out, not counted"):
        only.count("due_soon")
