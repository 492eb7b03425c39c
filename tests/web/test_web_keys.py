"""Team codes and officer ids with URL-special characters: every page and export reachable.

Codes come from the extract, so ``NORTH/1``, ``A B`` and ``50%`` are real possibilities. A
WSGI server decodes ``%2F`` before routing, so these need a converter that takes ``/``;
links are built with ``url_for`` (quoted), and the access rules must still hold: the
supervisor of ``NORTH/1`` sees neither ``NORTH`` (a prefix of the path) nor anything else.
Every test here runs on SQLite and PostgreSQL; ``test_web_hostile.py`` has the probes
that hold NUL and other control characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from urllib.parse import quote

import pytest
from builders import add_offender, add_officer, add_visit
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from web_support import AS_OF, make_app, oidc_sign_in, web_config

from monitor.core.config import Config
from monitor.register.db import transaction

LEAD = "LEAD-K"
#: team code -> (supervisor, offender manager, case ref); all distinct strings.
TEAMS: dict[str, tuple[str, str, str]] = {
    "NORTH/1": ("DS-N1", "OM/N1", "RSO-KN1-001"),
    "NORTH": ("DS-N", "OM N", "RSO-KN-001"),
    "A B": ("DS-AB", "OM?AB#1", "RSO-KAB-001"),
    "50%": ("DS-50", "OM%50", "RSO-K50-001"),
}


def mail_of(officer_id: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", officer_id.lower()) + "@police.example"


def build(engine: Engine) -> None:
    with transaction(engine) as s:
        add_officer(s, LEAD, team="HQ", role="lead", email=mail_of(LEAD))
        for team, (sup, om, ref) in TEAMS.items():
            add_officer(s, sup, team=team, role="supervisor", email=mail_of(sup))
            add_officer(s, om, team=team, email=mail_of(om))
            add_offender(s, ref, team=team, offender_manager=om, risk_level="very_high")
            add_visit(s, f"V-{ref}", ref, AS_OF - timedelta(days=60))


@pytest.fixture(autouse=True)
def _client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_OIDC_CLIENT_SECRET", "test-only-secret")


@pytest.fixture
def app(engine: Engine, make_config: Callable[..., Config], db_url: str, oidc_provider: str) -> Flask:
    build(engine)
    return make_app(web_config(make_config, db_url, issuer=oidc_provider), engine)


def signed_in(app: Flask, provider: str, officer_id: str) -> FlaskClient:
    client = app.test_client()
    assert oidc_sign_in(client, provider, mail_of(officer_id)).status_code == 303
    return client


def hrefs(html: str, prefix: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'href="([^"]+)"', html) if unescape(h).startswith(prefix)]


def seg(value: str) -> str:
    """One path segment as a digest link writes it (nothing safe: ``/`` becomes ``%2F``)."""
    return quote(value, safe="")


def test_lead_reaches_every_team_officer_and_export_by_the_links(app: Flask, oidc_provider: str) -> None:
    client = signed_in(app, oidc_provider, LEAD)
    force = client.get("/force").get_data(as_text=True)
    team_links = set(hrefs(force, "/teams/"))
    assert {"/teams/NORTH/1", "/teams/NORTH", "/teams/A%20B", "/teams/50%25"} <= team_links
    for team, (_sup, om, ref) in TEAMS.items():
        assert _url(team) in team_links, team
        for path in (f"/teams/{seg(team)}", _url(team)):  # as a digest links it, as the app does
            page = client.get(path)
            assert page.status_code == 200, (team, path)
            body = page.get_data(as_text=True)
            assert ref in body, team
            assert all(other[2] not in body for t, other in TEAMS.items() if t != team), team
        body = client.get(_url(team)).get_data(as_text=True)
        exports = hrefs(body, _url(team) + "/export.")
        assert len(exports) == 2, (team, exports)
        for link in exports:
            export = client.get(link)
            assert export.status_code == 200, link
            text = export.get_data(as_text=True)
            assert ref in text and all(o[2] not in text for t, o in TEAMS.items() if t != team), link
        officer_links = [h for h in hrefs(body, "/officers/") if "export" not in h]
        assert officer_links, team
        for link in officer_links:
            officer = client.get(link)
            assert officer.status_code == 200, link
            officer_body = officer.get_data(as_text=True)
            assert ref in officer_body
            for export_link in hrefs(officer_body, link + "/export."):
                assert client.get(export_link).status_code == 200, export_link
        assert client.get(f"/officers/{seg(om)}").status_code == 200, om


def _url(team: str) -> str:
    """The path ``url_for`` builds for a team page (``/`` kept, the rest quoted)."""
    return "/teams/" + quote(team, safe="/")


def test_supervisor_of_a_slashed_team_sees_only_it(app: Flask, oidc_provider: str) -> None:
    sup, om, ref = TEAMS["NORTH/1"]
    client = signed_in(app, oidc_provider, sup)
    for path in ("/teams/NORTH/1", "/teams/NORTH%2F1", "/teams/NORTH/1/export.csv", "/teams/NORTH%2F1/export.html"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert ref in response.get_data(as_text=True), path
    assert client.get(f"/officers/{seg(om)}").status_code == 200
    assert client.get(f"/officers/{quote(om, safe='/')}/export.csv").status_code == 200
    # Team NORTH is a prefix of the path, not this supervisor's team; the others are not theirs.
    for path in ("/teams/NORTH", "/teams/NORTH/export.csv", "/teams/NORTH/", "/teams/A%20B", "/teams/50%25"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "RSO-K" not in response.get_data(as_text=True), path
    for other in ("OM N", "OM?AB#1", "OM%50"):
        assert client.get(f"/officers/{seg(other)}").status_code == 404, other


def test_sign_in_returns_to_a_quoted_team_page(app: Flask, oidc_provider: str) -> None:
    client = app.test_client()
    first = client.get("/teams/50%25?risk=very_high")
    assert first.status_code == 303
    back = oidc_sign_in(client, oidc_provider, mail_of(TEAMS["50%"][0]))
    assert (back.status_code, back.headers["Location"]) == (303, "/teams/50%25?risk=very_high")
    page = client.get(back.headers["Location"])
    assert page.status_code == 200 and TEAMS["50%"][2] in page.get_data(as_text=True)
