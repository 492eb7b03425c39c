"""The leak oracle: nothing of team B reaches team A's supervisor, whatever they ask for.

Every page, export, error page and header that team A's supervisor receives is searched
for team B's refs, officer ids and team code, including for tampered parameters and
for the offender manager of team A who also holds one case filed under team B.
Exports hold exactly the filtered view, with the marking at the top and the bottom.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from itertools import product

import pytest
from flask import Flask
from sqlalchemy import Engine
from web_support import (
    AS_OF,
    B_MARKERS,
    OM_A1,
    OM_A2,
    OM_B1,
    SUP_A,
    SUP_B,
    TEAM_A,
    TEAM_B,
    build_register,
    email,
    make_app,
    oidc_sign_in,
    text_of,
    web_config,
)

from monitor.core.config import Config
from monitor.register.db import reading
from monitor.reports.export import CSV_COLUMNS
from monitor.rules.scan import scan

STATUSES = ("overdue", "due_soon", "failed", "unknown", "review", "notification")
RISKS = ("", "very_high", "high", "medium", "low")


@pytest.fixture(autouse=True)
def _client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_OIDC_CLIENT_SECRET", "test-only-secret")


@pytest.fixture
def app(sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, oidc_provider: str) -> Flask:
    """Most checks here do not depend on the backend: SQLite."""
    build_register(sqlite_engine)
    return make_app(web_config(make_config, sqlite_url, issuer=oidc_provider), sqlite_engine)


@pytest.fixture
def app_on(engine: Engine, make_config: Callable[..., Config], db_url: str, oidc_provider: str) -> Flask:
    """The app on SQLite and on PostgreSQL, for the checks that must hold on both."""
    build_register(engine)
    return make_app(web_config(make_config, db_url, issuer=oidc_provider), engine)


def test_team_b_never_reaches_team_a_supervisor(app_on: Flask, oidc_provider: str) -> None:
    app = app_on
    client = app.test_client()
    received = {"sign-in": text_of(oidc_sign_in(client, oidc_provider, email(SUP_A)))}
    paths = ["/", f"/teams/{TEAM_A}", f"/officers/{OM_A1}", f"/officers/{OM_A2}", "/force", "/ops", "/access-log"]
    for status, risk, officer in product(STATUSES, ("", "high"), ("", OM_A2)):
        query = "&".join(f"{k}={v}" for k, v in (("status", status), ("risk", risk), ("officer", officer)) if v)
        for page in ("", "/export.csv", "/export.html"):
            paths.append(f"/teams/{TEAM_A}{page}?{query}")
    for page in ("", "/export.csv", "/export.html"):
        paths += [f"/teams/{TEAM_B}{page}", f"/officers/{OM_B1}{page}", f"/officers/{SUP_B}{page}"]
        paths += [f"/officers/{OM_A1}{page}?team={TEAM_B}", f"/teams/{TEAM_A}{page}?officer={OM_B1}"]
    paths += [f"/teams/{TEAM_B}/plan.csv", f"/teams/{TEAM_A}?officer_away={OM_B1}", f"/teams/{TEAM_A}/plan.csv"]
    paths += [
        f"/teams/{TEAM_A}?team={TEAM_B}",
        f"/teams/{TEAM_A}/../{TEAM_B}",
        f"/teams/{TEAM_A}%2F..%2F{TEAM_B}",
        f"/teams/{TEAM_B.lower()}",
        f"/teams/{TEAM_B}%20",
        f"/access-log?officer={OM_B1}",
        "/ops?x=1",
    ]
    for path in paths:
        received[path] = text_of(client.get(path))
    received["POST team B"] = text_of(client.post(f"/teams/{TEAM_B}"))
    received["POST forged sign-out"] = text_of(client.post("/sign-out", data={"csrf_token": "forged"}))
    leaks = [(what, marker) for what, text in received.items() for marker in B_MARKERS if marker in text]
    assert leaks == []
    # Team A's own cases did reach them (the oracle is not passing for an empty app).
    assert "RSO-A-001" in "".join(received.values())


TAMPERED: list[tuple[str, str, str]] = [  # query, parameter named in the answer, text never echoed
    ("status=everything", "status", "everything"),
    ("risk=%3Cscript%3Ealert(1)%3C/script%3E", "risk", "<script>"),
    (f"officer={OM_B1}", "officer", OM_B1),
    ("officer=OM-NOBODY", "officer", "OM-NOBODY"),
    ("status=overdue&status=due_soon", "status", "due_soon"),
    ("risk=" + "h" * 500, "risk", "h" * 500),
]


def test_tampered_parameters_are_refused_without_echo(app_on: Flask, oidc_provider: str) -> None:
    app = app_on
    client = app.test_client()
    oidc_sign_in(client, oidc_provider, email(SUP_A))
    for (query, parameter, secret), page in product(TAMPERED, ("", "/export.csv", "/export.html")):
        response = client.get(f"/teams/{TEAM_A}{page}?{query}")
        body = response.get_data(as_text=True)
        assert response.status_code == 400, query
        assert f"“{parameter}”" in body
        assert secret not in body and "RSO-" not in body, query


def test_officer_page_for_a_supervisor_is_limited_to_their_team(app: Flask, oidc_provider: str) -> None:
    client = app.test_client()
    oidc_sign_in(client, oidc_provider, email(SUP_A))
    page = client.get(f"/officers/{OM_A1}").get_data(as_text=True)
    assert "RSO-A-001" in page and "RSO-B7Q-099" not in page
    mine = app.test_client()
    oidc_sign_in(mine, oidc_provider, email(OM_A1))
    own = mine.get(f"/officers/{OM_A1}").get_data(as_text=True)
    assert "RSO-B7Q-099" in own  # their own caseload, whichever team it is filed under


def test_csv_export_is_exactly_the_filtered_view_and_marked(app: Flask, oidc_provider: str) -> None:
    engine = app.extensions["visit_monitor"].engine
    client = app.test_client()
    oidc_sign_in(client, oidc_provider, email(SUP_A))
    config = app.extensions["visit_monitor"].config
    with reading(engine) as db:
        ob = scan(db, config.policy, AS_OF, team=TEAM_A)
    for risk, officer in product(RISKS, ("", OM_A1)):
        response = client.get(f"/teams/{TEAM_A}/export.csv?risk={risk}&officer={officer}")
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        assert "OFFICIAL-SENSITIVE" in response.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert rows[0] == ["OFFICIAL-SENSITIVE"] and rows[-1] == ["OFFICIAL-SENSITIVE"]
        assert tuple(rows[1]) == CSV_COLUMNS
        want = [
            i.ref
            for i in ob.overdue_visits
            if (not risk or i.risk_level == risk) and (not officer or i.offender_manager == officer)
        ]
        assert [r[1] for r in rows[2:-1]] == want
        assert {r[0] for r in rows[2:-1]} <= {"overdue_visit"}


def test_printable_export_is_marked_top_and_bottom(app: Flask, oidc_provider: str) -> None:
    client = app.test_client()
    oidc_sign_in(client, oidc_provider, email(SUP_A))
    body = client.get(f"/teams/{TEAM_A}/export.html?status=unknown").get_data(as_text=True)
    assert body.count('<p class="marking">OFFICIAL-SENSITIVE</p>') == 2
    assert "Whereabouts unknown" in body and "RSO-A-" in body
    officer = client.get(f"/officers/{OM_A1}/export.html").get_data(as_text=True)
    assert officer.count('<p class="marking">OFFICIAL-SENSITIVE</p>') == 2
