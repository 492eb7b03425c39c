"""The app factory: blueprints, the access guard, the audit hook, security headers, error pages.

Order of work on each request:

1. the guard (``before_request``) finds the route's declared rule (none: 404, fail
   closed), checks the CSRF token on every POST, refuses a path key or GET parameter
   holding a control character before any query (:func:`monitor.web.filters.check_input`:
   404 for a key, 400 for a parameter), sends anyone not signed in to the force's
   identity provider (the sign-in page, saying why, when their session timed out),
   re-reads the signed-in officer from the register (inactive, gone or changed: a 403
   page and the session ends), then checks the scope (out of scope: 404);
2. the view scans its scope and renders;
3. the audit hook (``after_request``) writes the access-log row for every request of a
   signed-in browser beyond the public pages (an address that does not exist and a
   refused probe included) and for every sign-in, sign-out and refusal; if that write fails the response becomes a 500
   page, so nothing is shown unlogged. The row goes to the web store
   (:mod:`monitor.web.store`), which on SQLite an import never locks;
4. security headers: a strict Content-Security-Policy (no script at all, styles only
   from the app, ``frame-ancestors 'none'``), ``Cache-Control: no-store``,
   ``Referrer-Policy: no-referrer`` and friends.

Errors never show a traceback or echo what was sent: each status has a plain page.

Team codes and officer ids in paths (``/teams/<key:code>``) use :class:`RegisterKey`, not
Flask's default segment converter: they come from the extract and may hold ``/``
(``NORTH/1``), which a WSGI server has already decoded from ``%2F`` before routing, so a
one-segment converter would answer 404 for a team the viewer may see. ``url_for`` quotes
everything else (``A B`` -> ``A%20B``, ``50%`` -> ``50%25``).
"""

from __future__ import annotations

import hmac
import logging
import threading
from datetime import date
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, current_app, g, redirect, request, session
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response as WResponse

from monitor.core.config import Config
from monitor.register.db import reading, transaction
from monitor.web import auth, demo, force, help, officer, ops, provider, public, team
from monitor.web.access import Refusal, allowed, current_viewer, declared_rule, scope_words
from monitor.web.audit import Audit, record
from monitor.web.figures import ScanCache, force_figures
from monitor.web.filters import BadParameter, check_input
from monitor.web.pages import render
from monitor.web.planning import force_forecast
from monitor.web.sessions import DatabaseSessionInterface, ServerSession, end_sessions_of
from monitor.web.state import EXTENSION, WebState, state
from monitor.web.store import open_store

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
MAX_BODY_BYTES = 16 * 1024


class RegisterKey(BaseConverter):
    """A team code or officer id as a URL path part: any characters, ``/`` included.

    Not part-isolating, like Werkzeug's ``path`` converter, but it also takes a leading
    ``/``. The static suffixes win (``/teams/NORTH/1/export.csv`` is team ``NORTH/1``'s
    export), so only a code that itself ends in ``/export.csv`` or ``/export.html`` is
    out of reach.
    """

    regex = ".+?"
    part_isolating = False


