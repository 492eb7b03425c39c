"""The rows of the case tables in digests, written in Python instead of Jinja loops.

Why: the rows are nearly all of a digest. A national weekly run renders about 750,000 of
them (officer, team and force digests, each as text and HTML), and Jinja spent most of a
run looking up attributes and filters for each cell. The partials
(``templates/partials/email_case_table.*``) still own each table's frame, headings and
"None." text and call these functions for the rows, which produce exactly what the loops
they replace produced (same cells, styles, escaping, line breaks; checked byte for byte
against the old templates on national previews and by the digest tests).

HTML values from data (references, officers, teams, names, links, risk labels) are
escaped exactly as Jinja's autoescape (markupsafe) escapes them; values this code makes
itself from numbers and dates ("12 days overdue", "03 Nov 2026") hold no character that
escaping changes, so they are not put through it. Styles are the constant ``mailstyle``
texts. Text rows are padded as the ``"%-14s ..."|format`` lines
were (``{:<14}`` is ``%-14s`` for text); ``render_text`` strips trailing spaces afterwards as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from monitor.core.memo import Memo
from monitor.reports.formats import (
    UK_DATES,
    case_link,
    format_date,
    interval_words,
    mappa_words,
    overdue_words,
    plural,
    risk_label,
    tags_words,
)
from monitor.reports.mailstyle import STYLES, risk_css

_TD = STYLES["td"]
_TD_REF = STYLES["td_ref"]
_SUB = STYLES["sub"]
_LINK = STYLES["link"]
_LATE = STYLES["late"]
_SOON = STYLES["soon"]
_WARRANT = STYLES["warrant"]
_PERSONAL = STYLES["personal"]
#: markupsafe's escapes (it writes &#34; and &#39; for quotes), as a translation table.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def escape(value: object) -> str:
    """``markupsafe.escape(value)`` as text, without making a Markup object per cell."""
    return str(value).translate(_ESCAPES)


_ESCAPED = Memo(escape)  # officer ids and team codes under a reference
#: A risk cell without personal data, by risk level (an unknown level fails as risk_css does).
_RISK_CELL: Memo[str, str] = Memo(lambda risk: f'<td style="{risk_css[risk]}">{escape(risk_label(risk))}</td>\n')
_RISK_CELL_INLINE: Memo[str, str] = Memo(lambda risk: _RISK_CELL[risk][:-1])
_OVERDUE = Memo(overdue_words)
_DATE = UK_DATES  # format_date, read directly
#: The same, padded as the text tables pad them.
_RISK_TEXT: Memo[str, str] = Memo(lambda risk: f"{risk_label(risk):<10}")
_OVERDUE_TEXT: Memo[int, str] = Memo(lambda days: f"{overdue_words(days):<18}")
_DATE_TEXT: Memo[date | None, str] = Memo(lambda day: f"{format_date(day):<12}")
#: The practice measures' details of a case line (None without them: nothing), by its tags.
_MAPPA_HTML: Memo[Any, str] = Memo(
    lambda tags: f'<br><span style="{_SUB}">{w}</span>' if (w := mappa_words(tags)) else ""
)
_INTERVAL_HTML: Memo[Any, str] = Memo(
    lambda tags: f'<br><span style="{_SUB}">{w}</span>' if (w := interval_words(tags)) else ""
)
_TAGS_TEXT: Memo[Any, str] = Memo(lambda tags: f"  [{w}]" if (w := tags_words(tags)) else "")
#: A risk cell with the case's MAPPA under it, by (risk level, tags).
_RISK_TAGS_CELL: Memo[tuple[str, Any], str] = Memo(
    lambda k: f'<td style="{risk_css[k[0]]}">{escape(risk_label(k[0]))}{_MAPPA_HTML[k[1]]}</td>\n'
)


class _Row:
    """What every row needs from the template's context, read once per table."""

    def __init__(self, ctx: Context) -> None:
        template = ctx.get("case_url", "")
        self.case_url = template if isinstance(template, str) else ""
        self.names = bool(ctx.get("include_names"))
        d = ctx.get("d")
        self.flag = getattr(d, "failed_attempts_flag", 2)
        #: Rows need nothing but the entry's own cells (no link, no names): the quick path.
        self.plain = not self.case_url and not self.names

    def first_cells(self, entry: Any, sub: str | None) -> str:
        """The row's start: the reference cell (with ``sub`` under it unless None) and the risk cell
        (with the case's MAPPA level under it when the practice measures are on)."""
        sub_html = f'<br><span style="{_SUB}">{_ESCAPED[sub]}</span>' if sub is not None else ""
        if self.plain:
            tags = entry.tags
            risk = _RISK_CELL[entry.risk_level] if tags is None else _RISK_TAGS_CELL[entry.risk_level, tags]
            return f'<tr><td style="{_TD_REF}">{escape(entry.ref)}{sub_html}</td>\n{risk}'
        return f'<tr><td style="{_TD_REF}">{self.ref_html(entry.ref)}{sub_html}</td>\n{self.risk_html(entry)}'

    def ref_html(self, ref: str) -> str:
        url = case_link(self.case_url, ref)
        if url:
            return f'<a href="{escape(url)}" style="{_LINK}">{escape(ref)}</a>'
        return escape(ref)

    def risk_html(self, entry: Any) -> str:
        p = entry.personal
        tags = entry.tags
        if not self.names or p is None:
            return _RISK_CELL[entry.risk_level] if tags is None else _RISK_TAGS_CELL[entry.risk_level, tags]
        mappa = _MAPPA_HTML[tags]
        return (
            f'<td style="{risk_css[entry.risk_level]}">{escape(risk_label(entry.risk_level))}{mappa}'
            f'<br><span style="{_PERSONAL}">{escape(p.surname or "")}, {escape(p.forenames or "")}; '
            f"born {format_date(p.date_of_birth)}</span></td>\n"
        )

    def text_tail(self, entry: Any) -> str:
        out = ""
        p = entry.personal
        if self.names and p is not None:
            out += f"      name: {p.surname or ''}, {p.forenames or ''}; born {format_date(p.date_of_birth)}\n"
        url = case_link(self.case_url, entry.ref)
        if url:
            out += f"      link: {url}\n"
        return out


