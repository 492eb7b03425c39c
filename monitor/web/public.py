"""Pages anyone may open: the sign-in page, the signed-out page, the stylesheet, and ``/``.

``/`` sends a signed-in officer to their own scope (a lead to the force, a supervisor
to their team, an offender manager to their own cases); the guard sends everyone else
to the sign-in page first. The stylesheet is served by the app itself so the Content
Security Policy can stay at ``'self'`` with no inline styles.
"""

from __future__ import annotations

from importlib import resources

from flask import Blueprint, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from monitor.register.db import reading
from monitor.web.access import home_endpoint, rule
from monitor.web.demo import demo_users
from monitor.web.pages import render
from monitor.web.sessions import ServerSession
from monitor.web.state import state

bp = Blueprint("public", __name__)

ENDED = {
    "idle": "Your session ended because it was not used for a while. Sign in again to carry on.",
    "absolute": "Your session reached its time limit. Sign in again to carry on.",
    "gone": "Your session has ended. Sign in again to carry on.",
}


@bp.get("/")
@rule("signed_in")
def home() -> Response:
    endpoint, args = home_endpoint(g.viewer)
    return redirect(url_for(endpoint, **args), code=303)


@bp.get("/sign-in")
@rule("public")
def sign_in() -> Response:
    current = session
    assert isinstance(current, ServerSession)
    if current.signed_in:
        return redirect("/", code=303)
    reason = request.args.get("ended", "")
    web = state()
    users = []
    if web.demo:
        with reading(web.engine) as db:
            users = demo_users(db)
    return render("web/sign_in.html", title="Sign in", ended=ENDED.get(reason, ""), users=users)


@bp.get("/signed-out")
@rule("public")
def signed_out() -> Response:
    return render("web/signed_out.html", title="You have signed out")


@bp.get("/assets/web.css")
@rule("public")
def stylesheet() -> Response:
    css = resources.files("monitor.templates").joinpath("web", "web.css").read_text(encoding="utf-8")
    response = Response(css, mimetype="text/css")
    return response
