"""``/help``: the app serves a built guide, and every page links to the guide for its reader.

The guide is public (it is read before signing in, and holds no register data), served
only from ``[docs] site_dir`` (nothing outside it: no ``..``), with the app's own
no-script Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from web_support import LEAD, OM_A1, SUP_A, build_register, demo_sign_in, email, make_app, web_config

from monitor.core.config import Config
from monitor.register.db import reading
from monitor.register.models import AccessLogEntry


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A stand-in for `mkdocs build` output."""
    root = tmp_path / "site"
    for page in ("", "guide/supervisors/", "guide/offender-managers/", "guide/force-lead/"):
        (root / page).mkdir(parents=True, exist_ok=True)
        (root / page / "index.html").write_text(f"<!doctype html><title>guide {page or 'home'}</title>")
    (root / "assets").mkdir()
    (root / "assets" / "site.css").write_text("body { color: #111; }")
    (tmp_path / "secret.txt").write_text("outside the site")
    return root


def _app(engine: Engine, make_config: Callable[..., Config], **docs: str) -> Flask:
    build_register(engine)
    base = web_config(make_config, str(engine.url))
    config = make_config(str(engine.url), web={"base_url": base.web.base_url}, docs=docs)
    return make_app(config, engine, demo=True)


def test_the_built_guide_is_served_under_help(
    sqlite_engine: Engine, make_config: Callable[..., Config], site: Path
) -> None:
    client = _app(sqlite_engine, make_config, site_dir=str(site)).test_client()
    assert client.get("/help").headers["Location"].endswith("/help/")
    home = client.get("/help/")
    assert home.status_code == 200 and "guide home" in home.get_data(as_text=True)
    assert "script-src" not in home.headers["Content-Security-Policy"]  # default-src 'none': no script
    folder = client.get("/help/guide/supervisors")
    assert folder.status_code == 301 and folder.headers["Location"].endswith("/help/guide/supervisors/")
    assert "guide guide/supervisors/" in client.get("/help/guide/supervisors/").get_data(as_text=True)
    css = client.get("/help/assets/site.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    for outside in (
        "/help/../secret.txt",
        "/help/%2e%2e/secret.txt",
        "/help/nope/",
        "/help//etc/passwd",
        "/help/%00",  # a NUL or control character in a page name: refused before the file system
        "/help/guide/%01index.html",
        "/help/" + "a" * 2000,
    ):
        answer = client.get(outside, follow_redirects=True)
        assert answer.status_code == 404 and "outside the site" not in answer.get_data(as_text=True), outside
    with reading(sqlite_engine) as s:  # no register data: not an access to log
        assert s.query(AccessLogEntry).count() == 0


def test_no_site_dir_no_help(sqlite_engine: Engine, make_config: Callable[..., Config]) -> None:
    client = _app(sqlite_engine, make_config).test_client()
    assert client.get("/help/").status_code == 404


@pytest.mark.parametrize(
    ("officer", "page"),
    [(LEAD, "force-lead"), (SUP_A, "supervisors"), (OM_A1, "offender-managers")],
)
def test_each_page_links_to_the_guide_for_the_viewers_role(
    sqlite_engine: Engine, make_config: Callable[..., Config], site: Path, officer: str, page: str
) -> None:
    client = _app(sqlite_engine, make_config, site_dir=str(site)).test_client()
    before = client.get("/sign-in").get_data(as_text=True)
    assert 'href="http://localhost/help/"' in before  # before sign-in: the guide's front page
    landing = demo_sign_in(client, email(officer))
    html = client.get(landing.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert f'href="http://localhost/help/guide/{page}/"' in html


def test_an_external_guide_address_wins(sqlite_engine: Engine, make_config: Callable[..., Config]) -> None:
    client = _app(sqlite_engine, make_config, url="https://intranet.police.example/vm").test_client()
    landing = demo_sign_in(client, email(SUP_A))
    html = client.get(landing.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert 'href="https://intranet.police.example/vm/guide/supervisors/"' in html
    assert client.get("/help/").status_code == 404  # not served here


def test_no_guide_address_no_link(sqlite_engine: Engine, make_config: Callable[..., Config]) -> None:
    client = _app(sqlite_engine, make_config).test_client()
    landing = demo_sign_in(client, email(SUP_A))
    assert ">Help<" not in client.get(landing.headers["Location"], follow_redirects=True).get_data(as_text=True)
