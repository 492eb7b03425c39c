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
from collections.abc import Callable, MutableMapping
from importlib import resources
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, Template, TemplateNotFound, pass_context
from jinja2.runtime import Context

from monitor.reports import case_rows
from monitor.reports.formats import (
    capacity_source_words,
    case_link,
    date_words,
    format_date,
    iso_date,
    of_words,
    overdue_words,
    plural,
    risk_label,
    share_words,
    tags_words,
)
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


class _Environment(Environment):
    """An environment that finds a template it has loaded in a plain dictionary.

    Why: a digest imports four partials into each of its three templates (``{% from ...
    import ... with context %}``, which Jinja runs on every render), so a national run looks
    templates up about 30,000 times, and Jinja's own lookup (a weak reference, a locked LRU
    cache and an up-to-date check each time) was a tenth of a message's fixed cost. The
    templates are the package's own files and never change while the process runs (the
    loader already says they are always up to date), so the first answer is kept. A lookup
    with extra ``globals`` goes the usual way.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._loaded: dict[str, Template] = {}

    def get_template(
        self, name: str | Template, parent: str | None = None, globals: MutableMapping[str, Any] | None = None
    ) -> Template:
        if globals is None and type(name) is str:
            found = self._loaded.get(name)
            if found is None:
                found = self._loaded[name] = super().get_template(name, parent)
            return found
        return super().get_template(name, parent, globals)


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
    env.filters["share"] = share_words
    env.filters["capacity_source"] = capacity_source_words
    env.globals["of_words"] = of_words
    env.globals["tags_words"] = tags_words
    env.globals["plural"] = plural
    env.filters["case_url"] = _case_url_filter
    env.globals["risk_labels"] = RISK_LABELS
    env.globals["css"] = css
    env.globals["risk_css"] = risk_css
    return env


def _rows(writers: dict[str, Callable[..., Any]], env: Environment) -> Environment:
    """The case-table row writers (``case_rows``) for this environment's kind of output."""
    env.globals.update(writers)
    return env


@functools.cache
def html_environment() -> Environment:
    """Autoescaping environment for anything that ends up as HTML."""
    return _rows(
        case_rows.HTML_ROWS,
        _configure(
            _Environment(
                loader=ResourceLoader(),
                autoescape=True,
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
            )
        ),
    )


@functools.cache
def text_environment() -> Environment:
    """Non-escaping environment for plain-text bodies and subject lines."""
    return _rows(
        case_rows.TEXT_ROWS,
        _configure(
            _Environment(
                loader=ResourceLoader(),
                autoescape=False,  # plain text, never served as HTML
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
            )
        ),
    )


def load_email_templates() -> None:
    """Compile every mail template (messages and partials) now.

    Why: a digest preview renders in worker processes forked after the scan, and each
    compiled its own copy of the same 27 templates (a third of a second of a CPU each, at
    every run). Compiled once before the fork, every worker shares them.
    """
    root = resources.files(TEMPLATE_PACKAGE)
    for folder in ("email", "partials"):
        for node in sorted(root.joinpath(folder).iterdir(), key=lambda n: n.name):
            if node.name.endswith(".html"):
                html_environment().get_template(f"{folder}/{node.name}")
            elif node.name.endswith(".txt"):
                text_environment().get_template(f"{folder}/{node.name}")


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
