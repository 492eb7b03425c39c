"""Hostile paths and parameters: never a 5xx, always an access-log row, the same on SQLite and PostgreSQL.

A NUL in ``/teams/NORTH%00`` once reached PostgreSQL, which cannot compare text holding
NUL: the view failed with a 500, and so did the access-log write meant to record the
probe ("response withheld"), while SQLite answered 404 and logged it. Path keys and GET
parameters are now refused before any query (a key no register can hold: 404, like an
unknown team; a parameter with a control character: 400), and whatever the request held
is stored escaped. The listed probes and hypothesis' own (NUL, controls, lone surrogates,
line and bidi marks, huge values, encoded slashes, any Unicode in keys and parameters) run
as the force lead on both databases: each answer is below 500 and leaves exactly one
row in the access log with its status and no raw control character.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from web_support import LEAD, TEAM_A, build_register, email, make_app, oidc_sign_in, store, web_config

from monitor.core.config import Config
from monitor.register.db import reading
from monitor.register.models import AccessLogEntry

#: (probe, status): keys no register can hold answer 404, parameters with controls 400.
PROBES: list[tuple[str, int]] = [
    ("/teams/NORTH%00", 404),
    ("/teams/%00", 404),
    ("/teams/ALPHA%00/export.csv", 404),
    ("/teams/ALPHA%00/export.html", 404),
    ("/officers/X%00", 404),
    ("/officers/X%00/export.csv", 404),
    ("/officers/OM-A1%00/export.html", 404),
    ("/teams/%1B%5B31mALPHA", 404),
    ("/teams/ALPHA%E2%80%AE", 404),
    ("/teams/%ED%A0%80", 404),
    ("/teams/%C2%85", 404),
    ("/teams/ALPHA%2F..%2F%00", 404),
    ("/teams/" + "A" * 65, 404),
    ("/officers/" + "%F0%9F%98%80" * 2000, 404),
    ("/teams/A%0AB", 404),
    ("/%00", 404),
    ("/access-log?officer=%00", 400),
    ("/access-log?officer=OM%00A1&action=view", 400),
    ("/access-log?from=2026-01-01%00", 400),
    ("/access-log?%00=1", 400),
    (f"/teams/{TEAM_A}?officer=%00", 400),
    (f"/teams/{TEAM_A}?risk=%00", 400),
    (f"/teams/{TEAM_A}/export.csv?status=over%00due", 400),
    (f"/teams/{TEAM_A}?team=%1B", 400),
    ("/force?x=%7F", 400),
    ("/ops?note=%E2%80%A8", 400),
    ("/teams/ALPHA?risk=" + "%00" * 5000, 400),
]


@pytest.fixture
def lead_client(engine: Engine, make_config: Callable[..., Config], db_url: str, oidc_provider: str) -> FlaskClient:
    build_register(engine)
    app = make_app(web_config(make_config, db_url, issuer=oidc_provider), engine)
    client = app.test_client()
    assert oidc_sign_in(client, oidc_provider, email(LEAD)).status_code == 303
    return client


@pytest.fixture(autouse=True)
def _client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_OIDC_CLIENT_SECRET", "test-only-secret")


def rows(app: Flask) -> int:
    with reading(store(app)) as db:
        return int(db.scalar(select(func.count()).select_from(AccessLogEntry)) or 0)


def probe(client: FlaskClient, path: str) -> int:
    """One request; it must answer below 500, show no case data on a refusal, and leave one row."""
    app = client.application
    before = rows(app)
    response = client.get(path)
    assert response.status_code < 500, (path[:200], response.status_code)
    if response.status_code >= 400:
        assert "RSO-" not in response.get_data(as_text=True)
    with reading(store(app)) as db:
        new = list(db.scalars(select(AccessLogEntry).where(AccessLogEntry.id > 0).order_by(AccessLogEntry.id)))[before:]
    assert len(new) == 1, (path[:200], len(new))
    row = new[0]
    assert row.status == response.status_code and row.officer_id == LEAD
    for text in (row.page, row.scope, row.filters):
        assert text.isprintable(), (path[:200], text[:100])
    return response.status_code


def test_listed_probes_are_refused_and_logged(lead_client: FlaskClient) -> None:
    got = {path[:60]: probe(lead_client, path) for path, _status in PROBES}
    assert got == {path[:60]: status for path, status in PROBES}
    with reading(store(lead_client.application)) as db:
        pages = [r.page for r in db.scalars(select(AccessLogEntry).where(AccessLogEntry.page.like("/teams/NORTH%")))]
    assert pages == ["/teams/NORTH\\x00"]  # the value escaped, not dropped
    assert lead_client.get(f"/teams/{TEAM_A}").status_code == 200  # still signed in, still served


def test_anonymous_probes_get_no_5xx_and_no_session(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, oidc_provider: str
) -> None:
    build_register(sqlite_engine)
    client = make_app(web_config(make_config, sqlite_url, issuer=oidc_provider), sqlite_engine).test_client()
    for path, status in PROBES:
        if "%ED%A0%80" in path:
            continue  # decoded as U+FFFD, a character a code may hold: sent to sign in, like any page
        answer = client.get(path)
        assert answer.status_code == status, path[:60]
        assert client.get_cookie("vm_session") is None  # nothing stored for a probe (no "return to" row)
    for path in ("/sign-in?ended=%00", "/auth/callback?code=%00&state=x", "/auth/login?hop=%1B"):
        assert client.get(path).status_code == 400, path


# -- generated probes ---------------------------------------------------------------------

_ANY = st.characters(codec=None, exclude_categories=())
_NASTY = st.one_of(
    st.sampled_from(
        ["\x00", "\x1b", "\x7f", "\u0085", "\u2028", "\u202e", "\ufeff", "\ud800", "\udfff", "/", "%", "?"]
    ),
    st.integers(0xD800, 0xDFFF).map(chr),
    _ANY,
)
_TEXT = st.one_of(
    st.text(_NASTY, min_size=1, max_size=12),
    st.text(_ANY, min_size=1, max_size=30),
    st.builds(lambda c, n: c * n, st.sampled_from(["A", "\x00", "é", "\U0001f600"]), st.integers(60, 3000)),
    st.sampled_from([TEAM_A, "NORTH/1", "B7Q", "OM-A1", "..", "."]),
)


def _enc(text: str) -> str:
    return quote(text, safe="", errors="surrogatepass")


@st.composite
def hostile_requests(draw: st.DrawFn) -> str:
    route = draw(st.sampled_from(["teams", "officers", "access-log", "force", "ops"]))
    path = f"/{route}"
    if route in ("teams", "officers"):
        key = draw(_TEXT)
        slash = draw(st.booleans())  # as a digest links it (%2F) or as the app does (/)
        path += "/" + (quote(key, safe="/", errors="surrogatepass") if slash else _enc(key))
        path += draw(st.sampled_from(["", "/export.csv", "/export.html"]))
    names = draw(
        st.lists(st.one_of(st.sampled_from(["status", "risk", "officer", "action", "from", "page"]), _TEXT), max_size=3)
    )
    params = [f"{_enc(name)}={_enc(draw(_TEXT))}" for name in names]
    return path + ("?" + "&".join(params) if params else "")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=hostile_requests())
def test_generated_probes_never_5xx_and_always_log(lead_client: FlaskClient, path: str) -> None:
    probe(lead_client, path)
