"""The ``[web]`` section: where the web app lives, which identity provider it trusts, how long a session lasts.

Kept beside ``config.py`` rather than inside it because the web app's rules (an https
issuer unless on loopback, a client id whenever an issuer is set, a tenant whenever
``oid`` is the identity) are its own job, and ``config.py`` is already long.
``config.build`` calls :func:`parse` and turns a :class:`SettingError` into its
ConfigError (key, bad value, what was expected).

The client secret is never a key: it is read on use from ``$MONITOR_OIDC_CLIENT_SECRET``,
so it cannot end up in a config dump, an error message or a log.

Which ID token is accepted and who it signs in is decided by ``id_token_algorithms``,
``trusted_audiences``, ``identity_claim``, ``email_verified_absent`` and ``tenant_id``;
the defaults are the strict choice (RS256 only, no other audience, the email only when
the provider says it is verified). ``docs/operate/sign-in.md`` explains each for operators.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

WEB_DEFAULTS: dict[str, Any] = {
    "base_url": "",
    "issuer": "",
    "client_id": "",
    "scopes": "openid email profile",
    "email_claim": "email",
    "identity_claim": "email",
    "email_verified_absent": "refuse",
    "tenant_id": "",
    "trusted_audiences": [],
    "id_token_algorithms": ["RS256"],
    "session_idle_minutes": 30,
    "session_absolute_hours": 10,
    "stale_import_hours": 36,
}

LOOPBACK_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
SECRET_ENV = "MONITOR_OIDC_CLIENT_SECRET"  # noqa: S105 - the variable name, not a secret
#: The claims a force may sign people in by: the email (matched to officers.csv's
#: ``email``) or an identifier the provider controls (matched to its ``sign_in_id``).
IDENTITY_CLAIMS: tuple[str, ...] = ("email", "oid", "preferred_username", "sub")
#: What a token whose ``email_verified`` claim is absent gets (identity by email only).
EMAIL_VERIFIED_ABSENT: tuple[str, ...] = ("refuse", "xms_edov", "accept")
#: Signature algorithms an ID token may use: public-key ones only, so a token can never be
#: "signed" with a secret anyone could read (``none``, or HS256 keyed with a public key).
ASYMMETRIC_ALGORITHMS: tuple[str, ...] = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "Ed25519",
)
_TENANT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SettingError(ValueError):
    """One bad value of a section parsed beside config.py (``[web]``, the practice keys of
    ``[policy]``): the dotted key, the value and what was expected."""

    def __init__(self, key: str, value: object, expected: str):
        self.key, self.value, self.expected = key, value, expected
        super().__init__(f"{key} = {value!r}: expected {expected}")


@dataclass(frozen=True)
class WebSettings:
    base_url: str
    issuer: str
    client_id: str
    scopes: str
    email_claim: str
    session_idle_minutes: int
    session_absolute_hours: int
    stale_import_hours: int
    #: Which claim says who signs in: "email" (matched to an officer's email) or an
    #: identifier the provider controls (matched to the officer's ``sign_in_id``).
    identity_claim: str
    #: With identity by email, a token without ``email_verified``: refused, accepted only
    #: with Entra's ``xms_edov`` true, or accepted.
    email_verified_absent: str
    #: Entra ID tenant (lower case): when set, every ID token's ``tid`` must be this.
    tenant_id: str
    #: Audiences besides client_id an ID token may name (OIDC Core 3.1.3.7 step 3).
    trusted_audiences: tuple[str, ...]
    #: JWS algorithms an ID token may be signed with (public-key ones only).
    id_token_algorithms: tuple[str, ...]

    @property
    def client_secret(self) -> str:
        """Read on use, from the environment only (never the file, never a log)."""
        return os.environ.get(SECRET_ENV, "")

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` whenever the app is served over HTTPS."""
        return self.base_url.startswith("https://")


def is_loopback(host: str | None) -> bool:
    return (host or "").strip("[]").lower() in LOOPBACK_HOSTS


