"""The ``[web]`` section: where the web app lives, which identity provider it trusts, how long a session lasts.

Kept beside ``config.py`` rather than inside it because the web app's rules (an https
issuer unless on loopback, a client id whenever an issuer is set) are its own job, and
``config.py`` is already long. ``config.build`` calls :func:`parse` and turns a
:class:`SettingError` into its ConfigError (key, bad value, what was expected).

The client secret is never a key: it is read on use from ``$MONITOR_OIDC_CLIENT_SECRET``,
so it cannot end up in a config dump, an error message or a log.
"""

from __future__ import annotations

import os
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
    "session_idle_minutes": 30,
    "session_absolute_hours": 10,
    "stale_import_hours": 36,
}

LOOPBACK_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
SECRET_ENV = "MONITOR_OIDC_CLIENT_SECRET"  # noqa: S105 - the variable name, not a secret


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
