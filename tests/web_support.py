"""Shared pieces of the web tests: a two-team register, the app, signing in for real.

Team ALPHA and team B7Q (whose refs, officer ids and code are distinctive strings, so a
leak is a plain substring search). Signing in goes through a real OpenID Connect
provider (oidc-provider-mock on a loopback port): the test client asks the app to start
sign-in, the provider's authorization form is posted like a browser would, and the
provider's redirect comes back to the app's callback with the code and state. The
stand-in provider of ``oidc_idp`` issues planned (bad) tokens the same way
(:func:`idp_sign_in`), and :func:`assert_refused` says what a refusal must leave behind.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from builders import add_offender, add_officer, add_visit
from flask import Flask
from flask.testing import FlaskClient
from oidc_idp import Plan, StandInProvider
from sqlalchemy import Engine, select

from monitor.core.config import Config
from monitor.register.db import reading, transaction
from monitor.register.models import AccessLogEntry, WebSession
from monitor.web.app import create_app
from monitor.web.sessions import token_id

AS_OF = date(2026, 11, 23)

LEAD, SUP_A, OM_A1, OM_A2, SUP_B, OM_B1, INACTIVE = ("LEAD-9", "DS-A1", "OM-A1", "OM-A2", "DS-B7Q", "OM-B7Q1", "OM-AX")
STRANGER = "nobody@elsewhere.example"
TEAM_A, TEAM_B = "ALPHA", "B7Q"
#: Strings that identify team B: none may reach anyone scoped to team A.
B_MARKERS = ("RSO-B7Q", "OM-B7Q", "DS-B7Q", TEAM_B)


def email(officer_id: str) -> str:
    return f"{officer_id.lower()}@police.example"


def build_register(engine: Engine) -> dict[str, list[str]]:
    """Officers and cases for two teams; returns each team's refs.

    Each team has overdue visits at every risk level, a due-soon visit, one with 2+
    failed attempts, an overdue review, a missing person. OM-A1 also manages one case
    filed under team B7Q (a real-world inconsistency): team A's supervisor must not see it.
    """
    refs: dict[str, list[str]] = {TEAM_A: [], TEAM_B: []}
    with transaction(engine) as s:
        add_officer(s, LEAD, team="HQ", role="lead", email=email(LEAD))
        add_officer(s, SUP_A, team=TEAM_A, role="supervisor", email=email(SUP_A))
        add_officer(s, OM_A1, team=TEAM_A, email=email(OM_A1).upper())  # case-insensitive match
        add_officer(s, OM_A2, team=TEAM_A, email=email(OM_A2))
        add_officer(s, INACTIVE, team=TEAM_A, email=email(INACTIVE), active=False)
        add_officer(s, SUP_B, team=TEAM_B, role="supervisor", email=email(SUP_B))
        add_officer(s, OM_B1, team=TEAM_B, email=email(OM_B1))
        for team, prefix, managers in ((TEAM_A, "RSO-A", (OM_A1, OM_A2)), (TEAM_B, "RSO-B7Q", (OM_B1,))):
            n = 0
            for risk in ("very_high", "high", "medium", "low"):
                for k, manager in enumerate(managers):
                    n += 1
                    ref = f"{prefix}-{n:03d}"
                    add_offender(s, ref, team=team, offender_manager=manager, risk_level=risk)
                    add_visit(s, f"V-{ref}", ref, AS_OF - timedelta(days=400 + 10 * k + n))
                    refs[team].append(ref)
            n += 1
            soon = f"{prefix}-{n:03d}"  # medium, visited 6 months less 5 days ago: due soon
            add_offender(s, soon, team=team, offender_manager=managers[0], risk_assessed_on=AS_OF)
            add_visit(s, f"V-{soon}", soon, AS_OF - timedelta(days=177))
            refs[team].append(soon)
            n += 1
            failed = f"{prefix}-{n:03d}"
            add_offender(s, failed, team=team, offender_manager=managers[-1], risk_level="high")
            for j in range(3):
                add_visit(s, f"V-{failed}-{j}", failed, AS_OF - timedelta(days=10 + j), outcome="no_access")
            refs[team].append(failed)
            n += 1
            missing = f"{prefix}-{n:03d}"
            add_offender(s, missing, team=team, offender_manager=managers[0], status="missing")
            refs[team].append(missing)
        add_offender(s, "RSO-B7Q-099", team=TEAM_B, offender_manager=OM_A1, risk_level="very_high")
        refs[TEAM_B].append("RSO-B7Q-099")
    return refs


def web_config(make_config: Callable[..., Config], db_url: str, issuer: str = "", **web: Any) -> Config:
    settings = {"base_url": "http://localhost", "issuer": issuer, "client_id": "visit-monitor-test", **web}
    return make_config(db_url, web=settings)


def make_app(config: Config, engine: Engine, *, demo: bool = False, cache_seconds: float = 0) -> Flask:
    app = create_app(config, engine, as_of=AS_OF, demo_mode=demo, cache_seconds=cache_seconds)
    app.testing = False  # errors go through the app's own handlers, as in production
    return app


def store(app: Flask) -> Engine:
    """Where the app keeps sessions and the access log (on SQLite, the web store file)."""
    found: Engine = app.extensions["visit_monitor"].store
    return found


def local(url: str) -> str:
    """The path and query of a URL, for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def provider_user(provider: str, address: str, **claims: Any) -> str:
    """Register a user at the provider (a fresh subject each time); returns the subject.

    The provider vouches for the address (``email_verified``) unless ``claims`` say otherwise.
    """
    sub = f"sub-{uuid.uuid4().hex[:12]}"
    claims = {"email_verified": True, **claims}
    body = {"email": address, **claims} if address else dict(claims)
    response = requests.put(f"{provider}/users/{quote(sub)}", json=body, timeout=10)
    assert response.status_code == 204, response.text
    return sub


