"""Rendering a page: the project's Jinja2 environment plus what every page carries.

Pages use :func:`monitor.reports.render.html_environment` (autoescape on every
template, StrictUndefined), the same one digests and reports use, so a register value
is escaped the same way everywhere and a misspelt variable fails a test. Every page gets
the protective marking (top and bottom), the navigation for the viewer's role, the
CSRF token for its forms and the register's freshness: "register as of the last import
at TIME", with a warning when that import is older than ``web.stale_import_hours``, and a
link to the guide for the viewer's role when a guide address is known (``[docs]``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Response, g, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.core.clock import now_utc
from monitor.register.models import ImportRun
from monitor.reports.render import html_environment
from monitor.web.access import Viewer, home_endpoint
from monitor.web.state import state

FINISHED_OUTCOMES: tuple[str, ...] = ("ok", "rejected_rows")


@dataclass(frozen=True)
class Freshness:
    at: datetime | None
    words: str
    stale: bool


def freshness(db: Session) -> Freshness:
    web = state()
    at = db.scalar(
        select(ImportRun.finished_at)
        .where(ImportRun.outcome.in_(FINISHED_OUTCOMES), ImportRun.finished_at.is_not(None))
        .order_by(ImportRun.finished_at.desc())
        .limit(1)
    )
    if at is None:
        return Freshness(None, "no import has finished yet", True)
    local = at.astimezone(web.config.tz)
    words = f"{local:%H:%M} on {local.day} {local:%b %Y}"
    limit = timedelta(hours=web.config.web.stale_import_hours)
    return Freshness(at, words, now_utc() - at > limit)


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def navigation(viewer: Viewer | None) -> list[NavLink]:
    if viewer is None:
        return []
    endpoint, args = home_endpoint(viewer)
    own = {"lead": "Force", "supervisor": "My team", "offender_manager": "My cases"}[viewer.role]
    links = [(own, url_for(endpoint, **args))]
    if viewer.is_lead:
        links += [("Operations", url_for("ops.ops")), ("Access log", url_for("ops.access_log"))]
    return [NavLink(label, url, request.path == url) for label, url in links]


def guide_url(viewer: Viewer | None) -> str | None:
    """The guide for the viewer's role; before sign-in, the guide's front page (None: no guide known)."""
    config = state().config
    if viewer is not None:
        return config.guide_url(viewer.role)
    address = config.docs.address(config.web.base_url)
    return f"{address}/" if address else None


def render(template: str, *, title: str, db: Session | None = None, status: int = 200, **context: Any) -> Response:
    web = state()
    viewer: Viewer | None = g.get("viewer")
    fresh = freshness(db) if db is not None else None
    body = (
        html_environment()
        .get_template(template)
        .render(
            title=title,
            marking=web.config.mail.marking,
            viewer=viewer,
            nav=navigation(viewer),
            fresh=fresh,
            as_of=web.today(),
            demo=web.demo,
            guide_url=guide_url(viewer),
            csrf_token=csrf_token,
            url_for=url_for,
            **context,
        )
    )
    return Response(body, status=status, mimetype="text/html")
