"""Local stand-ins for Microsoft 365: the identity platform, Graph, and Exchange's SMTP submission.

The OAuth 2.0 code is tested against real servers on 127.0.0.1 that check what the real
ones check, because what matters (the grant, how the app proves itself, the scope, the
token's audience and lifetime, the mailbox the app may use) only shows on the wire:

* :class:`Tenant` is the directory: one app registration (client ID, a client secret, an
  RSA certificate), the application permissions granted (``SMTP.SendAsApp``,
  ``Mail.Send``), the mailboxes that exist and the ones the app may use (an application
  access policy / RBAC scope), and the token lifetime. Tokens are JWTs signed by the
  stand-in, with ``aud``, ``roles``, ``exp``.
* :class:`TokenEndpoint` serves ``/{tenant}/v2.0/.well-known/openid-configuration`` and
  ``/{tenant}/oauth2/v2.0/token``: client-credentials grant only; the client
  authenticates by secret (body or Basic) or by a ``client_assertion`` JWT that must be
  signed by the registered certificate's key (thumbprint, signature, audience = the
  token endpoint, issuer = subject = client ID, time window); the scope must be exactly
  one resource's ``/.default``. Errors look like Entra ID's (``invalid_client``,
  ``AADSTS7000215`` ...).
* :class:`GraphStandIn` serves ``POST /v1.0/users/{mailbox}/sendMail``: bearer token
  (signature, audience, expiry, ``Mail.Send``, mailbox in scope), ``text/plain`` base64
  MIME with From, To and Message-ID; 202 with a request-id. Program answers with
  ``graph.script.append(Answer(429, retry_after=1))`` and slow answers with ``delay_next``.
* :class:`Xoauth2Relay` is the aiosmtpd relay of ``smtp_server`` with STARTTLS and only
  ``AUTH XOAUTH2`` (no password mechanisms, as with Basic auth off), checking the token
  (audience, expiry, ``SMTP.SendAsApp``, mailbox) at AUTH and again at every MAIL FROM,
  and that MAIL FROM is the signed-in mailbox.

All three present certificates from one trustme CA (``M365.ca_file``, for
``smtp.ca_file``). Nothing here is a real identifier or secret.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from smtp_server import RelayHandler, SmtpRelay, free_port

TENANT_ID = "11111111-2222-4333-8444-555555555555"  # fake
CLIENT_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"  # fake
CLIENT_SECRET = "fake~secret.for-the-stand-in_0123456789"  # fake: for the stand-in only
MAILBOX = "visit-monitor@monitor.police.example"
OUTLOOK = "https://outlook.office365.com"
GRAPH = "https://graph.microsoft.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class AppCertificate:
    """A self-signed RSA certificate and its key, as an app registration's credential."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @classmethod
    def create(cls, *, days: int = 365, not_before_days: int = -1) -> AppCertificate:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "visit-monitor test app")])
        start = dt.datetime.now(dt.UTC) + dt.timedelta(days=not_before_days)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def thumbprints(self) -> set[tuple[str, str]]:
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {("x5t#S256", _b64url(hashlib.sha256(der).digest())), ("x5t", _b64url(hashlib.sha1(der).digest()))}

    def write(self, directory: Path, *, combined: bool = False) -> tuple[Path, Path | None]:
        """PEM files: (certificate, key), or one file holding both when ``combined``."""
        directory.mkdir(parents=True, exist_ok=True)
        cert = directory / ("app.pem" if combined else "app-cert.pem")
        if combined:
            cert.write_bytes(self.cert_pem + self.key_pem)
            return cert, None
        key = directory / "app-key.pem"
        cert.write_bytes(self.cert_pem)
        key.write_bytes(self.key_pem)
        return cert, key


_REGISTERED: list[AppCertificate] = []


def registered_certificate() -> AppCertificate:
    """The app's certificate, made once per test process (an RSA key takes a while)."""
    if not _REGISTERED:
        _REGISTERED.append(AppCertificate.create())
    return _REGISTERED[0]


@dataclass
class TokenRequest:
    """One request the token endpoint answered: how the client authenticated, what it got."""

    scope: str
    method: str  # "secret", "certificate" or "" when refused before that was known
    error: str = ""


