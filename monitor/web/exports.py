"""Exports of exactly what a page shows: CSV for spreadsheets, printable HTML for paper.

The CSV has the report's columns and the report's protection against spreadsheet
formulas (it is written by the report's own CSV writer), with the protective marking as
a row of its own at the top and at the bottom. The printable page carries the marking
at the top and bottom of every printed sheet. Both are logged as ``export`` with the
number of cases they hold, and both are served ``no-store`` like every page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import Response, g
from sqlalchemy.orm import Session

from monitor.rules.obligations import Obligations
from monitor.web.figures import csv_of
from monitor.web.pages import render
from monitor.web.state import state

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def filename(marking: str, scope: str, as_of: date, ext: str) -> str:
    return _UNSAFE.sub("_", f"{marking}-{scope}-{as_of.isoformat()}") + f".{ext}"


def _marking_row(marking: str) -> str:
    cell = "'" + marking if marking.startswith(FORMULA_TRIGGERS) else marking
    return '"' + cell.replace('"', '""') + '"\r\n'


def csv_response(ob: Obligations, cases: Sequence[Any], scope: str) -> Response:
    web = state()
    marking = web.config.mail.marking
    body = _marking_row(marking) + csv_of(ob, cases) + _marking_row(marking)
    g.audit.action = "export"
    g.audit.cases = len({c.ref for c in cases})
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(marking, scope, ob.as_of, "csv")}"'
    return response


def text_csv_response(body: str, scope: str, refs: set[str], as_of: date) -> Response:
    """A CSV written elsewhere (the plan's), with the marking row at the top and bottom."""
    marking = state().config.mail.marking
    g.audit.action = "export"
    g.audit.cases = len(refs)
    response = Response(_marking_row(marking) + body + _marking_row(marking), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(marking, scope, as_of, "csv")}"'
    return response


def print_response(
    db: Session,
    *,
    title: str,
    scope_words: str,
    filter_words: str,
    sections: list[tuple[str, str, Sequence[Any]]],
    include_names: bool,
    flag: int,
    back: str,
) -> Response:
    """A printable page: ``sections`` are (title, kind, cases) in page order; ``back`` is the page it prints."""
    g.audit.action = "export"
    g.audit.cases = len({c.ref for _t, _k, cases in sections for c in cases})
    return render(
        "web/print.html",
        title=title,
        db=db,
        scope_words=scope_words,
        filter_words=filter_words,
        sections=sections,
        include_names=include_names,
        flag=flag,
        back=back,
    )
