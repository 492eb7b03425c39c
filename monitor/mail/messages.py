"""Building the email itself: one recipient, text and HTML, marked and traceable.

The Message-ID is fixed when the message is built (not when it is sent) so that the
outbox row, every delivery attempt and the disclosure log all name the same message, and
a retry after an ambiguous relay reply is recognisably the same mail. Headers carry
``Auto-Submitted`` and ``X-Auto-Response-Suppress`` so out-of-office replies do not
flood the sender, and the protective marking appears as a header as well as in the
subject so mail gateways can act on it.

Nothing from data reaches a header unchecked: :func:`check_header_value` refuses CR and
LF, which is what header injection ("\\r\\nBcc: someone@elsewhere") needs.
"""

from __future__ import annotations

import email.policy
import email.utils
import functools
import io
import re
import sys
from email.generator import BytesGenerator
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

from monitor.core.clock import now_utc

if TYPE_CHECKING:
    from monitor.core.config import Config

MARKING_HEADER = "X-Protective-Marking"
#: Any line break, as the email package's generator splits bodies (email.generator.NLCRE).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BAD_HEADER_CHARS = re.compile(r"[\r\n\x00]")


class _CachedHeaderRegistry(HeaderRegistry):
    """The standard header registry, minus its cost: the stdlib builds a new header class
    with ``type()`` on every lookup, which was a third of building a digest message."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


#: email.policy.SMTP with the cached registry: the same headers, parsed the same way.
_POLICY = email.policy.SMTP.clone(header_factory=_CachedHeaderRegistry())
#: Headers with no structure to parse: plain ASCII values go in as they are (folded by
#: the generator if long); anything else goes through the registry.
_UNSTRUCTURED = ("Subject", "Date", "Message-ID", "Auto-Submitted", "X-Auto-Response-Suppress", MARKING_HEADER)


#: A bare address ("om-0001@police.example": a dot-atom, no display name, comment or
#: quoting) short enough never to be folded: the parser writes it back exactly as given.
_BARE_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_BARE_MAX = 64
#: Parsed address headers by (name, value): the sender is the same on every message of a run.
_PARSED: dict[tuple[str, str], Any] = {}
_PARSED_MAX = 1024


#: RFC 5322: no line longer than 998 characters (plus CRLF).
MAX_LINE = 998


def _plain_cte(body: str) -> str | None:
    """ "7bit" when ``body`` can go as it is (ASCII, no line over 998), else None (the email
    package then picks quoted-printable or base64). Encoding a national run's 100 MB of
    digests as quoted-printable, in pure Python, was the largest single cost of building them."""
    if body.isascii() and max(map(len, body.splitlines()), default=0) <= MAX_LINE:
        return "7bit"
    return None


def check_header_value(value: str) -> str:
    """Return ``value`` unchanged, or raise ValueError if it could break out of a header."""
    if not isinstance(value, str):
        raise ValueError(f"header value must be text, got {type(value).__name__}")
    if _BAD_HEADER_CHARS.search(value):
        raise ValueError("header value contains a line break or NUL (possible header injection)")
    return value


def addressing_problem(content: bytes, to: str) -> str | None:
    """Why stored message bytes do not address exactly ``to`` (and nobody else), or None.

    Checked when a message is queued and again before it leaves (defence in depth): the
    recipient check reads the register, this reads what would actually be sent, and Graph
    delivers to the headers' recipients rather than an envelope.
    """
    headers = BytesHeaderParser().parsebytes(content)
    if headers.get_all("Cc") or headers.get_all("Bcc"):
        return "stored message has Cc/Bcc recipients"
    found = [addr.lower() for _n, addr in getaddresses([str(v) for v in headers.get_all("To") or []]) if addr]
    if found != [to.lower()]:
        return "stored message is not addressed to exactly the queued recipient (its To header)"
    return None


@functools.lru_cache(maxsize=64)
def sender_domain(sender: str) -> str:
    """The domain of the configured sender address, for Message-IDs (parsed once per sender:
    every message of a run asks)."""
    _, addr = email.utils.parseaddr(sender)
    domain = (addr or sender).rpartition("@")[2].strip().strip(">")
    return domain or "localhost"


def new_message_id(config: Config) -> str:
    return email.utils.make_msgid(domain=sender_domain(config.mail.sender))


def build_message(
    config: Config,
    *,
    to_email: str,
    subject: str,
    text: str,
    html: str,
    message_id: str | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text first, then HTML) to exactly one address.

    No Cc, no Bcc, ever: a digest goes to one named officer from the directory.
    """
    msg = EmailMessage(policy=_POLICY)
    headers = (
        ("From", check_header_value(config.mail.sender)),
        ("To", check_header_value(to_email)),
        ("Subject", check_header_value(subject)),
        ("Date", email.utils.format_datetime(now_utc())),
        ("Message-ID", check_header_value(message_id or new_message_id(config))),
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "OOF, AutoReply"),
        (MARKING_HEADER, check_header_value(config.mail.marking)),
    )
    for name, value in headers:
        if name in _UNSTRUCTURED and value.isascii():
            msg.set_raw(name, value)  # nothing to parse: the same bytes, without the parser's cost
        elif name in ("From", "To"):
            msg.set_raw(name, _address_header(name, value))
        else:
            msg[name] = value
    text_cte, html_cte = _plain_cte(text), _plain_cte(html)
    if text_cte and html_cte:
        _attach_unencoded(msg, text, html)
    else:
        msg.set_content(text, subtype="plain", charset="utf-8", cte=text_cte)
        msg.add_alternative(html, subtype="html", charset="utf-8", cte=html_cte)
    return msg