class Problem(Exception):
    """A token a resource refuses: ``reason`` is what the stand-in saw."""


@dataclass
class Tenant:
    """The directory, the app registration and the resources' view of tokens."""

    tenant_id: str = TENANT_ID
    client_id: str = CLIENT_ID
    secret: str = CLIENT_SECRET
    certificate: AppCertificate | None = None
    token_lifetime: int = 3599
    roles: dict[str, set[str]] = field(default_factory=lambda: {OUTLOOK: {"SMTP.SendAsApp"}, GRAPH: {"Mail.Send"}})
    mailboxes: set[str] = field(default_factory=lambda: {MAILBOX})
    #: Mailboxes the app may use (application access policy / RBAC scope); None = all.
    app_scope: set[str] | None = None
    requests: list[TokenRequest] = field(default_factory=list)
    _signing_key: bytes = field(default_factory=lambda: uuid.uuid4().bytes * 2, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def issuer(self) -> str:
        return f"https://sts.windows.net/{self.tenant_id}/"

    def issue(self, resource: str) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "aud": resource,
            "iss": self.issuer,
            "tid": self.tenant_id,
            "appid": self.client_id,
            "roles": sorted(self.roles.get(resource, set())),
            "iat": now,
            "nbf": now,
            "exp": now + self.token_lifetime,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._signing_key, algorithm="HS256")
        return {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": token,
        }

    def check(self, token: str, resource: str, role: str, mailbox: str) -> dict[str, Any]:
        """What a resource checks before acting: signature, audience, lifetime, role, mailbox."""
        try:
            claims = jwt.decode(token, self._signing_key, algorithms=["HS256"], audience=resource, issuer=self.issuer)
        except jwt.ExpiredSignatureError:
            raise Problem("Lifetime validation failed, the token is expired.") from None
        except jwt.InvalidTokenError as exc:
            raise Problem(f"Invalid token ({type(exc).__name__}).") from None
        if role not in claims.get("roles", []):
            raise Problem(f"the token has no {role} role")
        if mailbox.lower() not in {m.lower() for m in self.mailboxes}:
            raise Problem("no such mailbox")
        if self.app_scope is not None and mailbox.lower() not in {m.lower() for m in self.app_scope}:
            raise Problem("the app may not use this mailbox")
        return claims

    def revoke_tokens(self) -> None:
        """Every token issued so far stops being accepted (as after a key rollover or revocation)."""
        self._signing_key = uuid.uuid4().bytes * 2

    def issued(self, resource: str | None = None) -> list[TokenRequest]:
        return [r for r in self.requests if not r.error and (resource is None or r.scope == f"{resource}/.default")]


# --- HTTPS ------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.app.get(self)

    def do_POST(self) -> None:
        self.server.app.post(self, self._body())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: Any


class HttpsStandIn:
    """An HTTPS server on 127.0.0.1 with a certificate from ``ca``; subclasses answer."""

    def __init__(self, ca: trustme.CA):
        self.ca = ca
        self.port = free_port()
        self._server: _Server | None = None

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> HttpsStandIn:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        server.app = self
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def get(self, request: _Handler) -> None:
        request.reply(404, {"error": "not_found"})

    def post(self, request: _Handler, body: bytes) -> None:
        request.reply(404, {"error": "not_found"})


def _aad_error(error: str, code: int, text: str) -> dict[str, Any]:
    trace = uuid.uuid4()
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {uuid.uuid4()}",
        "error_codes": [code],
        "trace_id": str(trace),
    }


