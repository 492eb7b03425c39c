"""Sign-in through the force's OpenID Connect provider (Entra ID in practice), and sign-out.

Authorization code flow with PKCE (S256), state and nonce, by Authlib's Flask client:
the provider is found by discovery (``ISSUER/.well-known/openid-configuration``), whose
``issuer`` must equal the configured one; the ID token's signature (the provider's
JWKS), issuer, audience, expiry and nonce are checked by Authlib. State, nonce and the
PKCE verifier live in the server-side session, never in a cookie.

The identity is the ID token's ``web.email_claim`` (default ``email``), matched
case-insensitively to exactly one **active** officer; anyone else gets a plain 403 page
with no case data, and the refusal is logged with the IdP subject only. The session is
rotated at sign-in (a fresh token) and deleted at sign-out.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, g, redirect, request, session
from requests import RequestException
from werkzeug.wrappers import Response

from monitor.register.db import reading
from monitor.web.access import Refusal, officer_for_email, rule
from monitor.web.audit import Audit
from monitor.web.pages import csrf_token, render
from monitor.web.sessions import ServerSession
from monitor.web.state import state

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
CLIENT = "idp"


def init_oidc(app: Flask) -> None:
    """Register the provider with Authlib (discovery happens on the first sign-in)."""
    settings = state(app).config.web
    oauth = OAuth(app)
    oauth.register(
        CLIENT,
        client_id=settings.client_id,
        # No secret set: an empty one is sent (some test providers accept any); a real
        # provider will refuse the token request, and the command warns at start.
        client_secret=settings.client_secret,
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256", "default_timeout": 10},
    )
    app.extensions["visit_monitor_oidc"] = oauth


def _client() -> Any:
    """The provider's client, once its discovery document names the configured issuer."""
    client = current_app.extensions["visit_monitor_oidc"].create_client(CLIENT)
    metadata = client.load_server_metadata()
    if str(metadata.get("issuer", "")).rstrip("/") != state().config.web.issuer:
        raise OAuthError(error="issuer_mismatch", description="discovery names another issuer")
    return client


def safe_next(value: object) -> str | None:
    """A local path to return to after sign-in (never another site: no //, no scheme)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value[:500]


def complete_sign_in(officer_id: str, subject: str, email: str) -> Response:
    """Rotate the session onto the officer, log the sign-in, go back where they were going."""
    current = session
    assert isinstance(current, ServerSession)
    target = safe_next(current.get("next")) or "/"
    current.sign_in(officer_id, subject, email)
    csrf_token()
    g.audit = Audit(officer_id=officer_id, subject=subject, action="sign_in", scope="none")
    return redirect(target, code=303)


def refuse_sign_in(subject: str, reason: str) -> Response:
    """A plain 403 with no case data; the refusal is logged by subject (no email, no name)."""
    current = session
    assert isinstance(current, ServerSession)
    current.end()
    g.audit = Audit(subject=subject, action="refused", scope="none", outcome="refused")
    log.info("sign-in refused: %s", reason)
    return render("web/error.html", title="You cannot use this service", status=403, kind="refused")


def public_base_url() -> str:
    """Where people reach the app: ``web.base_url``, else (loopback only) this request's origin."""
    return state().config.web.base_url or request.host_url.rstrip("/")


@bp.get("/login")
@rule("public")
def login_alias() -> Any:
    """``/login``, the address people (and test tools) try first."""
    return redirect("/auth/login", code=303)


@bp.get("/auth/login")
@rule("public")
def login() -> Any:
    web = state()
    if web.demo:
        return redirect("/sign-in", code=303)
    base = public_base_url()
    # The session cookie must live on the host the provider sends people back to: start
    # there (once; a proxy that rewrites Host must not cause a loop).
    if urlsplit(base).netloc != request.host and "hop" not in request.args:
        return redirect(f"{base}/auth/login?hop=1", code=303)
    try:
        return _client().authorize_redirect(f"{base}/auth/callback")
    except (RequestException, OAuthError, ValueError, KeyError):
        log.warning("the identity provider's discovery document could not be read")
        return render("web/error.html", title="Sign-in is unavailable", status=503, kind="idp")


@bp.get("/auth/callback")
@rule("public")
def callback() -> Any:
    web = state()
    if web.demo:
        return redirect("/sign-in", code=303)
    issuer = web.config.web.issuer
    try:
        client = _client()
        metadata = client.load_server_metadata()
        if str(metadata.get("issuer", "")).rstrip("/") != issuer:
            raise OAuthError(error="issuer_mismatch")
        token = client.authorize_access_token(
            claims_options={"iss": {"essential": True, "values": [metadata["issuer"]]}}
        )
    except Exception as exc:  # any failure to validate the provider's answer: nobody is signed in
        log.info("sign-in failed: %s", type(exc).__name__)
        return render("web/error.html", title="Sign-in did not complete", status=400, kind="signin_failed")
    claims = token.get("userinfo") or {}
    subject = str(claims.get("sub", ""))[:255]
    with reading(web.engine) as db:
        found = officer_for_email(db, claims.get(web.config.web.email_claim))
        if isinstance(found, Refusal):
            return refuse_sign_in(subject, found.reason)
        officer_id, email = found.officer_id, found.email
    return complete_sign_in(officer_id, subject, email)


@bp.post("/sign-out")
@rule("public")
def sign_out() -> Response:
    current = session
    assert isinstance(current, ServerSession)
    if current.signed_in:
        g.audit = Audit(officer_id=current.officer_id, subject=current.subject, action="sign_out", scope="none")
    current.end()
    return redirect("/signed-out", code=303)
