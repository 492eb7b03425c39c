"""Message building, header-injection refusal, the recipient allow-list and the Jinja set-up."""

from __future__ import annotations

import email
import email.policy
import email.utils
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from freezegun import freeze_time

from monitor.mail.messages import MARKING_HEADER, build_message, check_header_value, sender_domain
from monitor.mail.recipients import address_problem, recipient_problem
from monitor.reports import formats, render

INJECTION = "T1\r\nBcc: x@evil.example"


def officer(**overrides: Any) -> Any:
    values = {
        "officer_id": "OM1",
        "name": "Officer Testname",
        "email": "om1@police.example",
        "team": "T1",
        "role": "offender_manager",
        "active": True,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize("value", [INJECTION, "a\nb", "a\rb", "ref\r\n", "nul\x00byte"])
def test_check_header_value_rejects_line_breaks(value: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        check_header_value(value)


def test_check_header_value_passes_plain_text_unchanged() -> None:
    assert check_header_value("[OFFICIAL-SENSITIVE] Team T1 <b> & co") == "[OFFICIAL-SENSITIVE] Team T1 <b> & co"


@pytest.mark.parametrize("field", ["subject", "to_email"])
def test_build_message_refuses_injection_in_any_header(make_config: Any, field: str) -> None:
    config = make_config()
    args = {"to_email": "om1@police.example", "subject": "Hello", "text": "t", "html": "<p>h</p>"}
    args[field] = INJECTION if field == "subject" else "om1@police.example\r\nBcc: x@evil.example"
    with pytest.raises(ValueError):
        build_message(config, **args)


@freeze_time("2026-11-26 07:00:05")
def test_build_message_structure_and_headers(make_config: Any) -> None:
    config = make_config(mail={"marking": "OFFICIAL-SENSITIVE", "from": "visit-monitor@monitor.police.example"})
    msg = build_message(
        config,
        to_email="om1@police.example",
        subject="[OFFICIAL-SENSITIVE] Your visits",
        text="plain body £\n",
        html="<p>html body</p>",
    )
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert "plain body £" in parts[0].get_content()
    assert parsed["From"] == "visit-monitor@monitor.police.example"
    assert parsed.get_all("To") == ["om1@police.example"]
    assert parsed["Cc"] is None and parsed["Bcc"] is None
    assert parsed["Subject"] == "[OFFICIAL-SENSITIVE] Your visits"
    assert parsed["Message-ID"].endswith("@monitor.police.example>")
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert parsed[MARKING_HEADER] == "OFFICIAL-SENSITIVE"
    assert email.utils.parsedate_to_datetime(parsed["Date"]) == datetime(2026, 11, 26, 7, 0, 5, tzinfo=UTC)
    # SMTP policy: CRLF line endings on the wire.
    assert b"\r\n" in msg.as_bytes() and b"\n\n" not in msg.as_bytes().replace(b"\r\n", b"")


def test_message_id_is_fixed_at_build_time(make_config: Any) -> None:
    config = make_config()
    given = build_message(config, to_email="a@police.example", subject="s", text="t", html="h", message_id="<x@y>")
    assert given["Message-ID"] == "<x@y>"
    minted = build_message(config, to_email="a@police.example", subject="s", text="t", html="h")
    first = email.message_from_bytes(minted.as_bytes())["Message-ID"]
    again = email.message_from_bytes(minted.as_bytes())["Message-ID"]
    assert first == again  # serialising (a retry) never mints a new id
    other = build_message(config, to_email="a@police.example", subject="s", text="t", html="h")
    assert other["Message-ID"] != first


def test_sender_domain() -> None:
    assert sender_domain("visit-monitor@monitor.police.example") == "monitor.police.example"
    assert sender_domain("Visit Monitor <vm@police.example>") == "police.example"


# --------------------------------------------------------------------------- allow-list


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("om1@police.example", True),
        ("OM1@Police.Example", True),
        ("om1@mosovo.police.example", True),
        ("om1@a.b.police.example", True),
        ("first.last+tag@police.example", True),
        ("om1@evilpolice.example", False),
        ("om1@police.example.evil.example", False),
        ("om1@police.examplex", False),
        ("om1@example", False),
        ("Officer <om1@police.example>", False),
        ('"Officer" om1@police.example', False),
        ("om1@police.example, x@evil.example", False),
        ("om1@evil.example@police.example", False),
        ("om1@police.example\r\nBcc: x@evil.example", False),
        ("om1@police.example\n", False),
        (" om1@police.example", False),
        ("om1 @police.example", False),
        ("@police.example", False),
        ("om1@", False),
        ("om1@.police.example", False),
        ("", False),
        (None, False),
    ],
)
def test_address_allow_list(address: str | None, allowed: bool) -> None:
    problem = address_problem(address, ("police.example",))
    assert (problem is None) is allowed, problem