def _url(raw: Mapping[str, Any], name: str, what: str) -> str:
    value = raw[name]
    key = f"web.{name}"
    expected = f'{what} as an https:// URL (http:// only on loopback), or ""'
    if not isinstance(value, str):
        raise SettingError(key, value, expected)
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise SettingError(key, value, expected)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise SettingError(key, value, expected)
    return value.rstrip("/")


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw[name]
    if not isinstance(value, str) or "\n" in value or "\r" in value:
        raise SettingError(f"web.{name}", value, "a string on one line")
    return value.strip()


def _whole(raw: Mapping[str, Any], name: str) -> int:
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingError(f"web.{name}", value, "a whole number of at least 1")
    return value


def _choice(raw: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = raw[name]
    if not isinstance(value, str) or value not in choices:
        raise SettingError(f"web.{name}", value, "one of " + ", ".join(f'"{c}"' for c in choices))
    return value


def _strings(raw: Mapping[str, Any], name: str, what: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    value = raw[name]
    expected = f"a list of {what}"
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() and v.isprintable() for v in value):
        raise SettingError(f"web.{name}", value, expected)
    items = tuple(v.strip() for v in value)
    if allowed is not None and any(v not in allowed for v in items):
        raise SettingError(f"web.{name}", value, expected)
    return items


def _tenant(raw: Mapping[str, Any]) -> str:
    value = raw["tenant_id"]
    if not isinstance(value, str) or (value and not _TENANT.match(value.strip())):
        raise SettingError("web.tenant_id", value, 'the Entra ID tenant id (a GUID), or ""')
    return value.strip().lower()


def parse(raw: Mapping[str, Any]) -> WebSettings:
    """Validate the merged ``[web]`` table; raise SettingError on the first bad key."""
    settings = WebSettings(
        base_url=_url(raw, "base_url", "the address people use to reach the app"),
        issuer=_url(raw, "issuer", "the OpenID Connect issuer"),
        client_id=_text(raw, "client_id"),
        scopes=_text(raw, "scopes"),
        email_claim=_text(raw, "email_claim"),
        session_idle_minutes=_whole(raw, "session_idle_minutes"),
        session_absolute_hours=_whole(raw, "session_absolute_hours"),
        stale_import_hours=_whole(raw, "stale_import_hours"),
        identity_claim=_choice(raw, "identity_claim", IDENTITY_CLAIMS),
        email_verified_absent=_choice(raw, "email_verified_absent", EMAIL_VERIFIED_ABSENT),
        tenant_id=_tenant(raw),
        trusted_audiences=_strings(raw, "trusted_audiences", "client ids (strings)"),
        id_token_algorithms=_strings(
            raw,
            "id_token_algorithms",
            "public-key JWS algorithms: " + ", ".join(ASYMMETRIC_ALGORITHMS),
            ASYMMETRIC_ALGORITHMS,
        ),
    )
    if not settings.id_token_algorithms:
        raise SettingError("web.id_token_algorithms", [], "at least one of " + ", ".join(ASYMMETRIC_ALGORITHMS))
    if settings.identity_claim == "oid" and not settings.tenant_id:
        raise SettingError(
            "web.tenant_id",
            "",
            'your Entra ID tenant id (a GUID) when identity_claim = "oid": an oid is unique only within its tenant',
        )
    if "openid" not in settings.scopes.split():
        raise SettingError("web.scopes", settings.scopes, 'space-separated scopes including "openid"')
    if not settings.email_claim:
        raise SettingError("web.email_claim", settings.email_claim, "the ID token claim holding the email address")
    if settings.issuer and not settings.client_id:
        raise SettingError("web.client_id", settings.client_id, "the client id registered at the issuer")
    if settings.session_idle_minutes > settings.session_absolute_hours * 60:
        raise SettingError(
            "web.session_idle_minutes", settings.session_idle_minutes, "no longer than session_absolute_hours"
        )
    return settings