def _address_header(name: str, value: str) -> Any:
    """What ``msg[name] = value`` stores for an address header, without parsing it again.

    Parsing an address header was most of the cost of building a digest message. A bare
    address goes in as it is (the parser would write back the same bytes); any other value
    (a display name, non-ASCII) is parsed once per run and the parsed header reused: header
    objects are immutable, and folding one does not change it.
    """
    if len(value) <= _BARE_MAX and _BARE_ADDRESS.fullmatch(value):
        return value
    key = (name, value)
    parsed = _PARSED.get(key)
    if parsed is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        parsed = _PARSED[key] = _POLICY.header_store_parse(name, value)[1]
    return parsed


class _Generator(BytesGenerator):
    """The stdlib's BytesGenerator, writing a body's lines in one call instead of two per line.

    A national run's digests are a few million lines; the stdlib writes (and encodes) each
    line and each line break separately. Same bytes (tests/mail/test_message_bytes.py)."""

    def _write_lines(self, lines: str) -> None:
        if not lines:
            return
        # Without a CR, splitting at LF is the same split, and far quicker than the pattern.
        split = lines.split("\n") if "\r" not in lines else _LINE_BREAK.split(lines)
        if len(split) > 1:
            nl: str = self._NL  # type: ignore[attr-defined]
            self.write(nl.join(split[:-1]) + nl)
        if split[-1]:
            self.write(split[-1])


#: Set on a message whose two parts :func:`_attach_unencoded` built (plain ASCII lines): its boundary.
_UNENCODED = "_visit_monitor_unencoded"


def message_bytes(msg: Message, policy: email.policy.Policy | None = None) -> bytes:
    """``msg.as_bytes(policy=policy)``, faster (see :class:`_Generator`).

    A message of two unencoded parts (every digest that fits 7bit) is written directly:
    the headers folded by the policy exactly as the generator folds them, then the
    generator's multipart framing around each part's lines. Byte for byte the same
    (tests/mail/test_message_bytes.py); about a second of a national run otherwise.
    """
    return b"".join(message_pieces(msg, policy))


def message_pieces(msg: Message, policy: email.policy.Policy | None = None) -> list[bytes]:
    """:func:`message_bytes` in the pieces it is joined from, for writing to a file as they
    are: a national preview's 260 MB of .eml files are then never copied whole once more."""
    policy = policy or msg.policy
    boundary = getattr(msg, _UNENCODED, None)
    if boundary is not None and f'{_MULTIPART}{boundary}"' in (v for k, v in msg.raw_items() if k == "Content-Type"):
        nl = policy.linesep
        out = [_headers(msg, policy)]
        for n, part in enumerate(msg.get_payload()):
            out.append(f"{nl if n else ''}--{boundary}{nl}".encode("ascii"))
            out.append(_headers(part, policy))
            payload: str = part.get_payload()
            out.append((payload if nl == "\n" else payload.replace("\n", nl)).encode("ascii"))
        out.append(f"{nl}--{boundary}--{nl}".encode("ascii"))
        return out
    out_file = io.BytesIO()
    _Generator(out_file, mangle_from_=False, policy=policy).flatten(msg, unixfrom=False)
    return [out_file.getvalue()]