def test_domain_not_allowed_names_the_domain() -> None:
    assert address_problem("om1@evilpolice.example", ("police.example",)) == "domain not allowed (evilpolice.example)"


def test_allowed_domains_are_case_insensitive_both_ways() -> None:
    assert address_problem("om1@POLICE.example", ("Police.Example",)) is None


def test_recipient_problem_checks_directory_active_role_and_domain(make_config: Any) -> None:
    config = make_config(mail={"allowed_domains": ["police.example"]})
    assert recipient_problem(officer(), "offender_manager", config) is None  # type: ignore[arg-type]
    assert recipient_problem(None, "offender_manager", config) == "not in the officer directory"
    assert recipient_problem(officer(active=False), "offender_manager", config) == "inactive"  # type: ignore[arg-type]
    assert (
        recipient_problem(officer(role="supervisor"), "offender_manager", config)  # type: ignore[arg-type]
        == "role is supervisor not offender_manager"
    )
    bad = recipient_problem(officer(email="om1@evilpolice.example"), "offender_manager", config)  # type: ignore[arg-type]
    assert bad is not None and bad.startswith("domain not allowed")
    dn = recipient_problem(officer(email="Boss <om1@police.example>"), "offender_manager", config)  # type: ignore[arg-type]
    assert dn is not None and "plain address" in dn


# --------------------------------------------------------------------------- Jinja


def test_html_environment_escapes_every_template_whatever_its_name() -> None:
    env = render.html_environment()
    assert env.from_string("{{ x }}").render(x="<script>") == "&lt;script&gt;"
    # A .txt template loaded through the HTML environment is escaped too.
    assert env.autoescape is True


def test_text_environment_does_not_escape() -> None:
    assert render.text_environment().from_string("{{ x }}").render(x="<b> & co") == "<b> & co"


def test_strict_undefined_fails_loudly() -> None:
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        render.html_environment().from_string("{{ missing }}").render()


def test_case_link_percent_encodes_the_ref() -> None:
    assert formats.case_link("https://cases.police.example/case/{ref}", "A/1 <x>") == (
        "https://cases.police.example/case/A%2F1%20%3Cx%3E"
    )
    assert formats.case_link("", "A1") is None


def test_template_loader_refuses_paths_outside_the_package() -> None:
    from jinja2 import TemplateNotFound

    with pytest.raises(TemplateNotFound):
        render.html_environment().get_template("../monitor/core/config.py")


def test_inline_css_moves_styles_and_drops_style_block() -> None:
    html = render.inline_css("<html><head><style>.a{color:red}</style></head><body><p class='a'>x</p></body></html>")
    assert "<style" not in html
    assert 'style="color: red;"' in html


def test_filters() -> None:
    assert formats.overdue_words(1) == "1 day overdue"
    assert formats.overdue_words(12) == "12 days overdue"
    assert formats.overdue_words(0) == "due today"
    assert formats.overdue_words(-1) == "due in 1 day"
    assert formats.risk_label("very_high") == "Very high"
    assert formats.format_date(None) == "never"
