"""Masking secrets in any text a person or a log could read.

Secrets reach this service in three ways: the environment (``$MONITOR_SMTP_PASSWORD``,
``$MONITOR_OIDC_CLIENT_SECRET``, the password inside ``$MONITOR_DATABASE_URL``), the
database URL in the config file, and by mistake (a password typed into the file, a
driver error quoting a connection string). Error messages, log lines, SIGHUP reload
messages and ``health`` all pass through :func:`redact`, so a secret is masked even where
nobody thought it could appear. Masking is by value (the known secrets) and by shape
(``scheme://user:PASSWORD@host``, ``password=...``), so an unknown secret in a URL is
caught too.
"""

from __future__ import annotations

import os
import re

MASK = "***"
#: Environment variables whose whole value is a secret.
SECRET_ENV: tuple[str, ...] = ("MONITOR_SMTP_PASSWORD", "MONITOR_OIDC_CLIENT_SECRET")
#: Environment variables that hold a URL whose password is a secret.
SECRET_URL_ENV: tuple[str, ...] = ("MONITOR_DATABASE_URL",)
#: Shorter values are not masked by value: masking "pw" everywhere would garble every log
#: line while protecting nothing (such a password is guessable anyway).
MIN_SECRET_LENGTH = 4

# user:password@ in a URL (with or without the scheme), and key=value credentials in a
# query string or a libpq connection string.
_URL_CREDENTIALS = re.compile(r"(?P<user>(?:[a-z][a-z0-9+.-]*://)?[^\s:/@'\"]*):(?P<pw>[^\s@/'\"]+)@", re.IGNORECASE)
_KEY_VALUE = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|secret|client_secret|token|api_key)\s*=\s*)(?P<value>[^\s&;'\"]+)",
    re.IGNORECASE,
)

_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask ``value`` from now on (e.g. the password of a database URL read from the file)."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        _registered.add(value)


def url_password(url: str) -> str | None:
    """The password inside ``scheme://user:password@host/...``, if any (no parsing library)."""
    match = _URL_CREDENTIALS.search(url)
    return match.group("pw") if match else None


def known_secrets() -> list[str]:
    """Every secret value known now, longest first (so a longer one is masked whole)."""
    values = set(_registered)
    for name in SECRET_ENV:
        value = os.environ.get(name, "")
        if len(value) >= MIN_SECRET_LENGTH:
            values.add(value)
    for name in SECRET_URL_ENV:
        password = url_password(os.environ.get(name, ""))
        if password and len(password) >= MIN_SECRET_LENGTH:
            values.add(password)
    return sorted(values, key=len, reverse=True)


def mask_url(url: str) -> str:
    """``postgresql://monitor:***@db/register``: the URL with any password masked."""
    return _KEY_VALUE.sub(rf"\g<key>{MASK}", _URL_CREDENTIALS.sub(rf"\g<user>:{MASK}@", url))


def redact(text: str) -> str:
    """``text`` with every known secret and every URL or key=value credential masked."""
    if not text:
        return text
    for secret in known_secrets():
        text = text.replace(secret, MASK)
    return mask_url(text)