def _headers(msg: Message, policy: email.policy.Policy) -> bytes:
    """A message's headers and the blank line after them, as BytesGenerator writes them."""
    folded = b"".join(_fold(policy, name, value) for name, value in msg.raw_items())
    return folded + policy.linesep.encode("ascii")


#: What splitlines() splits an ASCII text at: a header value holding none is one line.
_ASCII_BREAKS = re.compile(r"[\n\r\x0b\x0c\x1c-\x1e]")
#: A boundary as BytesGenerator._make_boundary makes them: 15 "=", 19 digits, "==".
_BOUNDARY_SHAPE = re.compile(r"={15}[0-9]{19}==")
_STAND_IN = "=" * 15 + "0" * 19 + "=="


def _fold(policy: email.policy.Policy, name: str, value: Any) -> bytes:
    """``policy.fold_binary(name, value)``, without its parser where the answer is known.

    A short one-line ASCII value is written as it is: what ``EmailPolicy._fold`` returns
    when nothing needs refolding. A digest's multipart Content-Type (too long for one
    line) folds the same way whatever its boundary's digits, so it is folded once per
    policy with a stand-in boundary and the real one put in its place.
    tests/mail/test_message_bytes.py holds both to the policy's own answer.
    """
    if type(value) is str and getattr(policy, "refold_source", None) == "long" and value.isascii():
        maxlen = policy.max_line_length or sys.maxsize
        if len(name) + 2 + len(value) <= maxlen and not _ASCII_BREAKS.search(value):
            return f"{name}: {value}{policy.linesep}".encode("ascii")
        if name == "Content-Type" and value.startswith(_MULTIPART):
            boundary = value[len(_MULTIPART) : -1]
            folded = _folded_multipart(policy)
            if folded is not None and value.endswith('"') and _BOUNDARY_SHAPE.fullmatch(boundary):
                return folded[0] + boundary.encode("ascii") + folded[1]
    return policy.fold_binary(name, value)


_MULTIPART = 'multipart/alternative; boundary="'


@functools.lru_cache(maxsize=8)
def _folded_multipart(policy: email.policy.Policy) -> tuple[bytes, bytes] | None:
    """The policy's folded multipart Content-Type, split where the boundary goes (None if
    the policy folds inside the boundary itself: then there is nothing to reuse)."""
    folded = policy.fold_binary("Content-Type", f'{_MULTIPART}{_STAND_IN}"')
    head, found, tail = folded.partition(_STAND_IN.encode("ascii"))
    return (head, tail) if found else None


def _boundary(*bodies: str) -> str:
    """A boundary as the email package makes one, checked against the bodies with a plain
    substring search: its own check compiles and runs a regular expression per message."""
    while True:
        boundary = BytesGenerator._make_boundary()  # type: ignore[attr-defined]
        if not any(f"--{boundary}" in body for body in bodies):
            return str(boundary)


def _attach_unencoded(msg: EmailMessage, text: str, html: str) -> None:
    """Exactly what ``set_content`` + ``add_alternative`` build for two 7bit bodies (the same
    headers in the same order, byte for byte: tests/mail/test_messages.py), without the email
    package parsing each header it writes: half the cost of a digest message otherwise."""
    boundary = _boundary(text, html)
    msg.set_raw("MIME-Version", "1.0")
    # What set_boundary stores, set without parsing the header it has just been given.
    msg.set_raw("Content-Type", f'multipart/alternative; boundary="{boundary}"')
    parts: list[Any] = []
    for subtype, body in (("plain", text), ("html", html)):
        part = EmailMessage(policy=msg.policy)
        part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
        part.set_raw("Content-Transfer-Encoding", "7bit")
        if subtype == "html":
            part.set_raw("MIME-Version", "1.0")  # add_alternative's part gets one too
        if "\r" in body:  # the generator's line breaks: CRLF and a lone CR become LF
            body = b"\n".join(body.encode("ascii").splitlines()).decode("ascii") + "\n"
        elif not body.endswith("\n"):  # (without a CR, that is only a final line break added)
            body += "\n"
        part.set_payload(body)
        parts.append(part)
    msg.set_payload(parts)
    setattr(msg, _UNENCODED, boundary)
