"""The ``[docs]`` section: where readers find the guide, and which page is theirs.

The product points to its guide: each digest's footer and every page of the web app
link to the guide for that reader (an offender manager's digest to the offender
managers' guide, and so on), so "what does 2+ failed attempts ask of me?" is one click
from where the question arises. A force network often cannot reach the internet, so the
web app can serve a built copy of the guide itself under ``/help`` (``site_dir``); the
links then go there when no other address is set.

Kept beside ``config.py`` like ``web_settings``: ``config.build`` calls :func:`parse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DOCS_DEFAULTS: dict[str, Any] = {"url": "", "site_dir": ""}

#: Where the web app serves a built guide (``site_dir``).
HELP_PATH = "/help"

#: Each reader's guide, as a page of the built site (directory URLs, as MkDocs writes them);
#: tests/project/test_docs.py keeps each pointing at a page that exists under docs/.
GUIDES: dict[str, str] = {
    "offender_manager": "guide/offender-managers/",
    "supervisor": "guide/supervisors/",
    "lead": "guide/force-lead/",
}
#: The guide for the reader of each digest kind (a team digest re-routed to a lead is still
#: a team digest, read with the supervisors' guide).
DIGEST_READERS: dict[str, str] = {
    "officer": "offender_manager",
    "team": "supervisor",
    "escalation": "supervisor",
    "force": "lead",
}


class DocsSettingError(ValueError):
    def __init__(self, key: str, value: object, expected: str):
        self.key, self.value, self.expected = key, value, expected
        super().__init__(f"{key} = {value!r}: expected {expected}")


@dataclass(frozen=True)
class DocsSettings:
    #: The address of the guide as configured ("" = none, or the web app's /help).
    url: str = ""
    #: A built copy of the guide the web app serves under /help (None = not served).
    site_dir: Path | None = None

    def address(self, web_base_url: str) -> str:
        """Where links point: ``url``, else the web app's /help when it serves a copy, else ""."""
        if self.url:
            return self.url
        if self.site_dir is not None and web_base_url:
            return web_base_url.rstrip("/") + HELP_PATH
        return ""

    def guide_for(self, role: str, web_base_url: str) -> str | None:
        """The guide page for a reader in ``role`` (offender_manager, supervisor, lead), or None."""
        base = self.address(web_base_url)
        if not base or role not in GUIDES:
            return None
        return f"{base.rstrip('/')}/{GUIDES[role]}"


def parse(raw: Mapping[str, Any]) -> DocsSettings:
    """Validate the merged ``[docs]`` table; raise DocsSettingError on the first bad key."""
    url = raw["url"]
    expected = 'the address of the guide as an https:// or http:// URL with a host name, or ""'
    if not isinstance(url, str) or any(c.isspace() or ord(c) < 32 for c in url):
        raise DocsSettingError("docs.url", url, expected)
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise DocsSettingError("docs.url", url, expected)
    site_dir = raw["site_dir"]
    if not isinstance(site_dir, str) or "\x00" in site_dir:
        raise DocsSettingError("docs.site_dir", site_dir, 'a folder holding a built guide (index.html), or ""')
    return DocsSettings(url=url.rstrip("/"), site_dir=Path(site_dir) if site_dir.strip() else None)
