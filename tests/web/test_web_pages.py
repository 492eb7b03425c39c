"""What the pages show: the digest's headline from the one scan, filters, freshness, ops, the access log.

These use the demo app's local sign-in (the OIDC path is covered in test_web_access):
what is under test here is the content, which is the same however one signed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import Engine, select
from web_support import (
    AS_OF,
    LEAD,
    OM_A1,
    OM_A2,
    SUP_A,
    TEAM_A,
    TEAM_B,
    build_register,
    demo_sign_in,
    email,
    make_app,
    store,
    web_config,
)

from monitor.core.config import Config
from monitor.register.db import reading, transaction
from monitor.register.models import AccessLogEntry, Disclosure, ImportRun, JobRun, OutboxMessage
from monitor.reports.snapshot import take_snapshot
from monitor.rules.scan import scan


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """Content does not depend on the backend: SQLite, except where a test asks for both."""
    return sqlite_engine


@pytest.fixture
def app(engine: Engine, make_config: Callable[..., Config]) -> Flask:
    build_register(engine)
    return make_app(web_config(make_config, str(engine.url)), engine, demo=True)


@pytest.fixture
def both_backends_app(make_config: Callable[..., Config], db_url: str) -> Iterator[tuple[Flask, Engine]]:
    from monitor.register.db import make_engine

    engine = make_engine(db_url)
    build_register(engine)
    yield make_app(web_config(make_config, db_url), engine, demo=True), engine
    engine.dispose()


def signed_in(app: Flask, officer: str) -> FlaskClient:
    client = app.test_client()
    assert demo_sign_in(client, email(officer)).status_code == 303
    return client


def refs_in(html: str) -> list[str]:
    return re.findall(r"RSO-[A-Z0-9]+-\d{3}", html)


def test_team_page_shows_the_scan_worst_first_with_the_digest_headline(app: Flask, engine: Engine) -> None:
    client = signed_in(app, SUP_A)
    html = client.get(f"/teams/{TEAM_A}").get_data(as_text=True)
    with reading(engine) as db:
        ob = scan(db, app.extensions["visit_monitor"].config.policy, AS_OF, team=TEAM_A)
    cases = html.split('id="cases"', 1)[1].split("Offender managers", 1)[0]
    assert refs_in(cases) == [i.ref for i in ob.overdue_visits]  # risk, days overdue, ref: as everywhere
    worst = max(ob.overdue_visits, key=lambda i: i.days_overdue)
    headline = html.split('class="figures"', 1)[1].split("</ul>", 1)[0]
    assert f"{ob.summary.active_caseload}</span>" in headline
    assert f"{ob.summary.overdue_visits}</span>" in headline
    assert f"{worst.days_overdue} days" in headline and worst.ref in headline
    for words in ("Overdue home visits by risk", "Overdue home visits by risk and days overdue", "Backlog trend"):
        assert words in html
    assert "days overdue" in cases and "Very high" in cases  # status and risk in words
    assert html.count('<p class="marking">OFFICIAL-SENSITIVE</p>') == 2
    assert f'href="/officers/{OM_A1}"' in html and f'href="/officers/{OM_A2}"' in html


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ("status=unknown", ["RSO-A-011"]),
        ("status=due_soon", ["RSO-A-009"]),
        ("status=failed", ["RSO-A-010"]),
        ("risk=very_high", ["RSO-A-001", "RSO-A-002"]),
        (f"risk=very_high&officer={OM_A2}", ["RSO-A-002"]),
    ],
)
def test_filters_are_get_parameters(app: Flask, query: str, expect: list[str]) -> None:
    client = signed_in(app, SUP_A)
    html = client.get(f"/teams/{TEAM_A}?{query}").get_data(as_text=True)
    cases = html.split('id="cases"', 1)[1].split("Offender managers", 1)[0]
    assert sorted(set(refs_in(cases))) == expect
    assert f"/teams/{TEAM_A}/export.csv?" in html


def test_officer_page_is_the_officers_week(app: Flask) -> None:
    html = signed_in(app, OM_A1).get(f"/officers/{OM_A1}").get_data(as_text=True)
    for title in ("Overdue home visits", "Home visits due in the next 14 days", "Overdue risk reviews"):
        assert title in html
    assert "RSO-A-001" in html and "RSO-A-002" not in html  # A-002 is OM-A2's


def test_force_page_lists_teams_worst_first_with_links(app: Flask) -> None:
    html = signed_in(app, LEAD).get("/force").get_data(as_text=True)
    side_by_side = html.split("Teams by overdue home visits, worst first", 1)[1]
    teams = re.findall(r'<th scope="row"><a href="/teams/([^"]+)">', side_by_side)
    assert teams == [TEAM_A, TEAM_B]  # A has more overdue visits
    assert "All teams" in html
    # The page leads with the governance view: N of M overdue, per team and month by month.
    assert html.index("Governance: overdue home visits of the caseload") < html.index("Teams by overdue home visits")
    assert "Lone-visit share" in html and "Not recorded" in html  # no second_officer column in this register


def test_freshness_banner_warns_when_the_last_import_is_old(app: Flask, engine: Engine) -> None:
    client = signed_in(app, SUP_A)
    assert "no import has finished yet" in client.get(f"/teams/{TEAM_A}").get_data(as_text=True)
    finished = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)
    with transaction(engine) as db:
        db.add(ImportRun(source="x", started_at=finished, finished_at=finished, outcome="ok", counts={}))
    with freeze_time("2026-11-23 09:00:00"):
        html = client.get(f"/teams/{TEAM_A}").get_data(as_text=True)
    assert "Register as of the last import at 05:30 on 23 Nov 2026" in html and "may be out of date" not in html
    with freeze_time("2026-11-25 09:00:00"):
        html = client.get(f"/teams/{TEAM_A}").get_data(as_text=True)
    assert "Warning: the register may be out of date" in html


def test_trend_chart_has_a_table_alternative(app: Flask, engine: Engine) -> None:
    config = app.extensions["visit_monitor"].config
    for days in (14, 7, 0):
        take_snapshot(engine, config, AS_OF - timedelta(days=days))
    html = signed_in(app, SUP_A).get(f"/teams/{TEAM_A}").get_data(as_text=True)
    assert '<svg class="chart" role="img" aria-labelledby="trend-chart"' in html
    table = html.split("Trend as a table", 1)[1]
    assert table.count('<th scope="row">') == 3


def test_access_log_records_metadata_only_and_is_filterable(both_backends_app: tuple[Flask, Engine]) -> None:
    app, _engine = both_backends_app
    client = signed_in(app, SUP_A)
    client.get(f"/teams/{TEAM_A}?risk=high")
    client.get(f"/teams/{TEAM_B}")
    client.get(f"/teams/{TEAM_A}/export.csv")
    with reading(store(app)) as db:
        rows = list(db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)))
    seen = [(r.action, r.scope, r.outcome, r.status) for r in rows]
    assert seen == [
        ("sign_in", "none", "allowed", 303),
        ("view", f"team:{TEAM_A}", "allowed", 200),
        ("view", f"team:{TEAM_B}", "not_found", 404),
        ("export", f"team:{TEAM_A}", "allowed", 200),
    ]
    assert rows[1].filters == "status=overdue risk=high" and rows[1].cases_shown > 0
    # The page also shows the week's plan whatever the case filter, so it counts those too.
    assert rows[2].cases_shown == 0 and rows[3].cases_shown > 0
    for row in rows:
        assert "RSO-" not in " ".join(str(v) for v in vars(row).values())
        assert row.officer_id == SUP_A and row.subject == f"demo:{SUP_A}"
    lead = signed_in(app, LEAD)
    html = lead.get(f"/access-log?officer={SUP_A}&outcome=not_found").get_data(as_text=True)
    assert f"team:{TEAM_B}" in html and f"team:{TEAM_A}" not in html
    assert lead.get(f"/access-log?from={AS_OF.isoformat()}&to=2999-01-01").status_code == 200
    assert lead.get("/access-log?action=delete").status_code == 400
    assert lead.get("/access-log?page=0").status_code == 400


def test_ops_page_shows_imports_rejects_outbox_and_undelivered(app: Flask, engine: Engine, tmp_path: Path) -> None:
    from monitor.register.importer import import_directory

    extract = tmp_path / "extract"
    extract.mkdir()
    (extract / "officers.csv").write_text(
        "officer_id,name,email,team,role,active\nOM-NEW,Officer New,not-an-address,ALPHA,offender_manager,true\n"
    )
    import_directory(engine, app.extensions["visit_monitor"].config, extract)
    now = datetime.now(UTC)
    with transaction(engine) as db:
        db.add(
            Disclosure(
                at=now,
                message_id="",
                kind="team",
                recipient=OM_A2,
                email="x@partner.example",
                case_refs=[],
                transport="none",
                relay_reply="address outside the allowed domains",
                outcome="blocked",
            )
        )
        db.add(
            OutboxMessage(
                kind="team",
                recipient=SUP_A,
                email=email(SUP_A),
                period="2026-W48",
                message_id="<m@x>",
                subject="s",
                content=b"",
                case_refs=[],
                status="failed",
                created_at=now,
            )
        )
        db.add(
            JobRun(
                job="team_digest",
                scheduled_for=now,
                started_at=now,
                finished_at=now,
                outcome="ok",
                counts={"queued": 3, "no_recipient": 1},
                worker="w1",
            )
        )
    html = signed_in(app, LEAD).get("/ops").get_data(as_text=True)
    assert "queued 3, no recipient 1" in html
    assert "Rows rejected by import" in html and "officers.csv" in html
    assert "address outside the allowed domains" in html and OM_A2 in html
    assert "x@partner.example" not in html  # who, by officer id; not their address
    assert re.search(r"<th scope=\"row\">failed</th><td class=\"num\">1</td>", html)
    assert "Scheduled jobs" in html and "No daemon has reported in" in html


def test_demo_sign_in_lists_users_and_refuses_strangers(app: Flask) -> None:
    client = app.test_client()
    html = client.get("/sign-in").get_data(as_text=True)
    assert "A stranger (not in the register)" in html and f"{LEAD}, force lead" in html
    assert "inactive" in html
    refused = demo_sign_in(client, "nobody@elsewhere.example")
    assert refused.status_code == 403


def test_nothing_is_shown_when_the_access_log_cannot_be_written(app: Flask, engine: Engine) -> None:
    from sqlalchemy import text

    client = signed_in(app, SUP_A)
    with store(app).begin() as conn:
        conn.execute(text("DROP TABLE web_access_log"))
    response = client.get(f"/teams/{TEAM_A}")
    assert response.status_code == 500 and "RSO-" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
