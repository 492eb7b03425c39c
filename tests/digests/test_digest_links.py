"""Digest links into the web app: each digest names the page showing the same scope.

With ``[web] base_url`` set, the officer digest links to ``/officers/<id>``, team and
escalation digests to ``/teams/<code>`` and the force digest to ``/force``, in both the
text and the HTML part; with no base URL there is no link at all. Officer ids and team
codes come from the extract, so a code holding ``/``, a space or ``%`` must stay one
percent-encoded path segment.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from builders import add_offender, add_officer, add_visit
from sqlalchemy import Engine, select

from monitor.core.config import Config
from monitor.digests.contexts import Backlog, OfficerDigest, Recipient
from monitor.digests.queue import queue_digests
from monitor.digests.render import render_digest
from monitor.register.db import reading, transaction
from monitor.register.models import OutboxMessage

AS_OF = date(2026, 11, 26)
BASE = "https://monitor.police.example"
POLICY = {"intervals": {"very_high": "P30D", "high": "P90D", "medium": "P180D", "low": "P360D"}}
TEAM = "NORTH/1 50%"
OM = "OM 7/A"


def _bodies(row: OutboxMessage) -> tuple[str, str]:
    msg = email.message_from_bytes(row.content, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def _queue_all(engine: Engine, config: Config) -> dict[str, tuple[str, str]]:
    with transaction(engine) as s:
        add_officer(s, OM, team=TEAM, email="om7a@police.example")
        add_officer(s, "DS-N1", team=TEAM, role="supervisor")
        add_officer(s, "LEAD1", team="HQ", role="lead")
        add_offender(s, "RSO-LINK-1", risk_level="very_high", team=TEAM, offender_manager=OM)
        add_visit(s, "V-LINK-1", "RSO-LINK-1", AS_OF - timedelta(days=33))
    run = queue_digests(engine, config, "all", AS_OF)
    assert run.queued == 4
    with reading(engine) as s:
        return {row.kind: _bodies(row) for row in s.scalars(select(OutboxMessage))}


def test_each_digest_links_to_its_web_page_quoted(
    engine: Engine, make_config: Callable[..., Config], db_url: str
) -> None:
    config = make_config(db_url, policy=POLICY, web={"base_url": BASE + "/"})
    bodies = _queue_all(engine, config)
    team_url = f"{BASE}/teams/NORTH%2F1%2050%25"
    expected = {
        "officer": f"{BASE}/officers/OM%207%2FA",
        "team": team_url,
        "escalation": team_url,
        "force": f"{BASE}/force",
    }
    assert sorted(bodies) == sorted(expected)
    for kind, url in expected.items():
        text, html = bodies[kind]
        assert f"Open in the web app: {url}" in text.splitlines(), kind
        assert f'href="{url}"' in html, kind
        # Exactly one web-app link, and it is this digest's own page.
        assert text.count(BASE) == 1 and html.count(f'href="{BASE}') == 1, kind


def test_no_link_without_base_url(engine: Engine, make_config: Callable[..., Config], db_url: str) -> None:
    bodies = _queue_all(engine, make_config(db_url, policy=POLICY))
    for kind, (text, html) in bodies.items():
        assert "web app" not in text and "web app" not in html, kind
        assert "/officers/" not in text + html and "/teams/" not in text + html, kind


def test_all_clear_digest_links_too(make_config: Callable[..., Config]) -> None:
    """An all-clear officer digest still leads to the officer's page."""
    empty = Backlog.of(caseload=3, overdue=[], due_soon=[], reviews=0, notifications=0, unlocated=[], flag=2)
    ctx = OfficerDigest(
        kind="officer",
        period="2026-W48",
        as_of=AS_OF,
        recipient=Recipient("OM-0001", "Officer Testname 0001", "om-0001@police.example"),
        marking="OFFICIAL-SENSITIVE",
        include_names=False,
        failed_attempts_flag=2,
        due_soon_days=14,
        all_clear=True,
        backlog=empty,
    )
    rendered = render_digest(ctx, make_config(web={"base_url": BASE}))
    assert "All clear" in rendered.text
    assert f"Open in the web app: {BASE}/officers/OM-0001" in rendered.text.splitlines()
    assert f'href="{BASE}/officers/OM-0001"' in rendered.html


GUIDE = "https://intranet.police.example/visit-monitor"


def test_each_digest_links_to_the_guide_for_its_reader(
    engine: Engine, make_config: Callable[..., Config], db_url: str, tmp_path: Path
) -> None:
    """The footer names the guide page for whoever reads that digest ([docs] url)."""
    config = make_config(db_url, policy=POLICY, docs={"url": GUIDE + "/"})
    bodies = _queue_all(engine, config)
    expected = {
        "officer": f"{GUIDE}/guide/offender-managers/",
        "team": f"{GUIDE}/guide/supervisors/",
        "escalation": f"{GUIDE}/guide/supervisors/",
        "force": f"{GUIDE}/guide/force-lead/",
    }
    for kind, url in expected.items():
        text, html = bodies[kind]
        assert f"How to read this digest and what each flag asks of you: {url}" in text.splitlines(), kind
        assert f'href="{url}"' in html, kind
    # Each guide named is a page of the docs site.
    docs = Path(__file__).resolve().parents[2] / "docs"
    for url in expected.values():
        assert (docs / (url.removeprefix(GUIDE + "/").rstrip("/") + ".md")).is_file(), url


def test_the_guide_served_by_the_web_app_is_the_default_address(
    engine: Engine, make_config: Callable[..., Config], db_url: str, tmp_path: Path
) -> None:
    """No [docs] url, but the web app serves a built guide: digests link to BASE_URL/help."""
    config = make_config(db_url, policy=POLICY, web={"base_url": BASE}, docs={"site_dir": str(tmp_path / "site")})
    text, html = _queue_all(engine, config)["team"]
    assert f"{BASE}/help/guide/supervisors/" in text and f'href="{BASE}/help/guide/supervisors/"' in html


def test_no_guide_link_when_no_address_is_known(make_config: Callable[..., Config]) -> None:
    empty = Backlog.of(caseload=3, overdue=[], due_soon=[], reviews=0, notifications=0, unlocated=[], flag=2)
    ctx = OfficerDigest(
        kind="officer",
        period="2026-W48",
        as_of=AS_OF,
        recipient=Recipient("OM-0001", "Officer Testname 0001", "om-0001@police.example"),
        marking="OFFICIAL-SENSITIVE",
        include_names=False,
        failed_attempts_flag=2,
        due_soon_days=14,
        all_clear=True,
        backlog=empty,
    )
    # site_dir without a base URL: the app's address is unknown, so no link can be made.
    for config in (make_config(), make_config(docs={"site_dir": "/srv/guide"})):
        rendered = render_digest(ctx, config)
        assert "How to read this digest" not in rendered.text + rendered.html
