"""In a real browser: Debian's Chromium driven by Playwright, signing in through a real OIDC provider.

The app runs under waitress on a loopback port; oidc-provider-mock plays the force's
identity provider (users and their claims added per test). A supervisor, a stranger and
the lead each sign in through the provider's form and see exactly their scope; every
page they reach is checked with axe-core (no violations, all rules) and by keyboard.
Nothing is downloaded: the browser is /usr/bin/chromium (``.ci/run`` installs it).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

# Imported outright (test dependencies): a missing one fails the run, never skips it.
import axe_playwright_python.sync_playwright as axe_module
import playwright.sync_api as playwright_api
import pytest
import requests
from sqlalchemy import Engine
from web_support import AS_OF, LEAD, OM_A1, STRANGER, SUP_A, TEAM_A, TEAM_B, build_register, email, make_app, web_config

from monitor.core.config import Config
from monitor.reports.snapshot import take_snapshot

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(
    sqlite_engine: Engine,
    sqlite_url: str,
    make_config: Callable[..., Config],
    oidc_provider: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """The app under waitress on a loopback port, signed in through the mock provider."""
    from waitress.server import create_server

    monkeypatch.setenv("MONITOR_OIDC_CLIENT_SECRET", "test-only-secret")
    build_register(sqlite_engine)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    config = web_config(make_config, sqlite_url, issuer=oidc_provider, base_url=base)
    for days in (28, 21, 14, 7, 0):
        take_snapshot(sqlite_engine, config, AS_OF - timedelta(days=days))
    server = create_server(make_app(config, sqlite_engine), host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield base
    server.close()


#: Why these tests cannot run, said once and plainly, instead of Playwright's launch error.
NO_CHROMIUM = (
    f"the browser tests need Debian's Chromium at {CHROMIUM} (apt-get install -y chromium; "
    ".ci/run installs it). Nothing is downloaded, so without it these tests cannot run."
)


def require_chromium(path: str = CHROMIUM) -> None:
    """Fail (never skip) with the reason when the browser is missing."""
    import os

    if not os.access(path, os.X_OK):
        pytest.fail(NO_CHROMIUM.replace(CHROMIUM, path), pytrace=False)


def test_a_missing_browser_is_named_with_how_to_install_it() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y chromium"):
        require_chromium("/nonexistent/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def no_axe_violations(page: Any) -> None:
    results = axe_module.Axe().run(page)
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


def sign_in(page: Any, base: str, provider: str, address: str) -> None:
    """Through the app's sign-in page and the provider's own form, as a person would."""
    sub = f"{address}-{page.context.browser.version}-{id(page)}"
    answer = requests.put(
        f"{provider}/users/{quote(sub)}", json={"email": address, "email_verified": True, "name": "Test"}, timeout=10
    )
    assert answer.status_code == 204
    page.goto(f"{base}/")  # not signed in: straight to the provider's form
    assert page.url.startswith(f"{provider}/oauth2/authorize")
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_supervisor_stranger_and_lead_each_see_exactly_their_scope(browser: Any, live: str, oidc_provider: str) -> None:
    expect = playwright_api.expect

    # A supervisor: lands on their team, can filter and export, cannot see the other team.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live, oidc_provider, email(SUP_A))
    expect(page).to_have_url(f"{live}/teams/{TEAM_A}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Team {TEAM_A}")
    body = page.content()
    assert "RSO-A-001" in body and "RSO-B7Q" not in body
    no_axe_violations(page)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.get_by_label("Risk", exact=True).select_option("high")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(f"{live}/teams/{TEAM_A}?status=overdue&risk=high&officer=#cases")
    cases = page.get_by_role("region", name="Overdue home visits", exact=True).inner_text()
    assert "High" in cases and "Very high" not in cases
    no_axe_violations(page)
    page.get_by_label("More visits a week").fill("5")
    page.get_by_role("button", name="Forecast again").click()
    assert "With 5 more visits a week" in page.locator("#forecast-h").locator("xpath=..").inner_text()
    no_axe_violations(page)
    page.get_by_role("link", name="Printable version of this list").click()
    assert page.locator("p.marking").count() == 2
    no_axe_violations(page)
    page.goto(f"{live}/officers/{OM_A1}")
    no_axe_violations(page)
    assert "RSO-B7Q" not in page.content()
    response = page.goto(f"{live}/teams/{TEAM_B}")
    assert response is not None and response.status == 404
    assert "RSO-B7Q" not in page.content()
    no_axe_violations(page)
    page.goto(f"{live}/teams/{TEAM_A}")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live}/signed-out")
    no_axe_violations(page)
    page.get_by_role("link", name="Sign in again").click()
    no_axe_violations(page)  # the sign-in page
    page.get_by_role("link", name="Sign in with your force account").click()
    assert page.url.startswith(f"{oidc_provider}/oauth2/authorize")
    context.close()

    # A stranger (signed in at the provider, not in the register): a plain 403, no case data.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, live, oidc_provider, STRANGER)
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot use this service")
    assert "RSO-" not in page.content()
    no_axe_violations(page)
    context.close()

    # The lead: the force, every team, operations and the access log (which shows the above).
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, live, oidc_provider, email(LEAD))
    expect(page).to_have_url(f"{live}/force")
    no_axe_violations(page)
    # The governance view links each team too: the side-by-side table's link.
    page.get_by_role("region", name="Teams table").get_by_role("link", name=TEAM_B, exact=True).click()
    expect(page).to_have_url(f"{live}/teams/{TEAM_B}")
    assert "RSO-B7Q-001" in page.content()
    no_axe_violations(page)
    page.get_by_role("link", name="Operations").click()
    no_axe_violations(page)
    page.get_by_role("link", name="Access log").click()
    log = page.content()
    assert SUP_A in log and "refused" in log and f"team:{TEAM_B}" in log
    no_axe_violations(page)
    context.close()
