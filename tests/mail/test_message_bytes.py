"""build_message's shortcuts write exactly the bytes the email package's own API writes.

Why: building a national run's 2,500 digests spent most of its time in the stdlib email
package (a header class created per lookup, every header parsed, quoted-printable in pure
Python). build_message now sets plain ASCII headers raw, sends bodies that fit 7bit
unencoded, and assembles the two 7bit parts itself. A message is what the relay, the
outbox and the disclosure log see, so the shortcut must not change a byte: this compares
it with the straightforward construction (set_content + add_alternative), boundaries aside.
"""

from __future__ import annotations

import dataclasses
import email.policy
import re
from collections.abc import Callable
from email.message import EmailMessage
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.config import Config
from monitor.mail import messages

DATE = "Sun, 29 Nov 2026 20:00:00 +0000"
HTML = (
    '<!DOCTYPE html>\n<html lang="en">\n<body style="margin: 0;">\n<table>\n'
    "<tr><td>RSO-000001</td>\n<td>x</td></tr>\n</table>\n</body>\n</html>\n"
)
TEXT = "OFFICIAL-SENSITIVE\n==================\nYour caseload: week 2026-W48\n  RSO-000001     Medium     12 overdue\n"


def reference(config: Config, to: str, subject: str, text: str, html: str) -> EmailMessage:
    """The message as the email package's documented API builds it."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = config.mail.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = DATE
    msg["Message-ID"] = "<fixed@police.example>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    msg[messages.MARKING_HEADER] = config.mail.marking
    msg.set_content(text, subtype="plain", charset="utf-8", cte=messages._plain_cte(text))
    msg.add_alternative(html, subtype="html", charset="utf-8", cte=messages._plain_cte(html))
    return msg


def unbounded(data: bytes) -> bytes:
    return re.sub(rb"=+\d+==", b"BOUNDARY", data)


@pytest.mark.parametrize(
    ("subject", "text", "html"),
    [
        pytest.param("[OFFICIAL-SENSITIVE] Your caseload: week 2026-W48", TEXT, HTML, id="digest-shaped"),
        pytest.param("[OFFICIAL-SENSITIVE] " + "long subject words " * 8, TEXT, HTML, id="folded-subject"),
        pytest.param("Team Ünïcode backlog", TEXT, HTML, id="non-ascii-subject"),
        pytest.param("s", "name: Fakename, Zoë\n", HTML, id="non-ascii-text"),
        pytest.param("s", TEXT, "<p>" + "x" * 1200 + "</p>\n", id="line-over-998"),
        pytest.param("s", "vertical\x0btab and form\x0cfeed\n", HTML, id="ascii-line-breaks"),
        pytest.param("s", "no final newline", "<p>x</p>\r\n<p>y</p>", id="crlf-and-no-newline"),
        pytest.param("s", "", "", id="empty"),
    ],
)
def test_same_bytes_as_the_email_package(
    make_config: Callable[..., Config], subject: str, text: str, html: str
) -> None:
    config = make_config()
    to = "om-0001@police.example"
    with mock.patch("email.utils.format_datetime", return_value=DATE):
        built = messages.build_message(
            config, to_email=to, subject=subject, text=text, html=html, message_id="<fixed@police.example>"
        )
    expected = reference(config, to, subject, text, html)
    assert unbounded(built.as_bytes()) == unbounded(expected.as_bytes())
    # The faster serialiser writes the same bytes as the email package's own, boundary included
    # (directly, without the generator, when both bodies went unencoded).
    unencoded = messages._plain_cte(text) is not None and messages._plain_cte(html) is not None
    assert (getattr(built, messages._UNENCODED, None) is not None) is unencoded
    assert messages.message_bytes(built) == built.as_bytes()
    assert b"".join(messages.message_pieces(built)) == built.as_bytes()  # what a preview writes
    assert messages.message_bytes(built, email.policy.SMTP) == built.as_bytes(policy=email.policy.SMTP)
    assert messages.message_bytes(expected) == expected.as_bytes()
    smtp = email.policy.SMTP
    assert unbounded(built.as_bytes(policy=smtp)) == unbounded(expected.as_bytes(policy=smtp))
    parsed = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n").rstrip("\n") == text.replace("\r\n", "\n").rstrip("\n")


def test_the_boundary_is_never_a_line_of_the_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = iter(["===============1==", "===============1==", "===============2=="])
    monkeypatch.setattr(messages.BytesGenerator, "_make_boundary", classmethod(lambda cls, text=None: next(tokens)))
    assert messages._boundary("a\n--===============1==\n", "b") == "===============2=="


def test_digest_bodies_travel_unencoded() -> None:
    assert messages._plain_cte(HTML) == "7bit" and messages._plain_cte(TEXT) == "7bit"
    assert messages._plain_cte("é") is None and messages._plain_cte("x" * 999) is None


_ATOM = st.text(alphabet="abcXYZ019!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=8)
_LABEL = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True)
_BARE = st.builds(
    lambda local, labels: ".".join(local) + "@" + ".".join(labels),
    st.lists(_ATOM, min_size=1, max_size=3),
    st.lists(_LABEL, min_size=1, max_size=3),
)
_ANY_ADDRESS = _BARE | st.sampled_from(
    [
        "Visit Monitor <noreply@police.example>",
        '"Offender Manager, North" <om-1@police.example>',
        "Zoë Testname <zoe@police.example>",
        "om-1@police.example (night shift)",
        "a" * 70 + "@police.example",  # longer than a line allows: folded by the parser
        "",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sender=_ANY_ADDRESS, to=_ANY_ADDRESS)
def test_address_headers_as_the_parser_writes_them(make_config: Callable[..., Config], sender: str, to: str) -> None:
    """Bare addresses go in unparsed and others are parsed once per run (``_address_header``):
    the bytes are the email package's own, for any sender and recipient, the first time and
    when the parsed header is reused. (``make_config`` only builds a config: nothing to reset.)"""
    config = make_config()
    if sender:  # built directly: the sender's own checks are config's business, not this test's
        config = dataclasses.replace(config, mail=dataclasses.replace(config.mail, sender=sender))
    expected = reference(config, to, "s", TEXT, HTML)
    for _ in range(2):
        with mock.patch("email.utils.format_datetime", return_value=DATE):
            built = messages.build_message(
                config, to_email=to, subject="s", text=TEXT, html=HTML, message_id="<fixed@police.example>"
            )
        assert unbounded(messages.message_bytes(built)) == unbounded(expected.as_bytes())


_POLICIES = st.sampled_from(
    [messages._POLICY, email.policy.SMTP, email.policy.default, email.policy.HTTP, email.policy.compat32]
)
_HEADER_TEXT = st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=120) | st.sampled_from(
    ['text/plain; charset="utf-8"', "7bit", "1.0", "auto-generated", "OOF, AutoReply", "Zoë", "a\r\nBcc: x"]
)


@settings(max_examples=400, deadline=None)
@given(policy=_POLICIES, name=st.sampled_from(["Subject", "Content-Type", "X-Protective-Marking"]), value=_HEADER_TEXT)
def test_headers_fold_as_the_policy_folds_them(policy: email.policy.Policy, name: str, value: str) -> None:
    """``_fold``'s shortcut for short one-line ASCII values is the policy's own answer
    (and where the policy refuses a value, so does ``_fold``, with the same error)."""
    assert outcome(messages._fold, policy, name, value) == outcome(policy.fold_binary, name, value)


def outcome(fold: Callable[..., bytes], *args: object) -> object:
    try:
        return fold(*args)
    except Exception as exc:  # the error itself is what is compared
        return type(exc), str(exc)


@settings(max_examples=200, deadline=None)
@given(policy=_POLICIES, digits=st.integers(0, 10**19 - 1))
def test_multipart_content_type_folds_as_the_policy_folds_it(policy: email.policy.Policy, digits: int) -> None:
    """Folded once with a stand-in boundary, the real one put in: the policy's own bytes."""
    value = f'multipart/alternative; boundary="{"=" * 15}{digits:019d}=="'
    assert messages._fold(policy, "Content-Type", value) == policy.fold_binary("Content-Type", value)


@pytest.mark.parametrize("policy", [messages._POLICY, email.policy.SMTP, email.policy.default])
@pytest.mark.parametrize("name", ["Subject", "X-Protective-Marking"])
def test_headers_at_the_line_limit_fold_as_the_policy_folds_them(policy: email.policy.Policy, name: str) -> None:
    """Words up to, at and past the policy's line length: written as they are, then folded."""
    for length in range(60, 90):
        value = ("word " * 20)[: length - len(name) - 2].rstrip() + "x"
        assert messages._fold(policy, name, value) == policy.fold_binary(name, value), length
