"""The value checks the configuration runs when it is read.

A value that passes here must not crash later: an interval of P9999Y used to pass and then
overflow the calendar in the scan, a ``case_url`` with an unknown ``{placeholder}`` raised
while rendering a digest, a metrics port of 99999 failed when the daemon bound it. Each
check returns ``None`` for a good value, else the expectation to print ("a whole number
from 1 to 100"); :mod:`monitor.core.config` turns that into a ConfigError naming the key.
Kept apart from config.py so that file stays about *which* keys exist and this one about
*what* a good value looks like.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import string
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from monitor.core.durations import Duration, add_months

#: The longest interval any policy may set: ten years. Longer is a typo (P10M -> P10Y) and
#: could push a due date past the calendar's end.
MAX_DURATION_MONTHS = 120
_REFERENCE_DAY = date(2000, 1, 1)

#: SQLAlchemy driver names this service is built and tested for (psycopg 3 for PostgreSQL).
SUPPORTED_DATABASES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")
DATABASE_URL_EXPECTED = (
    "a SQLAlchemy URL for SQLite or PostgreSQL, such as sqlite:///var/monitor.db or "
    "postgresql://monitor@db.police.example/register (driver psycopg)"
)
SQLITE_URL_EXPECTED = (
    "a SQLite URL with three slashes before a relative path (sqlite:///var/monitor.db) "
    "or four before an absolute one (sqlite:////var/lib/visit-monitor/monitor.db)"
)
CASE_URL_EXPECTED = (
    "an https:// (or http://) URL with a host name, no spaces, and only {ref} as placeholder, e.g. "
    '"https://cases.police.example/{ref}", or ""'
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
HEADER_SAFE = re.compile(r"^[^\r\n]*$")
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$", re.I)
_LOCAL_PART = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
_NAME_AND_ADDRESS = re.compile(r"^(?P<name>[^<>\"]*)<(?P<address>[^<>]+)>$")


#: Where each secret comes from instead of the file.
SECRET_KEYS: dict[str, str] = {
    "smtp.password": "$MONITOR_SMTP_PASSWORD",
    "database.password": "the password inside $MONITOR_DATABASE_URL",
    "web.client_secret": "$MONITOR_OIDC_CLIENT_SECRET",
}
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "credential")


def unknown_key_expectation(dotted: str, known: Iterable[str] = ()) -> str:
    """What to say about a key the config does not know; a secret's says where it belongs.

    ``known`` holds the dotted keys that do exist: the closest of them is offered ("did you
    mean policy.due_soon_days?"), found by the mistyped key's own name, so a key typed into
    the wrong table (``[mail] host``) is pointed to the right one (``smtp.host``).
    """
    name = dotted.rsplit(".", 1)[-1].lower()
    if dotted in SECRET_KEYS or any(word in name for word in _SECRET_WORDS):
        instead = SECRET_KEYS.get(dotted, "an environment variable (e.g. $MONITOR_SMTP_PASSWORD)")
        return f"no secret in the config file: remove it and set {instead} instead"
    guess = closest_key(dotted, known)
    hint = f" (did you mean {guess}?)" if guess else ""
    return f"a known key{hint}; `visit-monitor config example` prints every key with its default"


def closest_key(dotted: str, known: Iterable[str]) -> str | None:
    """The known key most like ``dotted``: same table first, then the same name anywhere."""
    keys = list(known)
    lowered = {k.lower(): k for k in keys}
    if dotted.lower() in lowered:  # a case slip: Policy.Due_Soon_Days
        return lowered[dotted.lower()]
    table, _, name = dotted.lower().rpartition(".")
    siblings = {k.lower().rpartition(".")[2]: k for k in keys if k.lower().rpartition(".")[0] == table}
    close = difflib.get_close_matches(name, list(siblings), n=1, cutoff=0.75)
    if close:
        return siblings[close[0]]
    elsewhere = [k for k in keys if k.lower().rpartition(".")[2] == name]
    if len(elsewhere) == 1:
        return elsewhere[0]
    close = difflib.get_close_matches(dotted.lower(), list(lowered), n=1, cutoff=0.8)
    return lowered[close[0]] if close else None


def one_line_problem(value: str, what: str) -> str | None:
    return None if HEADER_SAFE.match(value) else f"{what} on one line"


def marking_problem(marking: str) -> str | None:
    if not marking.strip() or not HEADER_SAFE.match(marking):
        return "a protective marking on one line, e.g. OFFICIAL-SENSITIVE"
    return None


def domains_problem(domains: object) -> str | None:
    """A non-empty list of domain names: an empty allow-list would silently mail no one."""
    if (
        not isinstance(domains, list)
        or not domains
        or not all(isinstance(x, str) and DOMAIN.match(x.lower()) for x in domains)
    ):
        return 'a list of domain names (at least one: yours) such as ["police.example"]'
    return None


def duration_problem(duration: Duration, *, positive: bool) -> str | None:
    """Zero (where a repeat interval is meant) or longer than ten years."""
    if positive and duration.months == 0 and duration.days == 0:
        return "a duration longer than zero"
    too_long = "a duration of at most P10Y, such as P1M, P28D or P1Y"
    if duration.months > MAX_DURATION_MONTHS:
        return too_long
    try:
        if duration.after(_REFERENCE_DAY) > add_months(_REFERENCE_DAY, MAX_DURATION_MONTHS):
            return too_long
    except (ValueError, OverflowError):  # past the calendar's end
        return too_long
    return None


def whole_number_problem(value: object, minimum: int, maximum: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        return f"a whole number from {minimum} to {maximum}"
    return None


def seconds_problem(value: object, maximum: float) -> str | None:
    """A positive number of seconds (whole or decimal) up to ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"a number of seconds greater than zero and at most {maximum:g}"
    if not 0 < value <= maximum:
        return f"a number of seconds greater than zero and at most {maximum:g}"
    return None


def case_url_problem(url: str) -> str | None:
    """Only ``{ref}`` may be substituted; the result must be an http(s) URL with a host."""
    if not url:
        return None
    if not url.startswith(("https://", "http://")) or any(c.isspace() or ord(c) < 32 for c in url):
        return CASE_URL_EXPECTED
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(url) if name is not None]
        rendered = url.format(ref="RSO-000001")
    except (ValueError, KeyError, IndexError, AttributeError):
        return CASE_URL_EXPECTED
    if not fields or any(name != "ref" or spec or conv for name, spec, conv in fields):
        return CASE_URL_EXPECTED
    if not urlsplit(rendered).hostname:
        return CASE_URL_EXPECTED
    return None


