"""App-only OAuth 2.0 access tokens from the Microsoft identity platform, for sending mail.

Exchange Online no longer takes a password for SMTP submission, and Microsoft Graph never
did: both want a bearer token that the app gets for itself by the client-credentials
grant. MSAL for Python does the protocol (tenant discovery at
``<authority>/v2.0/.well-known/openid-configuration``, the token request, the signed
client assertion when the app proves itself with a certificate); this module adds what
delivery needs around it:

* **one token, reused**: a :class:`TokenProvider` keeps its token until shortly before
  it expires (:data:`RENEW_BEFORE`, or the last quarter of a short-lived token's life),
  and providers are shared per app and scope across delivery runs, so a batch asks the
  identity platform at most once and a daemon far less often;
* **renewal**: :meth:`TokenProvider.renew` throws the token away and gets a new one, for
  a resource that said the token is no longer good;
* **failure kinds**: every problem becomes a transport failure
  (:mod:`monitor.mail.transports.base`). Anything that is our fault (a wrong secret, a
  bad certificate, an unknown tenant, a scope the app may not have, an untrusted TLS
  certificate) is :class:`StopBatch`, so no message spends an attempt on it; the
  identity platform being down or busy is :class:`Unreachable`.

Errors carry the OAuth error code and the first sentence of the identity platform's
description (``invalid_client: AADSTS7000215: Invalid client secret provided``), never
the secret, the token or a traceback.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from monitor.core.mail_auth import SECRET_ENV, OAuthSettings
from monitor.mail.transports.base import SendError, StopBatch, Unreachable

#: Scopes of the two resources (app-only: ``/.default`` = the application permissions granted).
SMTP_SCOPE = "https://outlook.office365.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
#: A token is renewed this many seconds before it expires (at most a quarter of its life).
RENEW_BEFORE = 300.0
#: OAuth errors that are the identity platform's trouble, not ours: try again later.
_THEIRS = frozenset({"temporarily_unavailable", "server_error"})
_KEY_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.+?-----END \1PRIVATE KEY-----", re.S)


@dataclass(frozen=True)
class Token:
    """An access token and when to stop using it (``time.time()`` seconds)."""

    value: str = field(repr=False)
    expires_at: float
    renew_at: float
    #: True when it came from the identity platform just now (not from a cache).
    issued: bool

    def due(self, now: float | None = None) -> bool:
        """Time to get a new one (a session signed in with it should be renewed too)."""
        return (time.time() if now is None else now) >= self.renew_at


class TokenProvider:
    """Tokens for one app registration and one scope; thread-safe; no I/O until asked."""

    def __init__(self, oauth: OAuthSettings, scope: str, *, ca_file: str = "", timeout: float = 30.0):
        self.oauth, self.scope = oauth, scope
        self.ca_file, self.timeout = ca_file, timeout
        self._app: Any = None
        self._token: Token | None = None
        self._lock = threading.Lock()
        #: How many tokens this provider got from the identity platform (for logs and tests).
        self.issued = 0

    def token(self) -> Token:
        """The current token, or a new one when there is none or it is due for renewal."""
        with self._lock:
            if self._token is not None and not self._token.due():
                return Token(self._token.value, self._token.expires_at, self._token.renew_at, issued=False)
            return self._acquire()

    def renew(self) -> Token:
        """Forget the current token (the resource refused it) and get a new one."""
        with self._lock:
            self._token = None
            if self._app is not None:
                self._app.remove_tokens_for_client()
            return self._acquire()

    # --- the identity platform ---------------------------------------------------------

    def _acquire(self) -> Token:
        app = self._client()
        try:
            result = app.acquire_token_for_client(scopes=[self.scope])
        except (requests.RequestException, msal.exceptions.MsalServiceError, ValueError) as exc:
            raise self._http_failure(exc, "token request") from None
        if "access_token" not in result:
            raise self._refusal(result)
        now = time.time()
        lifetime = float(result.get("expires_in") or 0)
        token = Token(
            value=str(result["access_token"]),
            expires_at=now + lifetime,
            renew_at=now + lifetime - min(RENEW_BEFORE, lifetime / 4),
            issued=result.get("token_source") != "cache",
        )
        if token.issued:
            self.issued += 1
        self._token = token
        return token

    def _client(self) -> Any:
        """The MSAL app, built on first use: building it fetches the tenant's metadata."""
        if self._app is None:
            credential = self._credential()
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.oauth.client_id,
                    client_credential=credential,
                    authority=self.oauth.authority,
                    # The authority comes from our own configuration: no need to ask
                    # login.microsoftonline.com whether it knows it.
                    instance_discovery=False,
                    http_client=HttpSession(self.ca_file, self.timeout),
                    app_name="visit-monitor",
                )
            except (requests.RequestException, msal.exceptions.MsalServiceError, ValueError, KeyError) as exc:
                raise self._http_failure(exc, "tenant discovery") from None
        return self._app

    def _credential(self) -> str | dict[str, str]:
        """The certificate (preferred) or the client secret, checked before any request."""
        if self.oauth.certificate_file:
            return load_certificate(self.oauth.certificate_file, self.oauth.private_key_file)
        secret = self.oauth.client_secret
        if not secret:
            raise StopBatch(f"no client credential for OAuth 2.0: set smtp.certificate_file or ${SECRET_ENV}")
        return secret

    def _http_failure(self, exc: Exception, stage: str) -> SendError:
        host = urlsplit(self.oauth.authority).netloc
        if isinstance(exc, requests.exceptions.SSLError):
            return StopBatch(f"identity platform TLS certificate not trusted ({host}) at {stage}")
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            return Unreachable(f"identity platform answered HTTP {exc.response.status_code} at {stage} ({host})")
        if isinstance(exc, msal.exceptions.MsalServiceError):  # MSAL's own "HTTP Error: 503"
            return Unreachable(
                f"identity platform answered {exc.args[0] if exc.args else 'an error'} at {stage} ({host})"
            )
        if isinstance(exc, requests.RequestException):
            return Unreachable(f"identity platform unreachable ({host}) at {stage}: {type(exc).__name__}")
        if stage == "tenant discovery":
            return StopBatch(
                f"no token endpoint found for smtp.authority {self.oauth.authority} (check smtp.tenant_id / authority)"
            )
        return Unreachable(f"identity platform gave an unreadable answer ({host}) at {stage}")

    def _refusal(self, result: dict[str, Any]) -> SendError:
        error = str(result.get("error") or "unknown_error")
        description = _first_sentence(str(result.get("error_description") or ""))
        secret = self.oauth.client_secret
        if secret and len(secret) >= 4:
            description = description.replace(secret, "***")
        reason = f"token request refused: {error}" + (f": {description}" if description else "")
        return Unreachable(reason) if error in _THEIRS else StopBatch(reason)


