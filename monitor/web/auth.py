"""Sign-in through the force's OpenID Connect provider (Entra ID in practice), and sign-out.

Authorization code flow with PKCE (S256), state and nonce, by Authlib's Flask client
(:mod:`monitor.web.provider`): the provider is found by discovery
(``ISSUER/.well-known/openid-configuration``), whose ``issuer`` must equal the configured
one. The ID token is checked by :mod:`monitor.web.id_token` (signature with the
provider's keys and expected algorithms, ``iss``, ``aud``, ``azp``, ``exp``, ``iat``,
``nbf``, ``nonce``), and who it signs in by :mod:`monitor.web.identity` (``[web]
identity_claim``: a verified email, or the provider's id for the officer). State, nonce
and the PKCE verifier live in the server-side session, never in a cookie.

Whatever goes wrong, nobody is signed in and the browser's session ends: a token that
fails a check gets "Sign-in did not complete" (400), a valid token naming nobody who may
use the service gets a plain 403 page with no case data. Both leave a ``refused`` row in
the access log: the check that failed goes in its filters (``reason=audience``), and the
IdP subject only once the token is proven genuine. The session is rotated at sign-in (a
fresh token) and deleted at sign-out.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import Blueprint, g, redirect, request, session
from requests import RequestException
from werkzeug.wrappers import Response

from monitor.register.db import reading
from monitor.web.access import Refusal, rule
from monitor.web.audit import Audit
from monitor.web.id_token import TokenRefused
from monitor.web.identity import identify
from monitor.web.pages import csrf_token, render
from monitor.web.provider import DiscoveryError, load, log_unusable, oidc_client
from monitor.web.sessions import ServerSession
from monitor.web.state import state

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


def safe_next(value: object) -> str | None:
    """A local path to return to after sign-in (never another site: no //, no scheme)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value[:500]


def complete_sign_in(officer_id: str, subject: str, email: str, sign_in_id: str | None = None) -> Response:
    """Rotate the session onto the officer, log the sign-in, go back where they were going."""
    current = session
    assert isinstance(current, ServerSession)
    target = safe_next(current.get("next")) or "/"
    current.sign_in(officer_id, subject, email, sign_in_id)
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


def sign_in_failed(reason: str) -> Response:
    """The provider's answer did not hold up: nobody is signed in, the attempt is logged."""
    current = session
    assert isinstance(current, ServerSession)
    current.end()
    g.audit = Audit(action="refused", scope="none", filters=f"reason={reason}", outcome="refused")
    log.info("sign-in failed: %s", reason)
    return render("web/error.html", title="Sign-in did not complete", status=400, kind="signin_failed")


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
    client = oidc_client()
    try:
        load(client, web.config.web.issuer)
        return client.authorize_redirect(f"{base}/auth/callback")
    except DiscoveryError as exc:
        log_unusable(exc)
    except Exception as exc:  # a document without an authorization endpoint, and the like
        log.warning("the identity provider's discovery document cannot be used (%s)", type(exc).__name__)
    return render("web/error.html", title="Sign-in is unavailable", status=503, kind="idp")


@bp.get("/auth/callback")
@rule("public")
def callback() -> Any:
    web = state()
    if web.demo:
        return redirect("/sign-in", code=303)
    try:
        token = oidc_client().authorize_access_token()
    except TokenRefused as exc:
        return sign_in_failed(exc.check)
    except DiscoveryError as exc:
        log_unusable(exc)
        return sign_in_failed("discovery")
    except MismatchingStateError:  # no sign-in of this browser's to finish (forged, replayed)
        return sign_in_failed("state")
    except OAuthError:  # the provider refused the code (used already, expired) or sent an error
        return sign_in_failed("provider_error")
    except RequestException:
        return sign_in_failed("provider_unreachable")
    except Exception as exc:  # anything else about the provider's answer: nobody is signed in
        log.warning("sign-in failed unexpectedly (%s)", type(exc).__name__)
        return sign_in_failed("error")
    claims = token.get("userinfo")
    if not isinstance(claims, dict):
        return sign_in_failed("no_id_token")
    subject = str(claims["sub"])
    with reading(web.engine) as db:
        found = identify(db, claims, web.config.web)
    if isinstance(found, Refusal):
        return refuse_sign_in(subject, found.reason)
    return complete_sign_in(found.officer_id, subject, found.email, found.sign_in_id)


@bp.post("/sign-out")
@rule("public")
def sign_out() -> Response:
    current = session
    assert isinstance(current, ServerSession)
    if current.signed_in:
        g.audit = Audit(officer_id=current.officer_id, subject=current.subject, action="sign_out", scope="none")
    current.end()
    return redirect("/signed-out", code=303)