class TokenEndpoint(HttpsStandIn):
    """``login.microsoftonline.com`` for one tenant (see the module docstring)."""

    def __init__(self, ca: trustme.CA, tenant: Tenant):
        super().__init__(ca)
        self.tenant = tenant
        #: Statuses to answer the next token requests with (e.g. 503), before any check.
        self.fail_next: list[int] = []

    @property
    def authority(self) -> str:
        return f"{self.base}/{self.tenant.tenant_id}"

    @property
    def token_url(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    def get(self, request: _Handler) -> None:
        if request.path != f"/{self.tenant.tenant_id}/v2.0/.well-known/openid-configuration":
            request.reply(400, _aad_error("invalid_tenant", 90002, "Tenant not found."))
            return
        request.reply(
            200,
            {
                "issuer": f"{self.base}/{self.tenant.tenant_id}/v2.0",
                "authorization_endpoint": f"{self.authority}/oauth2/v2.0/authorize",
                "token_endpoint": self.token_url,
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{self.authority}/discovery/v2.0/keys",
            },
        )

    def post(self, request: _Handler, body: bytes) -> None:
        if self.fail_next:
            request.reply(self.fail_next.pop(0), {"error": "temporarily_unavailable"})
            return
        if request.path != f"/{self.tenant.tenant_id}/oauth2/v2.0/token":
            request.reply(404, {"error": "not_found"})
            return
        form = {k: v[0] for k, v in parse_qs(body.decode("ascii"), strict_parsing=True).items()}
        status, payload, method = self._grant(request, form)
        with self.tenant._lock:
            self.tenant.requests.append(
                TokenRequest(form.get("scope", ""), method, "" if status == 200 else str(payload["error"]))
            )
        request.reply(status, payload)

    def _grant(self, request: _Handler, form: dict[str, str]) -> tuple[int, dict[str, Any], str]:
        if form.get("grant_type") != "client_credentials":
            return 400, _aad_error("unsupported_grant_type", 70003, "The app requested an unsupported grant type."), ""
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            form.setdefault("client_id", unquote(user))
            form["client_secret"] = unquote(password)
        if form.get("client_id") != self.tenant.client_id:
            text = f"Application with identifier '{form.get('client_id')}' was not found in the directory."
            return 400, _aad_error("unauthorized_client", 700016, text), ""
        if "client_secret" in form and "client_assertion" in form:
            return 400, _aad_error("invalid_request", 90023, "Only one client authentication method allowed."), ""
        if "client_secret" in form:
            method = "secret"
            if form["client_secret"] != self.tenant.secret:
                text = (
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                    f"secret value, not the client secret ID, for a secret added to app '{self.tenant.client_id}'."
                )
                return 401, _aad_error("invalid_client", 7000215, text), method
        elif form.get("client_assertion_type") == ASSERTION_TYPE and "client_assertion" in form:
            method = "certificate"
            problem = self._assertion_problem(form["client_assertion"])
            if problem:
                return 401, _aad_error("invalid_client", problem[0], problem[1]), method
        else:
            text = "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."
            return 401, _aad_error("invalid_client", 7000218, text), ""
        resource = form.get("scope", "").removesuffix("/.default")
        if form.get("scope") not in (f"{OUTLOOK}/.default", f"{GRAPH}/.default"):
            text = (
                f"The provided value for scope {form.get('scope')} is not valid. Client credential flows must have "
                "a scope value with /.default suffixed to the resource identifier (application ID URI)."
            )
            return 400, _aad_error("invalid_scope", 1002012, text), method
        return 200, self.tenant.issue(resource), method

    def _assertion_problem(self, assertion: str) -> tuple[int, str] | None:
        cert = self.tenant.certificate
        if cert is None:
            return 700027, "No certificate is registered on the application."
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            return 700027, "Client assertion is not a valid JWT."
        presented = {(k, str(header[k]).rstrip("=")) for k in ("x5t#S256", "x5t") if k in header}
        if not presented & cert.thumbprints():
            return 700027, "The certificate with identifier used to sign the client assertion is not registered."
        try:
            claims = jwt.decode(
                assertion,
                cert.certificate.public_key(),
                algorithms=["RS256", "PS256"],
                audience=self.token_url,
                issuer=self.tenant.client_id,
                options={"require": ["exp", "aud", "iss", "sub", "jti"]},  # nbf is optional for Entra too
            )
        except jwt.ExpiredSignatureError:
            return 700024, "Client assertion is not within its valid time range."
        except jwt.InvalidTokenError as exc:
            return 700027, f"Client assertion failed signature validation ({type(exc).__name__})."
        if claims["sub"] != self.tenant.client_id:
            return 700023, "Client assertion audience or subject is invalid."
        return None


@dataclass
class Answer:
    """A programmed Graph answer."""

    status: int
    retry_after: str | None = None
    code: str = ""
    message: str = ""


@dataclass
class GraphMail:
    """One sendMail Graph accepted."""

    mailbox: str
    token: str
    content_type: str
    mime: bytes

    @property
    def message(self) -> Any:
        return message_from_bytes(self.mime, policy=policy.default)


_DEFAULT_ERRORS = {
    400: ("ErrorInvalidRecipients", "At least one recipient is not valid."),
    401: ("InvalidAuthenticationToken", "Access token validation failure. Invalid audience."),
    403: ("ErrorAccessDenied", "Access is denied. Check credentials and try again."),
    429: ("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
}


class GraphStandIn(HttpsStandIn):
    """``graph.microsoft.com/v1.0`` sendMail (see the module docstring)."""

    def __init__(self, ca: trustme.CA, tenant: Tenant):
        super().__init__(ca)
        self.tenant = tenant
        self.script: list[Answer] = []
        self.delay_next: float = 0.0
        self.received: list[GraphMail] = []
        #: Every answer given, in order: (status, token used).
        self.answers: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"{self.base}/v1.0"

    def post(self, request: _Handler, body: bytes) -> None:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        status, payload, headers = self._answer(request, token, body)
        if self.delay_next:  # a slow answer: the request was checked (and taken) on arrival
            delay, self.delay_next = self.delay_next, 0.0
            time.sleep(delay)
        with self._lock:
            self.answers.append((status, token))
        request.reply(status, payload, headers)

    def _answer(self, request: _Handler, token: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        def error(status: int, code: str, message: str, **headers: str) -> tuple[int, Any, dict[str, str]]:
            return status, {"error": {"code": code, "message": message}}, headers

        parts = urlsplit(request.path).path.split("/")
        if len(parts) != 5 or parts[1] != "v1.0" or parts[2] != "users" or parts[4] != "sendMail":
            return error(400, "BadRequest", "Resource not found for the segment.")
        mailbox = unquote(parts[3])
        if self.script:
            with self._lock:
                answer = self.script.pop(0)
            code, message = _DEFAULT_ERRORS.get(answer.status, ("Error", "Error."))
            headers = {"Retry-After": answer.retry_after} if answer.retry_after else {}
            return error(answer.status, answer.code or code, answer.message or message, **headers)
        if not token:
            return error(401, "InvalidAuthenticationToken", "Access token is empty.")
        try:
            self.tenant.check(token, GRAPH, "Mail.Send", mailbox)
        except Problem as exc:
            reason = str(exc)
            if reason == "no such mailbox":
                return error(404, "ErrorInvalidUser", f"The requested user '{mailbox}' is invalid.")
            if "role" in reason or "may not" in reason:
                return error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            return error(401, "InvalidAuthenticationToken", reason)
        content_type = request.headers.get("Content-Type", "")
        if not content_type.startswith("text/plain"):
            return error(400, "ErrorMimeContentInvalid", "Unsupported content type for MIME.")
        try:
            mime = base64.b64decode(body, validate=True)
        except binascii.Error:
            return error(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
        msg = message_from_bytes(mime, policy=policy.default)
        if not (msg["From"] and msg["To"] and msg["Message-ID"]):
            return error(400, "ErrorMimeContentInvalid", "The MIME content is not valid.")
        with self._lock:
            self.received.append(GraphMail(mailbox, token, content_type, mime))
        request_ids = {
            "request-id": str(uuid.uuid4()),
            "client-request-id": request.headers.get("client-request-id", ""),
        }
        return 202, None, request_ids


# --- SMTP with XOAUTH2 --------------------------------------------------------------------


@dataclass
class Login:
    """A successful AUTH XOAUTH2."""

    user: str
    token: str
    connection: int


@dataclass
class Xoauth2Handler(RelayHandler):
    """The relay's handler, plus XOAUTH2 and per-MAIL token checks."""

    tenant: Tenant = field(default_factory=Tenant)
    logins: list[Login] = field(default_factory=list)
    auth_failures: list[str] = field(default_factory=list)
    #: Seconds to wait before answering the next DATA (lets a token expire mid-batch).
    delay_data_next: float = 0.0

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 2:
            blob: Any = base64.b64decode(args[1])
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
        if blob is MISSING:
            return AuthResult(success=False, handled=True)
        fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        try:
            self.tenant.check(token, OUTLOOK, "SMTP.SendAsApp", user)
        except Problem as exc:
            self.auth_failures.append(str(exc))
            error = json.dumps({"status": "401", "schemes": "bearer", "scope": f"{OUTLOOK}/.default"})
            await server.challenge_auth(error)  # XOAUTH2: the error as a challenge; the client answers ""
            return AuthResult(success=False, handled=False, message="535 5.7.3 Authentication unsuccessful")
        assert server.session is not None
        self.logins.append(Login(user, token, id(server.session)))
        return AuthResult(success=True, auth_data=Login(user, token, id(server.session)))

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        login = session.auth_data
        assert isinstance(login, Login)
        try:
            self.tenant.check(login.token, OUTLOOK, "SMTP.SendAsApp", login.user)
        except Problem as exc:
            return f"454 4.7.0 Temporary authentication failure: {exc}"
        if address.lower() != login.user.lower():
            return "550 5.7.60 SMTP; Client does not have permissions to send as this sender"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay_data_next:
            delay, self.delay_data_next = self.delay_data_next, 0.0
            time.sleep(delay)  # blocks the relay's loop: fine for one client
        return await super().handle_DATA(server, session, envelope)


class Xoauth2Relay(SmtpRelay):
    """Exchange Online's SMTP submission: STARTTLS, then AUTH XOAUTH2 only."""

    def __init__(self, directory: Path, tenant: Tenant, ca: trustme.CA):
        super().__init__(directory, ca=ca)
        self.handler = Xoauth2Handler(tenant=tenant)

    def start(self) -> Xoauth2Relay:
        self._controller = self._listen(
            lambda port: Controller(
                self.handler,
                hostname=self.host,
                port=port,
                server_hostname="relay.test",
                tls_context=self._server_context(),
                require_starttls=True,
                auth_required=True,
                auth_require_tls=True,
                auth_exclude_mechanism=["LOGIN", "PLAIN"],
            )
        )
        return self

    @property
    def xoauth2(self) -> Xoauth2Handler:
        assert isinstance(self.handler, Xoauth2Handler)
        return self.handler


# --- all of it --------------------------------------------------------------------------


class M365:
    """The stand-ins together, and the config sections that point at them."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.ca = trustme.CA()
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = directory / "m365-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.app_cert = registered_certificate()
        self.tenant = Tenant(certificate=self.app_cert)
        self.login = TokenEndpoint(self.ca, self.tenant)
        self.graph = GraphStandIn(self.ca, self.tenant)
        self.relay = Xoauth2Relay(directory / "relay", self.tenant, self.ca)

    def start(self) -> M365:
        self.login.start()
        self.graph.start()
        self.relay.start()
        return self

    def stop(self) -> None:
        self.relay.stop()
        self.graph.stop()
        self.login.stop()

    def app_keys(self, **overrides: Any) -> dict[str, Any]:
        """The ``[smtp]`` keys of the app registration (client secret: from the environment)."""
        values: dict[str, Any] = {
            "tenant_id": self.tenant.tenant_id,
            "client_id": self.tenant.client_id,
            "authority": self.login.authority,
            "ca_file": str(self.ca_file),
            "timeout": 5,
        }
        values.update(overrides)
        return values

    def smtp_section(self, **overrides: Any) -> dict[str, Any]:
        """``[smtp]`` for XOAUTH2 to the relay stand-in, as the mailbox."""
        values = {
            "host": self.relay.host,
            "port": self.relay.port,
            "security": "starttls",
            "auth": "oauth2",
            "username": MAILBOX,
            **self.app_keys(),
        }
        values.update(overrides)
        return values

    def graph_section(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"base_url": self.graph.base_url}
        values.update(overrides)
        return values

    def certificate_keys(self, *, combined: bool = False) -> dict[str, str]:
        cert, key = self.app_cert.write(self.directory / "app", combined=combined)
        return {"certificate_file": str(cert), "private_key_file": str(key) if key else ""}


@pytest.fixture
def m365(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[M365]:
    """Running stand-ins; $MONITOR_SMTP_CLIENT_SECRET holds the app's secret."""
    monkeypatch.setenv("MONITOR_SMTP_CLIENT_SECRET", CLIENT_SECRET)
    stand_ins = M365(tmp_path / "m365").start()
    try:
        yield stand_ins
    finally:
        stand_ins.stop()
