"""The practice measures on the web pages: the team's block and lists, the MAPPA filter, the
force page's governance view and practice block, the officer's lists, the CSV of a list.

A generated register with the practice columns (same people as without them), imported as
a force would; the team page scans its team only, so nothing here can show another team.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from web_support import demo_sign_in, make_app, web_config

from monitor.core.config import Config, Policy
from monitor.register.db import reading
from monitor.register.importer import import_directory
from monitor.reports.snapshot import take_snapshot
from monitor.rules.scan import scan
from monitor.synthetic.generator import generate

AS_OF = date(2026, 11, 23)  # web_support's date: the app shows it


@pytest.fixture
def app(sqlite_engine: Engine, make_config: Callable[..., Config], tmp_path: Path) -> Flask:
    src = tmp_path / "extract"
    generate(400, seed=71, as_of=AS_OF, out_dir=src, practice=True)
    config = web_config(make_config, str(sqlite_engine.url))
    assert import_directory(sqlite_engine, config, src).exit_code == 0
    for months in (3, 2, 1):
        take_snapshot(sqlite_engine, config, AS_OF - timedelta(days=30 * months))
    return make_app(config, sqlite_engine, demo=True)


def _sign_in(app: Flask, sqlite_engine: Engine, role: str, team: str | None = None) -> tuple[object, str, str]:
    from sqlalchemy import select

    from monitor.register.models import Officer

    with reading(sqlite_engine) as db:
        query = select(Officer).where(Officer.role == role, Officer.active.is_(True))
        if team is not None:
            query = query.where(Officer.team == team)
        officer = db.scalars(query.order_by(Officer.officer_id)).first()
        assert officer is not None
        officer_id, address, home = officer.officer_id, officer.email, officer.team
    client = app.test_client()
    assert demo_sign_in(client, address).status_code in (302, 303)
    return client, officer_id, home


def test_team_page_shows_the_practice_block_and_its_lists(app: Flask, sqlite_engine: Engine) -> None:
    client, _ds, team = _sign_in(app, sqlite_engine, "supervisor")
    html = client.get(f"/teams/{team}").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Practice: paired and varied visits, supervisor reviews, caseloads" in html
    assert "Each offender manager's caseload against the ceiling of 50" in html
    assert "Visit interval" in html and "MAPPA" in html  # on every case line
    for status, heading in (
        ("supervision", "Overdue supervisor reviews"),
        ("predictable", "Predictable visits"),
        ("lone", "Lone visits"),
    ):
        page = client.get(f"/teams/{team}?status={status}")  # type: ignore[attr-defined]
        assert page.status_code == 200, status
        assert f"<caption>{heading} (" in page.get_data(as_text=True), status
    with reading(sqlite_engine) as db:
        ob = scan(db, _policy(app), AS_OF, team=team)
    level_2 = [i.ref for i in ob.overdue_visits if i.tags is not None and i.tags.mappa_level == 2]
    page = client.get(f"/teams/{team}?mappa=2").get_data(as_text=True)  # type: ignore[attr-defined]
    cases = page.split('id="cases"', 1)[1].split("Practice:", 1)[0]
    assert sorted(set(re.findall(r"RSO-\d{6}", cases))) == sorted(level_2)
    assert client.get(f"/teams/{team}?mappa=4").status_code == 400  # type: ignore[attr-defined]
    export = client.get(f"/teams/{team}/export.csv?status=lone").get_data(as_text=True)  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(export.split("\r\n", 1)[1].rsplit("\r\n", 2)[0])))
    assert rows and {r["section"] for r in rows} == {"lone_visit"}
    assert len(rows) == len([v for v in ob.lone_visits])


def _policy(app: Flask) -> Policy:
    from monitor.web.state import state

    with app.app_context():
        return state().config.policy


def test_force_page_leads_with_governance_and_shows_practice(app: Flask, sqlite_engine: Engine) -> None:
    client, _lead, _home = _sign_in(app, sqlite_engine, "lead")
    html = client.get("/force").get_data(as_text=True)  # type: ignore[attr-defined]
    governance = html.index("Governance: overdue home visits of the caseload")
    assert governance < html.index("Teams by overdue home visits")
    assert "Overdue home visits of the caseload, month by month" in html
    months = html.split("month by month", 1)[1].split("</table>", 1)[0]
    assert months.count(" of ") >= 4  # three month-end snapshots and now, at least for the force
    assert "Lone-visit share, all teams" in html and "Not recorded" not in html.split("Governance", 1)[1][:3000]
    assert "Practice: caseloads, paired and announced visits, MAPPA" in html
    assert "MAPPA levels: caseload and overdue home visits" in html


def test_officer_page_lists_the_officers_practice(app: Flask, sqlite_engine: Engine) -> None:
    client, officer, _team = _sign_in(app, sqlite_engine, "offender_manager")
    html = client.get(f"/officers/{officer}").get_data(as_text=True)  # type: ignore[attr-defined]
    for heading in ("Overdue supervisor reviews (", "Predictable visits (", "Lone visits, last P90D ("):
        assert heading in html, heading
