"""The identity provider as this app talks to it: the Authlib client, its discovery, its keys.

Authlib's Flask client runs the protocol (authorization code with PKCE S256, state and
nonce kept in the server-side session, the code exchange). Its own ID-token check is
replaced: :class:`VerifyingClient` hands the token to :func:`monitor.web.id_token.verify`,
which applies every check of OpenID Connect Core 3.1.3.7 in one place.

Discovery is checked when ``visit-monitor web`` starts, not only at the first sign-in,
which used to log a failure with neither the address nor the cause (so a mistyped issuer
was found by the first officer who tried to sign in). :func:`check` reads
``ISSUER/.well-known/openid-configuration`` and the keys it names, and logs the URL and
why it failed (HTTP status, connection error, or the other issuer the document names;
discovery sends no credentials, and the line is redacted anyway). The app starts all the
same (the provider may be down for maintenance) and :func:`watch` tries again in the
background, :data:`RETRY_SECONDS` doubling to :data:`RETRY_MAX_SECONDS`; every sign-in
tries again too. A document naming another issuer is refused (OpenID Connect Discovery
4.3) and forgotten, so the next try reads it afresh instead of keeping it.

The keys are Authlib's cached copy of the provider's JWKS; a token naming an unknown key
id fetches them again (key rotation), at most once per :data:`KEYS_REFRESH_SECONDS`, so
a stream of made-up key ids cannot make this app hammer the provider.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import Flask, current_app

from monitor.core.redact import redact
from monitor.web.id_token import Expected, verify
from monitor.web.state import state

log = logging.getLogger(__name__)

CLIENT = "idp"
EXTENSION = "visit_monitor_oidc"
RETRY_SECONDS = 30.0
RETRY_MAX_SECONDS = 600.0
KEYS_REFRESH_SECONDS = 60.0
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


class DiscoveryError(Exception):
    """The provider's discovery document or keys cannot be used; ``cause`` says why, in words."""

    def __init__(self, url: str, cause: str):
        super().__init__(f"{url}: {cause}")
        self.url, self.cause = url, cause


class VerifyingClient(FlaskOAuth2App):
    """Authlib's Flask client, with the ID token checked by :mod:`monitor.web.id_token`."""

    keys_fetched_at = 0.0

    def parse_id_token(
        self, token: dict[str, Any], nonce: str, claims_options: Any = None, claims_cls: Any = None, leeway: int = 0
    ) -> dict[str, Any]:
        web = state().config.web
        metadata = load(self, web.issuer)
        expected = Expected(
            issuer=str(metadata["issuer"]),
            client_id=web.client_id,
            nonce=nonce,
            algorithms=web.id_token_algorithms,
            trusted_audiences=web.trusted_audiences,
        )
        access_token = token.get("access_token")
        return verify(
            token.get("id_token"),
            expected,
            self.keys,
            now=time.time(),
            access_token=access_token if isinstance(access_token, str) else None,
        )

    def keys(self, refresh: bool) -> Mapping[str, Any]:
        """The provider's JWKS; ``refresh`` fetches it again unless that was done a moment ago."""
        now = time.monotonic()
        force = refresh and now - self.keys_fetched_at >= KEYS_REFRESH_SECONDS
        if force or "jwks" not in self.server_metadata:
            self.keys_fetched_at = now
        jwks: Mapping[str, Any] = self.fetch_jwk_set(force=force)
        return jwks


def init_oidc(app: Flask) -> None:
    """Register the provider with Authlib (discovery is read by :func:`check` or the first sign-in)."""
    settings = state(app).config.web
    oauth = OAuth(app)
    oauth.register(
        CLIENT,
        client_cls=VerifyingClient,
        client_id=settings.client_id,
        # No secret set: an empty one is sent (some test providers accept any); a real
        # provider will refuse the token request, and the command warns at start.
        client_secret=settings.client_secret,
        server_metadata_url=discovery_url(settings.issuer),
        client_kwargs={"scope": settings.scopes, "code_challenge_method": "S256", "default_timeout": 10},
    )
    app.extensions[EXTENSION] = oauth


def oidc_client(app: Flask | None = None) -> VerifyingClient:
    client: VerifyingClient = (app or current_app).extensions[EXTENSION].create_client(CLIENT)
    return client


def discovery_url(issuer: str) -> str:
    return f"{issuer}/.well-known/openid-configuration"


def load(client: Any, issuer: str, *, keys: bool = False) -> dict[str, Any]:
    """The provider's metadata once it names ``issuer`` (with ``keys``: and its key set was read)."""
    url = discovery_url(issuer)
    try:
        metadata: dict[str, Any] = client.load_server_metadata()
    except Exception as exc:
        raise DiscoveryError(url, cause(exc)) from None
    named = metadata.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer:
        client.server_metadata.clear()  # forget it: the next try reads the document again
        raise DiscoveryError(url, f"the document names issuer {str(named)[:200]!r}, not the configured {issuer!r}")
    if keys:
        where = str(metadata.get("jwks_uri") or url)
        try:
            jwks = client.fetch_jwk_set(force=True)
        except Exception as exc:
            raise DiscoveryError(where, cause(exc)) from None
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
            raise DiscoveryError(where, "the provider's key set holds no keys")
    return metadata


def cause(exc: BaseException) -> str:
    """Why a request to the provider failed, in a few words (never a response body or header)."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failed (certificate not trusted, or not TLS at all)"
    if isinstance(exc, requests.ConnectionError):
        found = _ERRNO.search(str(exc))
        return f"cannot connect: {found.group(1).strip()}" if found else "cannot connect"
    if isinstance(exc, ValueError):
        return "the answer is not a JSON document"
    return type(exc).__name__


def log_unusable(exc: DiscoveryError) -> None:
    log.warning(
        "the identity provider cannot be used: %s: %s; sign-in will try again", redact(exc.url), redact(exc.cause)
    )


def check(app: Flask) -> bool:
    """Read the discovery document and keys now; log where and why on failure. True when usable."""
    try:
        with app.app_context():
            load(oidc_client(app), state(app).config.web.issuer, keys=True)
    except DiscoveryError as exc:
        log_unusable(exc)
        return False
    return True


def watch(app: Flask, *, stop: threading.Event | None = None, wait: float = RETRY_SECONDS) -> None:
    """Try again until the provider answers (the wait doubling up to RETRY_MAX_SECONDS), then say so."""
    stop = stop or threading.Event()
    while not stop.wait(wait):
        if check(app):
            log.warning("the identity provider answers now at %s", redact(discovery_url(state(app).config.web.issuer)))
            return
        wait = min(wait * 2, RETRY_MAX_SECONDS)


def start_checks(app: Flask, *, stop: threading.Event | None = None) -> bool:
    """At start: check now, and when that fails keep trying in a background thread. True when usable now."""
    if check(app):
        return True
    threading.Thread(target=watch, args=(app,), kwargs={"stop": stop}, daemon=True, name="oidc-discovery").start()
    return False
