"""Settings for signing in to Microsoft 365: OAuth 2.0 app credentials and Microsoft Graph.

Microsoft is switching Basic authentication off for SMTP submission, so a force on
Exchange Online sends either over SMTP with an OAuth 2.0 token (``[smtp] auth =
"oauth2"``, XOAUTH2) or through Microsoft Graph (``[mail] transport = "graph"``). Both
use the same app-only token from the Microsoft identity platform (client-credentials
grant), so both read the app's identity from ``[smtp]``: ``tenant_id``, ``client_id``,
``authority``, and a certificate (``certificate_file``, ``private_key_file``) or a client
secret from ``$MONITOR_SMTP_CLIENT_SECRET`` (never from the file).

Kept apart from :mod:`monitor.core.config` so that module stays about the whole file;
it calls :func:`parse` and turns :class:`Invalid` into its ``ConfigError`` (with the
source file), so every bad key still names the key, the value and what was expected.
Files are checked to exist here; their contents are read only when a token is needed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

AUTH_METHODS: tuple[str, ...] = ("password", "oauth2")
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
SECRET_ENV = "MONITOR_SMTP_CLIENT_SECRET"  # noqa: S105 - the variable's name, not a secret

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TENANT = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$")


class Invalid(Exception):
    """One bad key: which, its value, and what was expected (never a secret's value)."""

    def __init__(self, key: str, value: object, expected: str):
        super().__init__(f"{key} = {value!r}: expected {expected}")
        self.key, self.value, self.expected = key, value, expected


@dataclass(frozen=True)
class OAuthSettings:
    """The app registration that gets tokens: ``authority`` is resolved (default from tenant)."""

    tenant_id: str
    client_id: str
    authority: str
    certificate_file: str
    private_key_file: str

    @property
    def client_secret(self) -> str:
        """Read on use, from the environment only, so it is never held in config dumps."""
        return os.environ.get(SECRET_ENV, "")

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.authority)


@dataclass(frozen=True)
class GraphSettings:
    """``[graph]``: where Graph is, and whose mailbox sends (resolved: never empty)."""

    base_url: str
    mailbox: str


@dataclass(frozen=True)
class MailAuth:
    """What :func:`parse` returns: ``[smtp] auth`` plus the two settings objects."""

    method: str
    oauth: OAuthSettings
    graph: GraphSettings


def _text(section: Mapping[str, Any], key: str) -> str:
    value = section[key.rsplit(".", 1)[-1]]
    if not isinstance(value, str) or "\n" in value or "\r" in value:
        raise Invalid(key, value, "a string on one line")
    return value.strip()


def _https_url(key: str, value: str, *, path_needed: bool) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise Invalid(key, value, "an https:// URL without query or fragment")
    if path_needed and not parts.path.strip("/"):
        raise Invalid(
            key, value, "an https:// URL ending in the tenant, e.g. https://login.microsoftonline.com/<tenant>"
        )
    return value.rstrip("/")


def _file(key: str, value: str) -> str:
    if value and not Path(value).is_file():
        raise Invalid(key, value, "a readable PEM file")
    return value


def parse(smtp: Mapping[str, Any], graph: Mapping[str, Any], *, transport: str, sender: str) -> MailAuth:
    """Validate the OAuth keys of ``[smtp]`` and the ``[graph]`` table.

    The app identity is required when it will be used: ``auth = "oauth2"`` with the SMTP
    transport, or the Graph transport (which always signs in with a token).
    """
    method = _text(smtp, "smtp.auth")
    if method not in AUTH_METHODS:
        raise Invalid("smtp.auth", method, " or ".join(f'"{m}"' for m in AUTH_METHODS))
    tenant = _text(smtp, "smtp.tenant_id")
    if tenant and not _TENANT.match(tenant):
        raise Invalid("smtp.tenant_id", tenant, "a directory (tenant) ID or domain, e.g. force.onmicrosoft.com")
    client_id = _text(smtp, "smtp.client_id")
    if client_id and not _GUID.match(client_id):
        raise Invalid("smtp.client_id", client_id, "the app registration's application (client) ID, a GUID")
    authority = _text(smtp, "smtp.authority")
    if authority:
        authority = _https_url("smtp.authority", authority, path_needed=True)
    elif tenant:
        authority = f"{DEFAULT_AUTHORITY_HOST}/{tenant}"
    certificate = _file("smtp.certificate_file", _text(smtp, "smtp.certificate_file"))
    key = _file("smtp.private_key_file", _text(smtp, "smtp.private_key_file"))
    if key and not certificate:
        raise Invalid("smtp.certificate_file", certificate, "the certificate that goes with smtp.private_key_file")
    oauth = OAuthSettings(tenant, client_id, authority, certificate, key)

    username = _text(smtp, "smtp.username")
    needed = transport == "graph" or (transport == "smtp" and method == "oauth2")
    if needed:
        if not authority:
            raise Invalid("smtp.tenant_id", tenant, "the directory (tenant) ID, for OAuth 2.0 sign-in")
        if not client_id:
            raise Invalid("smtp.client_id", client_id, "the application (client) ID, for OAuth 2.0 sign-in")
    if transport == "smtp" and method == "oauth2" and "@" not in username:
        raise Invalid("smtp.username", username, "the sending mailbox's address (XOAUTH2 signs in as it)")

    base_url = _https_url("graph.base_url", _text(graph, "graph.base_url"), path_needed=False)
    explicit = _text(graph, "graph.mailbox")
    mailbox = explicit or (username if "@" in username else sender)
    if (explicit or transport == "graph") and ("@" not in mailbox or "/" in mailbox):
        raise Invalid("graph.mailbox", mailbox, "the sending mailbox's address")
    return MailAuth(method, oauth, GraphSettings(base_url, mailbox))
