"""A stand-in OpenID Connect provider that issues whatever ID token a test asks for.

oidc-provider-mock (the web tests' usual provider) only ever issues good tokens; the
app's refusals need bad ones on the wire, through the real sign-in flow. This one runs on
127.0.0.1 with real HTTP and checks what a real provider checks (the client id and
secret, the redirect URI, PKCE S256, a code used once), then answers the token request
with the ID token the test planned (:class:`Plan`):

* claims: the defaults (``iss``, ``sub``, ``aud`` = the client id, ``iat``, ``exp``, the
  request's ``nonce``, an ``email`` with ``email_verified: true``) with the plan's changes;
  :data:`DROP` removes a claim;
* header: the defaults (``alg: RS256``, the published key's ``kid``) with the plan's changes;
* signing: ``good`` (the published key), ``forged`` (an unpublished key under the
  published key's kid), ``unknown_kid`` (an unpublished key and kid), ``none`` (no
  signature at all), ``hs256_public`` (HS256 keyed with the published public key, the
  key-confusion attack), ``tampered`` (signed, then the claims swapped).

``advertised_algs`` is what the discovery document claims the provider signs with (a test
advertises ``none`` and ``HS256`` to show the app does not take the provider's word for
it); ``discovery_issuer`` makes the document name another issuer. Nothing here is a real
identifier or secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CLIENT_ID = "visit-monitor-idp-test"
CLIENT_SECRET = "stand-in-secret-not-real"
KID = "stand-in-key-1"
TENANT = "0b0b0b0b-1111-4222-8333-444444444444"  # a fake Entra tenant id
DROP = object()  # a claim or header value that removes it


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


@dataclass
class Plan:
    """The ID token the next sign-in gets."""

    claims: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    signing: str = "good"
    sub: str = "stand-in-subject"


@dataclass
class _Grant:
    plan: Plan
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str


class StandInProvider:
    """The provider; use :func:`running` to serve it."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.port = 0
        self.plan = Plan()
        self.advertised_algs: list[str] = ["RS256"]
        self.discovery_issuer: str | None = None
        self.grants: dict[str, _Grant] = {}
        self.token_requests = 0
        self.lock = threading.Lock()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": KID,
                    "n": _int_b64(numbers.n),
                    "e": _int_b64(numbers.e),
                }
            ]
        }

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.discovery_issuer or self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": self.advertised_algs,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    # -- tokens -------------------------------------------------------------------------

    def id_token(self, grant: _Grant, access_token: str) -> str:
        now = int(time.time())
        plan = grant.plan
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": plan.sub,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "email": "someone@police.example",
            "email_verified": True,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update(plan.claims)
        claims = {k: v for k, v in claims.items() if v is not DROP}
        header: dict[str, Any] = {"alg": "RS256", "typ": "JWT", "kid": KID}
        if plan.signing == "unknown_kid":
            header["kid"] = "stand-in-key-unknown"
        if plan.signing == "none":
            header["alg"] = "none"
        if plan.signing == "hs256_public":
            header["alg"] = "HS256"
        header.update(plan.header)
        header = {k: v for k, v in header.items() if v is not DROP}
        return self.sign(header, claims, plan.signing)

    def sign(self, header: dict[str, Any], claims: dict[str, Any], signing: str) -> str:
        head = b64url(json.dumps(header).encode())
        body = b64url(json.dumps(claims).encode())
        signing_input = f"{head}.{body}".encode("ascii")
        if signing == "none":
            return f"{head}.{body}."
        if signing == "hs256_public":
            public = self.key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return f"{head}.{body}.{b64url(hmac.new(public, signing_input, hashlib.sha256).digest())}"
        key = self.rogue if signing in ("forged", "unknown_kid") else self.key
        signature = b64url(key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()))
        if signing == "tampered":
            changed = {**claims, "email": "lead-9@police.example", "sub": "someone-else"}
            body = b64url(json.dumps(changed).encode())
        return f"{head}.{body}.{signature}"

    # -- endpoints ------------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("response_type") != "code" or query.get("client_id") != CLIENT_ID or not redirect_uri:
            return 400, {}, {"error": "invalid_request"}
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {}, {"error": "invalid_request", "error_description": "PKCE S256 required"}
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.grants[code] = _Grant(
                plan=self.plan,
                client_id=CLIENT_ID,
                redirect_uri=redirect_uri,
                nonce=query.get("nonce"),
                challenge=query["code_challenge"],
            )
        back = urlencode({"code": code, "state": query.get("state", "")})
        return 302, {"Location": f"{redirect_uri}?{back}"}, None

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, str], Any]:
        self.token_requests += 1
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client_id != CLIENT_ID or secret != CLIENT_SECRET:
            return 401, {}, {"error": "invalid_client"}
        with self.lock:
            grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return 400, {}, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        if b64url(hashlib.sha256(verifier.encode()).digest()) != grant.challenge:
            return 400, {}, {"error": "invalid_grant", "error_description": "PKCE verifier"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {}, {"error": "invalid_grant", "error_description": "redirect_uri"}
        access_token = secrets.token_urlsafe(32)
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": self.id_token(grant, access_token),
        }
        return 200, {}, body


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _answer(self, status: int, headers: dict[str, str], body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        idp: StandInProvider = self.server.idp
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/.well-known/openid-configuration":
            self._answer(200, {}, idp.discovery())
        elif parts.path == "/jwks":
            self._answer(200, {}, idp.jwks())
        elif parts.path == "/authorize":
            self._answer(*idp.authorize(query))
        else:
            self._answer(404, {}, {"error": "not_found"})

    def do_POST(self) -> None:
        idp: StandInProvider = self.server.idp
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path == "/token":
            self._answer(*idp.token(form, self.headers.get("Authorization")))
        else:
            self._answer(404, {}, {"error": "not_found"})


@contextmanager
def running(port: int = 0) -> Iterator[StandInProvider]:
    """Serve a fresh provider on 127.0.0.1 (``port`` 0: any free one) until the block ends."""
    idp = StandInProvider()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    server.idp = idp  # type: ignore[attr-defined]
    idp.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
