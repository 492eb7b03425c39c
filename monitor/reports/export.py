"""The report as data for scripts and spreadsheets: JSON (the contract) and CSV.

JSON is exactly ``Obligations.to_json``; CSV is one row per obligation with a ``section``
column first (the columns are a contract: docs/reference/reports.md). CSV cells that a spreadsheet would
run as a formula are neutralised (see :func:`neutralise_cell`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice
from typing import TYPE_CHECKING, Any

from monitor.core.memo import Memo
from monitor.reports.sections import SECTION_LISTS
from monitor.rules.case_tags import CaseTags
from monitor.rules.obligations import Item, Obligations, Unlocated

if TYPE_CHECKING:  # the practice measures' types, imported only when they are on
    from monitor.rules.practice import LoneVisit

#: CSV ``section`` values of the five lists of obligations, in report order, with the
#: Obligations attribute each comes from (one vocabulary with ``report --section``: the last
#: two sections, not_in_extract and reactive_high_risk, have rows of their own below).
SECTIONS: tuple[tuple[str, str], ...] = tuple(SECTION_LISTS.items())[:5]

CSV_COLUMNS: tuple[str, ...] = (
    "section",
    "ref",
    "risk_level",
    "team",
    "offender_manager",
    "due_date",
    "days_overdue",
    "last_done",
    "failed_attempts",
    # Extensions (docs/reference/reports.md): visits: warrant_flag, due_in_days (due soon only);
    # notifications: no_fixed_abode; whereabouts unknown: missing_since, days_missing.
    "warrant_flag",
    "due_in_days",
    "no_fixed_abode",
    "missing_since",
    "days_missing",
    # not in the latest full extract (issue 8): absent_since, days_absent; both lists: status.
    "absent_since",
    "days_absent",
    "status",
)
CSV_PERSONAL_COLUMNS: tuple[str, ...] = ("surname", "forenames", "date_of_birth")
#: With the practice measures on (docs/practice.md) only, before the personal columns:
#: every row's MAPPA category and level, a visit's interval and where it came from, a
#: lone visit's id, date and officer, a predictable visit's pattern, a long plan's default.
CSV_PRACTICE_COLUMNS: tuple[str, ...] = (
    "interval",
    "interval_source",
    "mappa_category",
    "mappa_level",
    "visit_id",
    "visit_date",
    "officer",
    "pattern",
    "default_interval",
)
#: The practice lists' CSV sections, in report order (after reactive_high_risk).
PRACTICE_SECTIONS: tuple[tuple[str, str], ...] = tuple(SECTION_LISTS.items())[7:]

#: A cell starting with one of these is run as a formula by Excel / LibreOffice / Sheets.
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


_COMPACT = json.JSONEncoder(ensure_ascii=False)


def render_json(obligations: Obligations) -> str:
    """Exactly the JSON report contract (``Obligations.to_json``), pretty-printed.

    Each obligation is one line (compact) inside indented lists, and the summary is fully
    indented: readable, ``grep``-able, and fast, because the C encoder does the items (a
    force-wide report holds tens of thousands of them).
    """
    return "".join(json_chunks(obligations))


def json_chunks(obligations: Obligations) -> Iterator[str]:
    """:func:`render_json`'s text in pieces of at most ``JSON_BATCH`` entries.

    ``report --format json`` writes these as they come: a national report is 30 to 80 MB of
    JSON, and holding it whole (as text, then as bytes) doubled the command's memory.
    """
    encode = _COMPACT.encode  # one encoder for every entry: json.dumps(..., kw) builds one per call
    items = _ItemJSON(obligations.failed_attempts_flag)
    yield "{\n"
    for n, (key, value) in enumerate(obligations.json_parts()):
        yield f"{',' + chr(10) if n else ''}  {json.dumps(key)}: "
        if key in ITEM_LISTS:  # most of a report: written by format, not dict by dict
            yield from _list_chunks(map(items.encode, getattr(obligations, key)))
        elif key == "lone_visits":  # the practice measures' longest list, the same way
            yield from _list_chunks(map(items.lone, getattr(obligations, key)))
        elif isinstance(value, Iterator):  # a list, entry by entry (never all of its dicts at once)
            yield from _list_chunks(map(encode, value))
        else:
            yield json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
    yield "\n}\n"


#: Entries per piece of :func:`json_chunks`.
JSON_BATCH = 2000
#: The report's lists of :class:`Item` (``json_parts`` keys, which are the attribute names).
ITEM_LISTS = frozenset(
    {"overdue_visits", "due_soon", "overdue_risk_reviews", "overdue_notifications", "overdue_supervisor_reviews"}
)
_STRING = json.encoder.encode_basestring  # what the compact encoder (ensure_ascii off) writes for text


class _ItemJSON:
    """``_COMPACT.encode(item.to_json(flag))``, written with one format per kind.

    Why: a national report holds about 140,000 items; making a dict per item and handing it
    to the encoder was most of the time spent writing the file. Texts that repeat (risk
    levels, teams, officers) and dates are encoded once each, in memo tables a lookup of
    which runs in C (``core.memo``). ``Item.to_json`` stays the definition: an item with
    personal data takes that path, and tests/reports/test_report_json.py requires both to give the
    same text for any item.
    """

    def __init__(self, flag: int) -> None:
        self.flag = flag
        self.texts: Memo[str, str] = Memo(_STRING)
        self.dates: Memo[date | None, str] = Memo(_date_json)
        #: A case line's tags (practice measures) as the keys they add: ``, "mappa_level": 2``.
        self.tags: Memo[CaseTags | None, str] = Memo(_tags_json)

    def encode(self, item: Item) -> str:
        if item.personal is not None:
            return _COMPACT.encode(item.to_json(self.flag))
        text, day = self.texts, self.dates
        head = (
            f'{{"ref": {_STRING(item.ref)}, "risk_level": {text[item.risk_level]}, "team": {text[item.team]}, '
            f'"offender_manager": {text[item.offender_manager]}, "due_date": {day[item.due_date]}, '
            f'"days_overdue": {int(item.days_overdue)}, '
        )
        last = day[item.last_done]
        end = self.tags[item.tags] + "}"
        if item.kind == "visit":
            failed = int(item.failed_attempts)
            warrant = "true" if failed >= self.flag else "false"
            tail = f', "due_in_days": {-item.days_overdue}{end}' if item.days_overdue <= 0 else end
            return f'{head}"last_visit": {last}, "failed_attempts": {failed}, "warrant_flag": {warrant}{tail}'
        if item.kind == "risk_review":
            return f'{head}"last_assessed": {last}{end}'
        if item.kind == "supervisor_review":
            return f'{head}"last_reviewed": {last}{end}'
        nfa = "true" if item.no_fixed_abode else "false"
        return f'{head}"last_notified": {last}, "no_fixed_abode": {nfa}{end}'

    def lone(self, visit: LoneVisit) -> str:
        """``_COMPACT.encode(visit.to_json())`` of a lone visit (practice measures: about
        13,000 in a national report, a tenth of its practice work when made dict by dict)."""
        text = self.texts
        return (
            f'{{"visit_id": {_STRING(visit.visit_id)}, "ref": {_STRING(visit.ref)}, '
            f'"risk_level": {text[visit.risk_level]}, "team": {text[visit.team]}, '
            f'"offender_manager": {text[visit.offender_manager]}, "visit_date": {self.dates[visit.visit_date]}, '
            f'"officer": {text[visit.officer]}{self.tags[visit.tags]}}}'
        )


def _tags_json(tags: CaseTags | None) -> str:
    if tags is None:
        return ""
    return "".join(f", {_STRING(key)}: {_COMPACT.encode(value)}" for key, value in tags.json().items())


def _date_json(value: date | None) -> str:
    return "null" if value is None else f'"{value.isoformat()}"'


def _list_chunks(encoded: Iterator[str]) -> Iterator[str]:
    batch = list(islice(encoded, JSON_BATCH))
    if not batch:
        yield "[]"
        return
    yield "[\n    " + ",\n    ".join(batch)
    while batch := list(islice(encoded, JSON_BATCH)):
        yield ",\n    " + ",\n    ".join(batch)
    yield "\n  ]"


def neutralise_cell(value: str) -> str:
    """Stop a text cell being run as a spreadsheet formula (CSV injection).

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
    leading single quote, which spreadsheets show as text. Only text cells pass through
    here: numbers (``days_overdue`` may be negative for "due soon") are written as
    numbers and stay numbers.
    """
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return neutralise_cell(str(value))


def csv_rows(obligations: Obligations) -> Iterable[dict[str, Any]]:
    """One dict per obligation, section by section, each list in contract order."""
    flag = obligations.failed_attempts_flag
    for section, attr in SECTIONS:
        if attr in obligations.unlisted:  # counted, not listed (report --section)
            continue
        for entry in getattr(obligations, attr):
            row: dict[str, Any] = dict.fromkeys(CSV_COLUMNS)
            row.update(
                section=section,
                ref=entry.ref,
                risk_level=entry.risk_level,
                team=entry.team,
                offender_manager=entry.offender_manager,
            )
            if isinstance(entry, Unlocated):
                row.update(
                    last_done=entry.last_visit,
                    missing_since=entry.missing_since,
                    days_missing=entry.days_missing,
                )
            else:
                row.update(due_date=entry.due_date, days_overdue=entry.days_overdue, last_done=entry.last_done)
                if entry.kind == "visit":
                    row.update(failed_attempts=entry.failed_attempts, warrant_flag=entry.failed_attempts >= flag)
                    if entry.days_overdue <= 0:
                        row["due_in_days"] = -entry.days_overdue
                elif entry.kind == "notification":
                    row["no_fixed_abode"] = entry.no_fixed_abode
            if obligations.include_names:
                p = entry.personal
                row.update(
                    surname=p.surname if p else None,
                    forenames=p.forenames if p else None,
                    date_of_birth=p.date_of_birth if p else None,
                )
            if entry.tags is not None:
                row.update(entry.tags.json())
            yield row
    for n in obligations.not_in_extract if "not_in_extract" not in obligations.unlisted else ():
        row = dict.fromkeys(CSV_COLUMNS)
        if n.tags is not None:
            row.update(n.tags.json())
        row.update(
            section="not_in_extract",
            ref=n.ref,
            risk_level=n.risk_level,
            team=n.team,
            offender_manager=n.offender_manager,
            absent_since=n.absent_since,
            days_absent=n.days_absent,
            status=n.status,
        )
        yield row
    for r in obligations.reactive_high_risk if "reactive_high_risk" not in obligations.unlisted else ():
        row = dict.fromkeys(CSV_COLUMNS)
        if r.tags is not None:
            row.update(r.tags.json())
        row.update(
            section="reactive_high_risk",
            ref=r.ref,
            risk_level=r.risk_level,
            team=r.team,
            offender_manager=r.offender_manager,
            status=r.status,
        )
        yield row
    if obligations.practice is not None:
        yield from _practice_rows(obligations)


def _practice_rows(obligations: Obligations) -> Iterable[dict[str, Any]]:
    """The practice lists' rows (those the JSON gives: see ``Obligations.listed``)."""
    from monitor.rules.practice import LoneVisit, Predictable

    listed = set(obligations.listed())
    for section, attr in PRACTICE_SECTIONS:
        if attr not in listed:
            continue
        for entry in getattr(obligations, attr):
            row: dict[str, Any] = dict.fromkeys(CSV_COLUMNS)
            row.update(
                section=section,
                ref=entry.ref,
                risk_level=entry.risk_level,
                team=entry.team,
                offender_manager=entry.offender_manager,
            )
            if entry.tags is not None:
                row.update(entry.tags.json())
            if isinstance(entry, Item):  # an overdue supervisor review
                row.update(due_date=entry.due_date, days_overdue=entry.days_overdue, last_done=entry.last_done)
                if obligations.include_names and entry.personal is not None:
                    p = entry.personal
                    row.update(surname=p.surname, forenames=p.forenames, date_of_birth=p.date_of_birth)
            elif isinstance(entry, LoneVisit):
                row.update(visit_id=entry.visit_id, visit_date=entry.visit_date, officer=entry.officer)
            elif isinstance(entry, Predictable):
                row.update(pattern=entry.pattern)
            else:
                row.update(status=entry.status, interval=entry.interval, default_interval=entry.default_interval)
            yield row


def render_csv(obligations: Obligations) -> str:
    """One row per obligation with a ``section`` column first (see CSV_COLUMNS), CRLF line ends."""
    columns = list(CSV_COLUMNS)
    if obligations.practice is not None:
        columns += CSV_PRACTICE_COLUMNS
    if obligations.include_names:
        columns += CSV_PERSONAL_COLUMNS
    out = io.StringIO()
    # RFC 4180 line ends. With "\r\n" as terminator the csv module also quotes any cell that
    # contains a bare CR or LF (with "\n" alone, a CR inside a cell would go out unquoted).
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in csv_rows(obligations):
        writer.writerow([_csv_value(row.get(c)) for c in columns])
    return out.getvalue()
