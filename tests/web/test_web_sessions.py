"""Sessions, sign-in and sign-out, CSRF, security headers, and the register deciding on every request.

Sessions are server-side rows behind an opaque cookie: idle and absolute timeouts are
checked with freezegun, sign-out deletes the row, signing in rotates the token, and an
officer deactivated (or moved) by a re-import is refused on their very next request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from freezegun import freeze_time
from sqlalchemy import Engine, func, select
from web_support import (
    LEAD,
    OM_A1,
    SUP_A,
    TEAM_A,
    build_register,
    csrf_of,
    demo_sign_in,
    email,
    local,
    make_app,
    oidc_sign_in,
    provider_user,
    store,
    web_config,
)
from werkzeug.serving import make_server

from monitor.core.config import Config
from monitor.register.db import reading
from monitor.register.importer import import_directory
from monitor.register.models import AccessLogEntry, WebSession
from monitor.web.sessions import token_id


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


def _cookie(client: object) -> str | None:
    cookie = client.get_cookie("vm_session")  # type: ignore[attr-defined]
    return cookie.value if cookie is not None else None


def _rows(engine: Engine) -> int:
    with reading(engine) as db:
        return int(db.scalar(select(func.count()).select_from(WebSession)) or 0)


def test_sign_in_rotates_the_token_and_sign_out_ends_the_session(
    app_on: Flask, engine: Engine, oidc_provider: str
) -> None:
    app = app_on
    client = app.test_client()
    client.get(f"/teams/{TEAM_A}")  # anonymous: a pre-sign-in session remembers where to return
    before = _cookie(client)
    assert before is not None
    oidc_sign_in(client, oidc_provider, email(SUP_A))
    after = _cookie(client)
    assert after and after != before
    with reading(store(app)) as db:
        assert db.get(WebSession, token_id(before)) is None
        row = db.get(WebSession, token_id(after))
        assert row is not None and row.officer_id == SUP_A and row.id != after  # the token itself is never stored
    page = client.get(f"/teams/{TEAM_A}")
    assert page.status_code == 200
    token = csrf_of(page.get_data(as_text=True))
    out = client.post("/sign-out", data={"csrf_token": token})
    assert (out.status_code, out.headers["Location"]) == (303, "/signed-out")
    assert _cookie(client) is None and _rows(store(app)) == 0
    assert client.get(f"/teams/{TEAM_A}").status_code == 303
    # A copy of the old cookie is worthless now.
    client.set_cookie("vm_session", after)
    assert client.get(f"/teams/{TEAM_A}").headers["Location"] == "/auth/login"
    with reading(store(app)) as db:
        actions = [r.action for r in db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id))]
    assert actions == ["sign_in", "view", "sign_out"]


def test_posts_need_the_csrf_token(app: Flask, oidc_provider: str) -> None:
    client = app.test_client()
    oidc_sign_in(client, oidc_provider, email(SUP_A))
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        response = client.post("/sign-out", data=data)
        assert response.status_code == 400 and "This form has expired" in response.get_data(as_text=True)
    assert client.get(f"/teams/{TEAM_A}").status_code == 200  # still signed in
    assert _rows(store(app)) == 1


def test_security_headers_and_cookie_flags(app: Flask, oidc_provider: str) -> None:
    client = app.test_client()
    signed = oidc_sign_in(client, oidc_provider, email(SUP_A))
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie and "Expires" not in cookie  # http on loopback; the server decides expiry
    for path in (f"/teams/{TEAM_A}", "/sign-in", "/no-such-page", "/assets/web.css", f"/teams/{TEAM_A}/export.csv"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "style-src 'self'" in csp
        assert "script-src" not in csp and "unsafe-inline" not in csp
        assert headers["Cache-Control"] == "no-store"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    page = client.get(f"/teams/{TEAM_A}").get_data(as_text=True)
    assert "<script" not in page and "style=" not in page and " on" + "click" not in page


def test_https_base_url_gives_secure_host_cookie(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str
) -> None:
    build_register(sqlite_engine)
    config = web_config(make_config, sqlite_url, base_url="https://monitor.police.example")
    client = make_app(config, sqlite_engine, demo=True).test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "HTTP_HOST": "monitor.police.example"})
    response = demo_sign_in(client, email(SUP_A))
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-vm_session=") and "Secure" in cookie and "Domain" not in cookie
    assert client.get(f"/teams/{TEAM_A}").headers["Strict-Transport-Security"].startswith("max-age=")


def test_idle_and_absolute_timeouts(sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str) -> None:
    build_register(sqlite_engine)
    config = web_config(make_config, sqlite_url, session_idle_minutes=30, session_absolute_hours=2)
    app = make_app(config, sqlite_engine, demo=True)
    with freeze_time("2026-11-23 08:00:00") as clock:
        client = app.test_client()
        demo_sign_in(client, email(SUP_A))
        clock.tick(timedelta(minutes=29))
        assert client.get(f"/teams/{TEAM_A}").status_code == 200
        clock.tick(timedelta(minutes=31))
        idle = client.get(f"/teams/{TEAM_A}")
        assert (idle.status_code, idle.headers["Location"]) == (303, "/sign-in?ended=idle")
        assert "not used for a while" in client.get("/sign-in?ended=idle").get_data(as_text=True)

        demo_sign_in(client, email(SUP_A))
        for _ in range(4):  # busy: 25 minutes apart, never idle
            clock.tick(timedelta(minutes=25))
            assert client.get(f"/teams/{TEAM_A}").status_code == 200
        clock.tick(timedelta(minutes=25))  # 2 h 05 min after sign-in
        ended = client.get(f"/teams/{TEAM_A}")
        assert ended.headers["Location"] == "/sign-in?ended=absolute"
    assert _rows(store(app)) <= 1  # expired rows are deleted (the last one holds only the return path)


def test_deactivation_by_an_import_takes_effect_on_the_next_request(
    app_on: Flask, engine: Engine, oidc_provider: str, tmp_path: Path
) -> None:
    app = app_on
    client = app.test_client()
    oidc_sign_in(client, oidc_provider, email(SUP_A))
    assert client.get(f"/teams/{TEAM_A}").status_code == 200
    extract = tmp_path / "extract"
    extract.mkdir()
    (extract / "officers.csv").write_text(
        f"officer_id,name,email,team,role,active\n{SUP_A},Officer {SUP_A},{email(SUP_A)},{TEAM_A},supervisor,false\n"
    )
    import_directory(engine, app.extensions["visit_monitor"].config, extract)
    refused = client.get(f"/teams/{TEAM_A}")
    assert refused.status_code == 403 and "RSO-" not in refused.get_data(as_text=True)
    assert _rows(store(app)) == 0  # every session of theirs ended
    again = client.get(f"/teams/{TEAM_A}")
    assert again.status_code == 303  # back to sign in; signing in is refused too
    assert oidc_sign_in(client, oidc_provider, email(SUP_A)).status_code == 403
    with reading(store(app)) as db:
        last = db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first()
    assert last is not None and (last.action, last.outcome) == ("refused", "refused")


def test_role_and_team_changes_by_import_apply_at_once(app: Flask, oidc_provider: str, tmp_path: Path) -> None:
    engine = app.extensions["visit_monitor"].engine
    client = app.test_client()
    oidc_sign_in(client, oidc_provider, email(OM_A1))
    assert client.get(f"/teams/{TEAM_A}").status_code == 404
    extract = tmp_path / "extract"
    extract.mkdir()
    (extract / "officers.csv").write_text(
        f"officer_id,name,email,team,role,active\n{OM_A1},Officer,{email(OM_A1)},{TEAM_A},supervisor,true\n"
    )
    import_directory(engine, app.extensions["visit_monitor"].config, extract)
    assert client.get(f"/teams/{TEAM_A}").status_code == 200


def test_callback_with_forged_state_or_replayed_code_signs_nobody_in(app: Flask, oidc_provider: str) -> None:
    client = app.test_client()
    sub = provider_user(oidc_provider, email(LEAD))
    authorize = client.get("/auth/login").headers["Location"]
    back = requests.post(authorize, data={"sub": sub}, allow_redirects=False, timeout=10).headers["Location"]
    forged = local(back).replace("state=", "state=x")
    assert client.get(forged).status_code == 400
    assert client.get("/force").status_code == 303
    # A callback replayed in another browser (no matching state there) gets nowhere either.
    other = app.test_client()
    assert other.get(local(back)).status_code == 400
    assert other.get("/force").status_code == 303


@contextmanager
def fake_discovery(provider: str, issuer: str | None) -> Iterator[str]:
    """A discovery document pointing at the real provider's endpoints but naming ``issuer``
    (None: its own address, so the ID tokens' issuer then differs from it)."""
    real = requests.get(f"{provider}/.well-known/openid-configuration", timeout=10).json()
    fake = Flask("fake-discovery")
    server = make_server("localhost", 0, fake, threaded=True)
    own = f"http://localhost:{server.server_port}"
    fake.add_url_rule("/.well-known/openid-configuration", "d", lambda: {**real, "issuer": issuer or own})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield own
    finally:
        server.shutdown()


@pytest.mark.parametrize("named", ["http://localhost:1/another-issuer", None], ids=["discovery", "id-token"])
def test_issuer_must_be_the_configured_one(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, oidc_provider: str, named: str | None
) -> None:
    build_register(sqlite_engine)
    with fake_discovery(oidc_provider, named) as issuer:
        client = make_app(web_config(make_config, sqlite_url, issuer=issuer), sqlite_engine).test_client()
        sub = provider_user(oidc_provider, email(LEAD))
        start = client.get("/auth/login")
        if named is not None:  # discovery names someone else: refused before anyone is sent there
            assert start.status_code == 503
            return
        back = requests.post(start.headers["Location"], data={"sub": sub}, allow_redirects=False, timeout=10)
        assert client.get(local(back.headers["Location"])).status_code == 400
        assert client.get("/force").status_code == 303