class HttpSession(requests.Session):
    """A requests session that always verifies TLS with our CA bundle and uses our timeout.

    requests lets ``$REQUESTS_CA_BUNDLE`` override a session's ``verify``; passing it on
    every request keeps ``smtp.ca_file`` in force (and the environment's proxy settings).
    """

    def __init__(self, ca_file: str = "", timeout: float = 30.0):
        super().__init__()
        self.ca_file, self.timeout = ca_file, timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.ca_file and kwargs.get("verify") in (None, True):
            kwargs["verify"] = self.ca_file
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def _first_sentence(text: str) -> str:
    first = " ".join(text.split("\n", 1)[0].split())
    first = first.split(". ", 1)[0].rstrip(".")
    return first[:200]


def load_certificate(certificate_file: str, private_key_file: str = "") -> dict[str, str]:
    """MSAL's ``client_credential`` for a certificate: its PEM and the matching RSA key.

    Checked here so a wrong file says so plainly (not a library traceback): readable PEM,
    an RSA key (the only kind Entra ID accepts for app credentials) that belongs to the
    certificate, a certificate that has not expired, a key that is not encrypted.
    """
    try:
        cert_pem = Path(certificate_file).read_bytes()
        key_source = Path(private_key_file).read_bytes() if private_key_file else cert_pem
    except OSError as exc:
        raise StopBatch(f"cannot read the app certificate or key: {exc.strerror or type(exc).__name__}") from None
    try:
        certificate = x509.load_pem_x509_certificates(cert_pem)[0]
    except ValueError:
        raise StopBatch(f"smtp.certificate_file {certificate_file} holds no PEM certificate") from None
    block = _KEY_BLOCK.search(key_source)
    where = "smtp.private_key_file" if private_key_file else "smtp.certificate_file"
    if block is None:
        raise StopBatch(f"{where} holds no PEM private key")
    try:
        key = serialization.load_pem_private_key(block.group(0), password=None)
    except TypeError:
        raise StopBatch(
            f"{where}: the private key is encrypted; store it unencrypted, readable by this service only"
        ) from None
    except ValueError:
        raise StopBatch(f"{where}: the private key cannot be read") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise StopBatch(f"{where}: the private key is not RSA (Entra ID app certificates are RSA)")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if key.public_key().public_bytes(encoding, public) != certificate.public_key().public_bytes(encoding, public):
        raise StopBatch(f"{where}: the private key does not belong to the certificate")
    if certificate.not_valid_after_utc <= datetime.now(UTC):
        raise StopBatch(f"the app certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}")
    pkcs8 = serialization.PrivateFormat.PKCS8
    key_pem = key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())
    return {
        "private_key": key_pem.decode("ascii"),
        "public_certificate": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    }


# --- shared providers ------------------------------------------------------------------

_PROVIDERS: dict[tuple[object, ...], TokenProvider] = {}
_PROVIDERS_LOCK = threading.Lock()


def _credential_identity(oauth: OAuthSettings) -> tuple[object, ...]:
    """What makes a credential different: a changed secret or certificate gets a new provider."""
    if oauth.certificate_file:
        stamps = []
        for name in (oauth.certificate_file, oauth.private_key_file):
            try:
                stamps.append(Path(name).stat().st_mtime_ns if name else 0)
            except OSError:
                stamps.append(-1)
        return ("certificate", *stamps)
    return ("secret", sha256(oauth.client_secret.encode()).hexdigest())


def provider_for(oauth: OAuthSettings, scope: str, *, ca_file: str = "", timeout: float = 30.0) -> TokenProvider:
    """The process-wide provider for this app, scope and credential (created on first use)."""
    key = (oauth, scope, ca_file, timeout, _credential_identity(oauth))
    with _PROVIDERS_LOCK:
        provider = _PROVIDERS.get(key)
        if provider is None:
            provider = _PROVIDERS[key] = TokenProvider(oauth, scope, ca_file=ca_file, timeout=timeout)
        return provider