def oidc_sign_in(client: FlaskClient, provider: str, address: str, **claims: Any) -> Any:
    """Sign in through the provider as the user with ``address``; returns the app's answer."""
    sub = provider_user(provider, address, **claims)
    start = client.get("/auth/login")
    assert start.status_code == 302, start.status_code
    authorize = start.headers["Location"]
    assert authorize.startswith(provider)
    query = dict(x.split("=", 1) for x in urlsplit(authorize).query.split("&"))
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["state"] and query["nonce"]
    back = requests.post(authorize, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    return client.get(local(back.headers["Location"]))


def idp_sign_in(client: FlaskClient, idp: StandInProvider, plan: Plan) -> Any:
    """Start sign-in at the app, let the provider answer with ``plan``'s token, return the callback's answer."""
    idp.plan = plan
    start = client.get("/auth/login")
    assert start.status_code == 302, start.status_code
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    return client.get(local(back.headers["Location"]))


def assert_refused(app: Flask, client: FlaskClient, answer: Any, status: int, reason: str | None) -> None:
    """Nobody signed in, nothing shown, and a refusal in the access log saying why."""
    body = answer.get_data(as_text=True)
    assert answer.status_code == status, (answer.status_code, body[:200])
    assert "RSO-" not in body
    follow = client.get("/force")
    assert (follow.status_code, follow.headers.get("Location")) == (303, "/auth/login")
    cookie = client.get_cookie("vm_session")
    with reading(store(app)) as db:
        if cookie is not None:  # whatever the browser still holds is no signed-in session
            held = db.get(WebSession, token_id(cookie.value))
            assert held is None or held.officer_id is None
        row = db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first()
    assert row is not None and (row.action, row.outcome, row.officer_id, row.status) == (
        "refused",
        "refused",
        None,
        status,
    )
    if reason is not None:  # a token that failed a check: its subject is not trusted, so not logged
        assert (row.filters, row.subject) == (f"reason={reason}", None)


def demo_sign_in(client: FlaskClient, address: str) -> Any:
    page = client.get("/sign-in")
    token = csrf_of(page.get_data(as_text=True))
    return client.post("/demo/sign-in", data={"email": address, "csrf_token": token})


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def text_of(response: Any) -> str:
    """Everything a response carries: status line, headers and body."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.status}\n{headers}\n{response.get_data(as_text=True)}"