@pass_context
def visit_rows_html(ctx: Context, items: Iterable[Any], show_officer: bool = False, show_team: bool = False) -> Markup:
    row = _Row(ctx)
    flag = row.flag
    out = []
    for i in items:
        # Here (as in the old loop) an empty officer or team shows nothing under the ref.
        sub = (i.offender_manager if show_officer else (i.team if show_team else None)) or None
        days = i.days_overdue
        failed = i.failed_attempts
        failed_html = f'<span style="{_WARRANT}">{failed} (warrant)</span>' if failed >= flag else str(failed)
        interval = "" if i.tags is None else _INTERVAL_HTML[i.tags]
        out.append(
            f"{row.first_cells(i, sub)}"
            f'<td style="{_TD}"><span style="{_LATE if days > 0 else _SOON}">{_OVERDUE[days]}</span><br>'
            f'<span style="{_SUB}">due {_DATE[i.due_date]}</span>{interval}</td>\n'
            f'<td style="{_TD}">{_DATE[i.last_done]}</td>\n'
            f'<td style="{_TD}">{failed_html}</td></tr>\n'
        )
    return Markup("".join(out))  # noqa: S704 - every value above is escaped


@pass_context
def item_rows_html(ctx: Context, items: Iterable[Any], show_officer: bool = False) -> Markup:
    row = _Row(ctx)
    out = []
    for i in items:
        weekly = (
            f'<br><span style="{_SUB}">no fixed abode: weekly</span>'
            if i.kind == "notification" and i.no_fixed_abode
            else ""
        )
        out.append(
            f"{row.first_cells(i, i.offender_manager if show_officer else None)}"
            f'<td style="{_TD}"><span style="{_LATE}">{_OVERDUE[i.days_overdue]}</span><br>'
            f'<span style="{_SUB}">due {_DATE[i.due_date]}</span>{weekly}</td>\n'
            f'<td style="{_TD}">{_DATE[i.last_done]}</td></tr>\n'
        )
    return Markup("".join(out))  # noqa: S704 - every value above is escaped


@pass_context
def unlocated_rows_html(ctx: Context, items: Iterable[Any], show_officer: bool = False) -> Markup:
    row = _Row(ctx)
    out = []
    for u in items:
        out.append(
            f"{row.first_cells(u, u.offender_manager if show_officer else None)}"
            f'<td style="{_TD}"><span style="{_LATE}">missing {plural(u.days_missing, "day")}</span><br>'
            f'<span style="{_SUB}">since {_DATE[u.missing_since]}</span></td>\n'
            f'<td style="{_TD}">{_DATE[u.last_visit]}</td></tr>\n'
        )
    return Markup("".join(out))  # noqa: S704 - every value above is escaped


@pass_context
def visit_rows_text(ctx: Context, items: Iterable[Any], show_officer: bool = False, show_team: bool = False) -> str:
    row = _Row(ctx)
    flag = row.flag
    out = []
    for i in items:
        failed = str(i.failed_attempts) + (" (warrant)" if i.failed_attempts >= flag else "")
        line = (
            f"  {i.ref:<14} {_RISK_TEXT[i.risk_level]} {_OVERDUE_TEXT[i.days_overdue]} "
            f"{_DATE_TEXT[i.due_date]} {_DATE_TEXT[i.last_done]} {failed:<13}"
        )
        if show_officer:
            line += f" {i.offender_manager}"
        if show_team:
            line += f" {i.team}"
        if i.tags is not None:
            line += _TAGS_TEXT[i.tags]
        out.append(line + "\n" if row.plain else line + "\n" + row.text_tail(i))
    return "".join(out)


@pass_context
def item_rows_text(ctx: Context, items: Iterable[Any], show_officer: bool = False) -> str:
    row = _Row(ctx)
    out = []
    for i in items:
        line = (
            f"  {i.ref:<14} {_RISK_TEXT[i.risk_level]} {_OVERDUE_TEXT[i.days_overdue]} "
            f"{_DATE_TEXT[i.due_date]} {_DATE_TEXT[i.last_done]}"
        )
        if show_officer:
            line += f" {i.offender_manager}"
        if i.kind == "notification" and i.no_fixed_abode:
            line += " (no fixed abode: weekly)"
        if i.tags is not None:
            line += _TAGS_TEXT[i.tags]
        out.append(line + "\n" if row.plain else line + "\n" + row.text_tail(i))
    return "".join(out)