def create_app(
    config: Config,
    engine: Engine,
    *,
    as_of: date | None = None,
    demo_mode: bool = False,
    cache_seconds: float = 6 * 3600.0,
) -> Flask:
    """Build the app for ``config`` on ``engine``; ``as_of`` pins "today" (demo, tests)."""
    app = Flask("monitor.web", static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, PROPAGATE_EXCEPTIONS=False, TRAP_HTTP_EXCEPTIONS=False)
    web = WebState(
        config=config,
        engine=engine,
        store=open_store(engine),
        as_of=as_of,
        demo=demo_mode,
        cache_seconds=cache_seconds,
    )
    web.extras["scan_cache"] = ScanCache(cache_seconds)
    app.extensions[EXTENSION] = web
    app.session_interface = DatabaseSessionInterface()
    app.url_map.converters["key"] = RegisterKey  # before the blueprints' rules are built
    for blueprint in (public.bp, auth.bp, team.bp, officer.bp, force.bp, ops.bp, help.bp):
        app.register_blueprint(blueprint)
    if demo_mode:
        app.register_blueprint(demo.bp)
    else:
        provider.init_oidc(app)
    app.before_request(_guard)
    app.after_request(_audit_and_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(BadParameter, _bad_parameter)
    app.register_error_handler(Exception, _server_error)
    return app


def _csrf_ok() -> bool:
    expected = session.get("csrf")
    sent = request.form.get("csrf_token", "")
    return isinstance(expected, str) and bool(sent) and hmac.compare_digest(expected, sent)


def _requested_path() -> str:
    """Where to return after sign-in, re-quoted: ``request.path`` is already decoded, so a
    team code holding ``%`` or a space would not survive the redirect unquoted."""
    query = request.query_string.decode("latin-1")
    return (quote(request.path, safe="/") + (f"?{query}" if query else ""))[:500]


def _guard() -> WResponse | None:
    current = session
    assert isinstance(current, ServerSession)
    if request.url_rule is None or request.endpoint is None:
        # Routing already failed (404/405 from the error handler); a signed-in browser's
        # probe is logged all the same.
        if current.signed_in:
            g.audit = Audit(officer_id=current.officer_id, subject=current.subject, outcome="not_found")
        return None
    name = declared_rule(current_app.view_functions.get(request.endpoint))
    if name is None:
        log.error("route %s has no declared access rule: refused", request.endpoint)
        return _page_error(404)
    if request.method == "POST" and not _csrf_ok():
        return render("web/error.html", title="This form has expired", status=400, kind="csrf")
    args = dict(request.view_args or {})
    if current.signed_in and current.officer_id is not None and name != "public":
        g.audit = Audit(officer_id=current.officer_id, subject=current.subject, scope=scope_words(name, args))
    # Before any query: a key or parameter no register can hold (NUL fails PostgreSQL).
    if check_input(args, request.args) is not None:
        return _page_error(404)
    if name == "public":
        return None
    if not current.signed_in or current.officer_id is None:
        if request.method == "GET":
            current["next"] = _requested_path()
        if state().demo or current.ended_reason in ("idle", "absolute"):
            ended = f"?ended={current.ended_reason}" if current.ended_reason else ""
            return redirect(f"/sign-in{ended}", code=303)  # say why before signing in again
        return redirect("/auth/login", code=303)  # straight to the force's sign-in
    web = state()
    settings = web.config.web
    by_id = None if web.demo or settings.identity_claim == "email" else settings.identity_claim
    with reading(web.engine) as db:
        viewer = current_viewer(
            db,
            current.officer_id,
            current.email,
            current.subject,
            sign_in_id=current.sign_in_id,
            by_sign_in_id=by_id,
        )
        if isinstance(viewer, Refusal):
            g.audit.action, g.audit.outcome = "refused", "refused"
            log.info("signed-in session refused: %s", viewer.reason)
            with transaction(web.store) as wdb:
                end_sessions_of(wdb, current.officer_id)
            current.end()
            return render("web/error.html", title="You cannot use this service", status=403, kind="refused")
        g.viewer = viewer
        if not allowed(db, viewer, name, args):
            g.audit.outcome = "not_found"
            return _page_error(404)
    return None


def _audit_and_headers(response: Response) -> Response:
    audit: Audit | None = g.get("audit")
    if audit is not None:
        if response.status_code >= 400 and audit.outcome == "allowed":
            audit.outcome = "not_found" if response.status_code == 404 else "refused"
            audit.cases = 0
        try:
            record(state().store, audit, page=request.path, status=response.status_code)
        except Exception as exc:  # the type only: a database error may quote ids and paths
            log.error("the access log could not be written (%s): response withheld", type(exc).__name__)
            g.audit = None
            response = _bare_error(500)
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["Cache-Control"] = "no-store"
    headers["Pragma"] = "no-cache"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    if state().config.web.secure_cookies:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


TITLES = {
    400: "Something in the request was not right",
    403: "You cannot use this service",
    404: "Page not found",
    405: "Page not found",
    413: "The request was too large",
    500: "Sorry, something went wrong",
}


def _page_error(status: int, **context: Any) -> Response:
    return render("web/error.html", title=TITLES.get(status, TITLES[500]), status=status, kind=str(status), **context)


def _bare_error(status: int) -> Response:
    """An error page that needs no database (used when the database is the problem)."""
    return Response(
        "<!DOCTYPE html><html lang='en-GB'><title>Error</title><p>Sorry, something went wrong.</p></html>",
        status=status,
        mimetype="text/html",
    )


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 405:
        status = 404
    return _page_error(status if status in TITLES else 500)


def _bad_parameter(exc: BadParameter) -> Response:
    return _page_error(400, parameter=exc.name, expected=exc.expected)


def _server_error(exc: Exception) -> Response:
    log.error("unhandled error in %s: %s", request.endpoint, type(exc).__name__)
    try:
        return _page_error(500)
    except Exception:
        return _bare_error(500)


WARM_EVERY_SECONDS = 30.0


def warm_cache(app: Flask, *, forever: bool = False, stop: threading.Event | None = None) -> None:
    """Run the force-wide scan (and forecast) so no lead waits for it: once, or (``forever``) again whenever
    the register version or the date changes, checked every WARM_EVERY_SECONDS."""
    web: WebState = app.extensions[EXTENSION]
    stop = stop or threading.Event()
    while True:
        try:
            with app.app_context(), reading(web.engine) as db:
                force_figures(db, web.config, web.today(), web.extras.get("scan_cache"))
                force_forecast(db, web.config, web.today(), web.extras.get("scan_cache"))
        except Exception:
            log.warning("warming the force-wide scan failed; the next /force view will scan")
        if not forever or stop.wait(WARM_EVERY_SECONDS):
            return
