"""The one Jinja2 set-up shared by digests and reports.

Two environments over the same templates (``templates/`` in the source tree, shipped as
the ``monitor.templates`` package): the HTML one escapes *every* template whatever its
file extension, because case references, team codes and (when a force turns them on)
names come from an extract we do not control; the text one escapes nothing, because a
plain-text body or a subject line is not markup and ``&amp;`` there would be a bug.
Both use StrictUndefined so a misspelt variable fails a test instead of silently
rendering an empty cell in a message that goes to a police officer.

HTML mail carries its styles inline (mail clients drop ``<style>``): the templates name a
role as ``{{ css.NAME }}`` and the loader writes the style text from
:mod:`monitor.reports.mailstyle` in place as it loads them, so a national run of thousands
of messages pays nothing per message for styling. Nothing in a digest may reach out to
the network: no remote stylesheets, images or scripts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound, pass_context
from jinja2.runtime import Context

from monitor.reports.mailstyle import STYLES, css, risk_css
from monitor.rules.obligations import RISK_LABELS

TEMPLATE_PACKAGE = "monitor.templates"
#: ``{{ css.NAME }}`` in a template's source: replaced by the style text when it is loaded.
_STYLE_REF = re.compile(r"\{\{ css\.(\w+) \}\}")


def _inline_styles(source: str) -> str:
    return _STYLE_REF.sub(lambda m: STYLES[m.group(1)], source)


class ResourceLoader(BaseLoader):
    """Load templates with importlib.resources, so an installed wheel works like the tree."""

    def __init__(self, package: str = TEMPLATE_PACKAGE) -> None:
        self.package = package

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        parts = [p for p in template.replace("\\", "/").split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise TemplateNotFound(template)
        node = resources.files(self.package)
        for part in parts:
            node = node.joinpath(part)
        if not node.is_file():
            raise TemplateNotFound(template)
        return _inline_styles(node.read_text(encoding="utf-8")), None, lambda: True


UK_DATE = "%d %b %Y"
#: ``format_date`` of plain dates in the default format: a national digest run formats a
#: few hundred thousand dates, drawn from a few thousand distinct days.
_UK_DATES: dict[date, str] = {}


def format_date(value: date | datetime | None, fmt: str = UK_DATE) -> str:
    """UK-style date for people ("03 Nov 2026"); "never" for a missing date."""
    if value is None:
        return "never"
    if fmt != UK_DATE or type(value) is not date:
        return value.strftime(fmt)
    text = _UK_DATES.get(value)
    if text is None:
        if len(_UK_DATES) > 100_000:
            _UK_DATES.clear()
        text = _UK_DATES[value] = value.strftime(fmt)
    return text


def date_words(d: date | None, none: str = "Never") -> str:
    """Report-table date without a leading zero ("3 Nov 2026"); ``none`` for a missing date."""
    return d.strftime("%d %b %Y").lstrip("0") if d else none


def iso_date(value: date | datetime | None) -> str:
    return "never" if value is None else value.isoformat()[:10]


def risk_label(value: str) -> str:
    """ "very_high" -> "Very high" (words, never colour alone)."""
    return RISK_LABELS.get(value, value)


def overdue_words(days: int) -> str:
    """How overdue, in words: "12 days overdue", "due today", "due in 3 days"."""
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} overdue"
    if days == 0:
        return "due today"
    return f"due in {-days} day{'s' if days != -1 else ''}"


def plural(count: int, singular: str, many: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def case_link(template: str, ref: str) -> str | None:
    """The case-system URL for ``ref`` (percent-encoded), or None when no link is configured."""
    if not template:
        return None
    return template.format(ref=quote(ref, safe=""))


@pass_context
def _case_url_filter(ctx: Context, ref: str) -> str | None:
    template = ctx.get("case_url", "")
    return case_link(template if isinstance(template, str) else "", ref)


def _configure(env: Environment) -> Environment:
    env.filters["ukdate"] = format_date
    env.filters["isodate"] = iso_date
    env.filters["risk"] = risk_label
    env.filters["overdue"] = overdue_words
    env.filters["plural"] = plural
    env.filters["date_words"] = date_words
    env.globals["plural"] = plural
    env.filters["case_url"] = _case_url_filter
    env.globals["risk_labels"] = RISK_LABELS
    env.globals["css"] = css
    env.globals["risk_css"] = risk_css
    return env


@functools.cache
def html_environment() -> Environment:
    """Autoescaping environment for anything that ends up as HTML."""
    return _configure(
        Environment(
            loader=ResourceLoader(),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    )


@functools.cache
def text_environment() -> Environment:
    """Non-escaping environment for plain-text bodies and subject lines."""
    return _configure(
        Environment(
            loader=ResourceLoader(),
            autoescape=False,  # noqa: S701 - plain text, never served as HTML
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
    )


def render_html(name: str, **context: Any) -> str:
    return html_environment().get_template(name).render(**context)


def render_text(name: str, **context: Any) -> str:
    """Plain text with trailing spaces removed (padded table columns leave them)."""
    text = text_environment().get_template(name).render(**context)
    return "\n".join(line.rstrip(" ") for line in text.split("\n"))


def render_subject(name: str, **context: Any) -> str:
    """A subject line. Only the template's own trailing newline is removed: CR/LF that came
    from data stays in, so :func:`monitor.mail.messages.check_header_value` refuses it."""
    text = render_text(name, **context)
    return text[:-1] if text.endswith("\n") and not text.endswith("\r\n") else text


def inline_css(html: str) -> str:
    """Move CSS into style attributes for mail clients; never fetch anything remote."""
    import css_inline

    inliner = css_inline.CSSInliner(
        inline_style_tags=True,
        keep_style_tags=False,
        keep_link_tags=False,
        load_remote_stylesheets=False,
    )
    return str(inliner.inline(html))