def address_problem(value: str) -> str | None:
    """``local@domain`` or ``Name <local@domain>``, on one line."""
    expected = 'an email address such as "visit-monitor@monitor.police.example" (or "Name <address>"), on one line'
    if not HEADER_SAFE.match(value):
        return expected
    match = _NAME_AND_ADDRESS.match(value.strip())
    address = match.group("address").strip() if match else value.strip()
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL_PART.match(local) or not DOMAIN.match(domain.lower()):
        return expected
    return None


def host_problem(value: str, *, allow_empty: bool = False) -> str | None:
    if allow_empty and value == "":
        return None
    try:
        ipaddress.ip_address(value.strip("[]"))
        return None
    except ValueError:
        pass
    if _HOST.match(value):
        return None
    return 'a host name or IP address, such as "relay.police.example"' + (', or ""' if allow_empty else "")


def folder_problem(value: str, *, allow_empty: bool = False) -> str | None:
    """A usable folder path: not empty, no NUL, and not an existing non-folder."""
    if value == "" and allow_empty:
        return None
    expected = "a folder path" + (', or ""' if allow_empty else "")
    if not value.strip() or "\x00" in value:
        return expected
    path = Path(value)
    if path.exists() and not path.is_dir():
        return expected + " (something that is not a folder is in the way)"
    return None


def listen_problem(listen: str) -> str | None:
    host, _, port = listen.rpartition(":")
    if host.strip("[]") not in LOOPBACK:
        return '"127.0.0.1:PORT" (loopback only), or "" for off'
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        return 'a loopback address and a port from 0 to 65535 (0: any free port), e.g. "127.0.0.1:9465", or "" for off'
    return None


#: URL prefixes of a SQLite file as SQLAlchemy reads them (the default driver, pysqlite).
_SQLITE_FILE_PREFIXES = ("sqlite:///", "sqlite+pysqlite:///")


def sqlite_file_path(url: str) -> str | None:
    """The file a plain ``sqlite:///PATH`` URL names, or None for anything else.

    None also for what only SQLAlchemy reads right (an in-memory database, ``file:`` URIs,
    query options, escaped characters). SQLAlchemy takes such a path as given, so a URL
    this accepts is valid without loading SQLAlchemy, and ``register.sqlite_file`` can open
    the file itself.
    """
    for prefix in _SQLITE_FILE_PREFIXES:
        if url.startswith(prefix):
            path = url[len(prefix) :]
            if path and path != ":memory:" and not path.startswith("file:") and not any(c in path for c in "?%#"):
                return path
    return None


def database_url_problem(url: str) -> str | None:
    if sqlite_file_path(url) is not None:
        return None
    # SQLAlchemy loads only when another database URL is checked: `visit-monitor --help`
    # and a report on a SQLite file stay light.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return DATABASE_URL_EXPECTED
    if parsed.drivername not in SUPPORTED_DATABASES:
        return DATABASE_URL_EXPECTED
    if parsed.drivername.startswith("sqlite") and (parsed.host or parsed.port or parsed.username):
        # sqlite://var/monitor.db reads "var" as a host name, which SQLite has no use for.
        return SQLITE_URL_EXPECTED
    return None