@pass_context
def unlocated_rows_text(ctx: Context, items: Iterable[Any], show_officer: bool = False) -> str:
    row = _Row(ctx)
    out = []
    for u in items:
        line = (
            f"  {u.ref:<14} {_RISK_TEXT[u.risk_level]} {plural(u.days_missing, 'day'):<14} "
            f"{_DATE_TEXT[u.missing_since]} {_DATE_TEXT[u.last_visit]}"
        )
        if show_officer:
            line += f" {u.offender_manager}"
        if u.tags is not None:
            line += _TAGS_TEXT[u.tags]
        out.append(line + "\n" if row.plain else line + "\n" + row.text_tail(u))
    return "".join(out)


@pass_context
def lone_rows_html(ctx: Context, items: Iterable[Any]) -> Markup:
    """Lone visits (practice measures): ref, risk, date, visiting officer."""
    out = [
        f'<tr><td style="{_TD_REF}">{escape(v.ref)}</td>{_RISK_CELL_INLINE[v.risk_level]}'
        f'<td style="{_TD}">{_DATE[v.visit_date]}</td><td style="{_TD}">{_ESCAPED[v.officer]}</td></tr>\n'
        for v in items
    ]
    return Markup("".join(out))  # noqa: S704 - every value above is escaped


@pass_context
def pattern_rows_html(ctx: Context, items: Iterable[Any]) -> Markup:
    """Predictable visits (practice measures): ref and officer, risk, the pattern in words."""
    out = [
        f'<tr><td style="{_TD_REF}">{escape(x.ref)}<br><span style="{_SUB}">{_ESCAPED[x.offender_manager]}</span></td>'
        f'{_RISK_CELL_INLINE[x.risk_level]}<td style="{_TD}">{escape(x.pattern)}</td></tr>\n'
        for x in items
    ]
    return Markup("".join(out))  # noqa: S704 - every value above is escaped


@pass_context
def lone_rows_text(ctx: Context, items: Iterable[Any]) -> str:
    return "".join(
        f"  {v.ref:<14} {_RISK_TEXT[v.risk_level]} {_DATE_TEXT[v.visit_date]} {v.officer:<12}\n" for v in items
    )


@pass_context
def pattern_rows_text(ctx: Context, items: Iterable[Any]) -> str:
    return "".join(f"  {x.ref:<14} {_RISK_TEXT[x.risk_level]} {x.offender_manager:<12} {x.pattern}\n" for x in items)


#: Tables written lately: (writer, id(items), len(items), arguments, context) -> (items, rows).
_RECENT: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_RECENT_MAX = 64
_RECENT_LOCK = threading.Lock()


def _reused(writer: Callable[..., Any]) -> Callable[..., Any]:
    """``writer``, answering again from memory when the very same list comes back at once.

    Why: a team's digest goes to each of its supervisors, and the force digest to each lead:
    the same lists, written again for a second and third reader (a third of a national run's
    team digests). Plans are made in team order, so the repeats follow each other and a few
    dozen tables in memory catch them. An entry holds its list, so an id is never mistaken
    for another list's; the length is in the key too, and the items themselves are frozen.
    """

    @pass_context
    def reuse(ctx: Context, items: Any, *args: Any) -> Any:
        if not isinstance(items, list) or not items:
            return writer(ctx, items, *args)
        row = _Row(ctx)  # what the rows read from the context is part of the key
        key = (writer, id(items), len(items), args, row.case_url, row.names, row.flag)
        found = _RECENT.get(key)
        if found is not None and found[0] is items:
            return found[1]
        rows = writer(ctx, items, *args)
        with _RECENT_LOCK:  # the web server renders in threads
            if len(_RECENT) >= _RECENT_MAX:
                del _RECENT[next(iter(_RECENT))]  # the oldest
            _RECENT[key] = (items, rows)
        return rows

    return reuse


@contextmanager
def reuse_for_the_run() -> Iterator[None]:
    """Render a run's messages, then drop the tables kept for reuse, so a long-running
    daemon does not hold its last few dozen tables (and their lists) until the next run."""
    try:
        yield
    finally:
        with _RECENT_LOCK:
            _RECENT.clear()


HTML_ROWS = {
    "visit_rows": _reused(visit_rows_html),
    "item_rows": _reused(item_rows_html),
    "unlocated_rows": _reused(unlocated_rows_html),
    "lone_rows": _reused(lone_rows_html),
    "pattern_rows": _reused(pattern_rows_html),
}
TEXT_ROWS = {
    "visit_rows": _reused(visit_rows_text),
    "item_rows": _reused(item_rows_text),
    "unlocated_rows": _reused(unlocated_rows_text),
    "lone_rows": _reused(lone_rows_text),
    "pattern_rows": _reused(pattern_rows_text),
}
