"""Rendering digests: one context to a subject, a plain-text body and email-safe HTML.

Rendering only: nothing here touches the database or the network, so a preview shows the
very body that would be queued, and delivery (``monitor.mail``) never re-renders. The
Jinja2 set-up (escaping, StrictUndefined, inline styles written into the templates as they
load) is shared with the reports in ``monitor.reports.render``; the templates are
``templates/email/<kind>*``. Compiled templates are cached by Jinja2 for the process, so
each kind is compiled once per run however many messages it renders.

When ``[web] base_url`` is set, each digest names the web page that shows the same
scope (:func:`web_link`), so a reader can go from Monday's email to the live figures,
filters and exports without finding the page by hand. The link carries only the officer
id or team code the digest is already about, each path segment percent-encoded (team
codes come from the extract and may hold ``/``, ``%`` or spaces). When a guide address is
known (``[docs]``), the footer links to the guide for the digest's reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from monitor.core.docs_settings import DIGEST_READERS
from monitor.digests.contexts import DigestContext, ForceDigest, OfficerDigest
from monitor.mail.messages import build_message, new_message_id
from monitor.reports import render
from monitor.rules.obligations import AGE_BANDS, RISK_ORDER

if TYPE_CHECKING:
    from monitor.core.config import Config

RISKS: tuple[str, ...] = tuple(sorted(RISK_ORDER, key=RISK_ORDER.__getitem__))


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def template_names(context: DigestContext) -> tuple[str, str, str]:
    """(subject, text, html) template names; all-clear messages share one set per kind."""
    base = f"email/{context.kind}"
    if context.all_clear:
        base = "email/all_clear"
    return f"{base}_subject.txt", f"{base}.txt", f"{base}.html"


def web_link(context: DigestContext, base_url: str) -> str | None:
    """The web page matching ``context`` under ``base_url``, or None when no base URL is set.

    Officer digest: ``/officers/<officer id>``; team and escalation: ``/teams/<team code>``;
    force: ``/force``. Segments are quoted with nothing safe, so ``NORTH/1`` stays one segment.
    """
    if not base_url:
        return None
    if isinstance(context, ForceDigest):
        path = "/force"
    elif isinstance(context, OfficerDigest):
        path = f"/officers/{quote(context.recipient.officer_id, safe='')}"
    else:
        path = f"/teams/{quote(context.team, safe='')}"
    return base_url.rstrip("/") + path


def render_digest(context: DigestContext, config: Config) -> Rendered:
    """Subject, plain text and email-safe HTML (styles inline, nothing remote) for one context."""
    variables: dict[str, Any] = {
        "d": context,
        "marking": config.mail.marking,
        "case_url": config.mail.case_url,
        "web_url": web_link(context, config.web.base_url),
        "guide_url": config.guide_url(DIGEST_READERS[context.kind]),
        "include_names": config.policy.include_names,
        "risks": RISKS,
        "age_bands": AGE_BANDS,
    }
    subject_name, text_name, html_name = template_names(context)
    return Rendered(
        subject=render.render_subject(subject_name, **variables),
        text=render.render_text(text_name, **variables),
        # ASCII only (anything else as a character reference): with its short lines (one
        # table cell per line) the HTML part then needs no transfer encoding at all.
        html=_ascii(render.render_html(html_name, **variables)),
    )


def _ascii(html: str) -> str:
    """``html`` with anything not ASCII as a character reference (copied only when there is any)."""
    return html if html.isascii() else html.encode("ascii", "xmlcharrefreplace").decode("ascii")


def build_digest_message(context: DigestContext, config: Config) -> tuple[EmailMessage, Rendered]:
    rendered = render_digest(context, config)
    message = build_message(
        config,
        to_email=context.recipient.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=new_message_id(config),
    )
    return message, rendered
