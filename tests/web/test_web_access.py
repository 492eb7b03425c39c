"""The web app's access rules, in process: every role x every route x own and other scope.

Signing in goes through a real OIDC provider (oidc-provider-mock). Expected answers:
200 in scope, 404 out of scope (exactly like a page that does not exist), 403 for an
identity that is not an active officer, a redirect to sign-in for anyone not signed in.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from web_support import (
    INACTIVE,
    LEAD,
    OM_A1,
    OM_A2,
    OM_B1,
    STRANGER,
    SUP_A,
    SUP_B,
    TEAM_A,
    TEAM_B,
    build_register,
    email,
    make_app,
    oidc_sign_in,
    store,
    web_config,
)

from monitor.core.config import Config
from monitor.register.db import reading
from monitor.register.models import AccessLogEntry
from monitor.web.access import RULES, declared_rule

# (route, owner scope) -> expected status for lead, supervisor of A, offender manager A1
ROUTES: list[tuple[str, tuple[int, int, int]]] = [
    (f"/teams/{TEAM_A}", (200, 200, 404)),
    (f"/teams/{TEAM_B}", (200, 404, 404)),
    (f"/teams/{TEAM_A}/export.csv", (200, 200, 404)),
    (f"/teams/{TEAM_B}/export.csv", (200, 404, 404)),
    (f"/teams/{TEAM_A}/export.html", (200, 200, 404)),
    (f"/teams/{TEAM_B}/export.html", (200, 404, 404)),
    (f"/teams/{TEAM_A}/plan.csv", (200, 200, 404)),
    (f"/teams/{TEAM_B}/plan.csv", (200, 404, 404)),
    ("/teams/NO-SUCH-TEAM/plan.csv", (404, 404, 404)),
    ("/teams/NO-SUCH-TEAM", (404, 404, 404)),
    (f"/officers/{OM_A1}", (200, 200, 200)),
    (f"/officers/{OM_A2}", (200, 200, 404)),
    (f"/officers/{OM_B1}", (200, 404, 404)),
    (f"/officers/{SUP_B}", (200, 404, 404)),
    (f"/officers/{OM_A1}/export.csv", (200, 200, 200)),
    (f"/officers/{OM_B1}/export.csv", (200, 404, 404)),
    (f"/officers/{OM_A1}/export.html", (200, 200, 200)),
    (f"/officers/{OM_B1}/export.html", (200, 404, 404)),
    ("/officers/NO-SUCH-OFFICER", (404, 404, 404)),
    ("/force", (200, 404, 404)),
    ("/ops", (200, 404, 404)),
    ("/access-log", (200, 404, 404)),
    ("/no-such-page", (404, 404, 404)),
]
HOME = {LEAD: "/force", SUP_A: f"/teams/{TEAM_A}", OM_A1: f"/officers/{OM_A1}"}


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


def test_every_role_every_route_own_and_other_scope(app_on: Flask, oidc_provider: str) -> None:
    app = app_on
    got: dict[tuple[str, str], int] = {}
    expected: dict[tuple[str, str], int] = {}
    for column, officer in enumerate((LEAD, SUP_A, OM_A1)):
        client = app.test_client()
        signed = oidc_sign_in(client, oidc_provider, email(officer))
        assert signed.status_code == 303
        home = client.get("/")
        assert (home.status_code, home.headers["Location"]) == (303, HOME[officer])
        for route, statuses in ROUTES:
            got[(officer, route)] = client.get(route).status_code
            expected[(officer, route)] = statuses[column]
    assert got == expected


@pytest.mark.parametrize("who", [STRANGER, email(INACTIVE), ""], ids=["stranger", "inactive", "no-email"])
def test_unknown_inactive_or_emailless_identities_get_a_plain_403(app: Flask, oidc_provider: str, who: str) -> None:
    client = app.test_client()
    answer = oidc_sign_in(client, oidc_provider, who)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 403
    assert "You cannot use this service" in body
    assert "RSO-" not in body and "OFFICIAL-SENSITIVE" in body
    for route, _ in ROUTES:  # still not signed in: every page sends them to sign in
        response = client.get(route)
        assert response.status_code in (303, 404), route
        if response.status_code == 303:
            assert response.headers["Location"] == "/auth/login"
    with reading(store(app)) as db:
        refused = db.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "refused")).all()
    assert len(refused) == 1 and refused[0].officer_id is None and refused[0].subject


def test_anonymous_requests_go_to_the_provider_and_come_back(app: Flask, oidc_provider: str) -> None:
    client = app.test_client()
    for route, _ in ROUTES[:-1]:
        response = client.get(route)
        assert response.status_code == 303 and response.headers["Location"] == "/auth/login", route
    assert client.get("/login").headers["Location"] == "/auth/login"
    assert client.get("/auth/login").headers["Location"].startswith(oidc_provider)
    client.get(f"/teams/{TEAM_A}?risk=high")
    signed = oidc_sign_in(client, oidc_provider, email(SUP_A))
    assert signed.headers["Location"] == f"/teams/{TEAM_A}?risk=high"


def test_email_claim_is_matched_case_insensitively_and_configurable(
    engine: Engine, make_config: Callable[..., Config], db_url: str, oidc_provider: str
) -> None:
    build_register(engine)
    config = web_config(make_config, db_url, issuer=oidc_provider, email_claim="upn")
    app = make_app(config, engine)
    client = app.test_client()
    # OM-A1's register address is upper case; the provider sends lower case under "upn".
    answer = oidc_sign_in(client, oidc_provider, "", upn=email(OM_A1))
    assert answer.status_code == 303
    assert client.get(f"/officers/{OM_A1}").status_code == 200


def test_every_route_declares_an_access_rule(app: Flask) -> None:
    inventory = {rule.rule: declared_rule(app.view_functions[rule.endpoint]) for rule in app.url_map.iter_rules()}
    assert all(r in RULES for r in inventory.values()), {k: v for k, v in inventory.items() if v not in RULES}
    assert inventory == {
        "/": "signed_in",
        "/sign-in": "public",
        "/login": "public",
        "/signed-out": "public",
        "/assets/web.css": "public",
        "/auth/login": "public",
        "/auth/callback": "public",
        "/sign-out": "public",
        "/teams/<key:code>": "team",
        "/teams/<key:code>/export.csv": "team",
        "/teams/<key:code>/export.html": "team",
        "/teams/<key:code>/plan.csv": "team",
        "/officers/<key:officer_id>": "officer",
        "/officers/<key:officer_id>/export.csv": "officer",
        "/officers/<key:officer_id>/export.html": "officer",
        "/force": "lead",
        "/ops": "lead",
        "/access-log": "lead",
        "/help": "public",
        "/help/": "public",
        "/help/<path:page>": "public",
    }


def test_a_route_without_a_declared_rule_is_refused(app: Flask, oidc_provider: str) -> None:
    app.add_url_rule("/undeclared", "undeclared", lambda: "case data")
    client = app.test_client()
    oidc_sign_in(client, oidc_provider, email(LEAD))
    response = client.get("/undeclared")
    assert response.status_code == 404 and "case data" not in response.get_data(as_text=True)
    assert declared_rule(app.view_functions["undeclared"]) is None


def test_supervisor_of_b_sees_b_and_not_a(app: Flask, oidc_provider: str) -> None:
    client = app.test_client()
    oidc_sign_in(client, oidc_provider, email(SUP_B))
    assert client.get(f"/teams/{TEAM_B}").status_code == 200
    assert client.get(f"/teams/{TEAM_A}").status_code == 404
    # OM-A1 holds one case filed under B7Q: B's supervisor may open OM-A1, limited to that case.
    page = client.get(f"/officers/{OM_A1}").get_data(as_text=True)
    assert "RSO-B7Q-099" in page and "RSO-A-" not in page
