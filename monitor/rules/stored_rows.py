"""The scan's statements on SQLite as text, for a force-wide report that does not import SQLAlchemy.

Why: a force-wide scan after an import is one statement (:func:`monitor.rules.rows.
stored_facts_query`: the register joined to its stored visit facts), plus one per few hundred
people whose stored facts do not hold (:func:`monitor.rules.rows.live_facts_query`). On
SQLite, importing SQLAlchemy to build and send them was a sixth of the instructions of a
national report of the overdue visits (``benchmarks/instructions.py``).
Here are those statements as SQLAlchemy writes them for SQLite (line breaks aside), with
their constant parameters; ``as_of`` and ``refs`` are the only ones that change (and, with
the practice measures on, ``recent_n`` and ``lookback_start``: the statements of
:mod:`monitor.rules.lookback` are here too).
tests/rules/test_stored_rows.py compiles the statements and requires the same text (whitespace
aside) and parameters, so the two cannot drift apart: change ``rows.py`` or
``register/derived.py`` and that test prints what to put here.

A list parameter appears as ``__[POSTCOMPILE_name]``, SQLAlchemy's own mark for it, and
:func:`bind` writes it out as SQLAlchemy does (``:name_1, :name_2, ...``).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

#: Rows per fetch from a streamed scan (here and in ``rows.py``).
BATCH = 2000
#: People whose stored facts do not hold on the as-of date are computed from the visits by
#: reference, this many per statement (under SQLite's oldest limit of 999 parameters)...
LIVE_BY_REF = 300
#: ...in up to this many statements, while they are at most a quarter of the scope; beyond
#: that (an as-of date in the past, facts from before an older version's import) one
#: statement for the whole scope is cheaper.
LIVE_STATEMENTS = 40
#: The column that is NULL when a person's stored facts do not hold (``failed_attempts``).
_FAILED = 17
_LIST = re.compile(r"__\[POSTCOMPILE_(\w+)\]")

#: Each statement's text without names: "stored" reads the stored facts of everyone in
#: scope; "live" computes the facts from the visits for the people in ``refs``; each also
#: with the practice columns (``True``: the practice measures are on, see rules.practice).
_WITHOUT_NAMES: dict[tuple[str, bool], str] = {
    ("stored", False): """
SELECT offenders.ref, offenders.risk_level, offenders.status, offenders.team,
offenders.offender_manager, CAST(julianday(offenders.registered_on) - 1721424.5 AS INTEGER) AS
day_number_1, CAST(julianday(offenders.status_since) - 1721424.5 AS INTEGER) AS day_number_2,
offenders.management, CAST(julianday(offenders.risk_assessed_on) - 1721424.5 AS INTEGER) AS
day_number_3, CAST(julianday(offenders.last_notified_on) - 1721424.5 AS INTEGER) AS
day_number_4, offenders.no_fixed_abode, CAST(julianday(offenders.absent_since) - 1721424.5 AS
INTEGER) AS day_number_5, NULL AS anon_1, NULL AS anon__1, NULL AS anon__2,
CAST(julianday(visit_facts.last_visit) - 1721424.5 AS INTEGER) AS day_number_6,
CAST(julianday(visit_facts.last_visit_any) - 1721424.5 AS INTEGER) AS day_number_7,
visit_facts.failed_attempts FROM offenders LEFT OUTER JOIN visit_facts ON visit_facts.ref =
offenders.ref AND (visit_facts.horizon IS NULL OR visit_facts.horizon <= :as_of) AND (SELECT
visit_facts_state.import_id FROM visit_facts_state WHERE visit_facts_state.id = :id_1) IS NOT
NULL AND NOT (EXISTS (SELECT * FROM import_runs WHERE import_runs.id > (SELECT
visit_facts_state.import_id FROM visit_facts_state WHERE visit_facts_state.id = :id_1) AND
import_runs.outcome != :outcome_1)) WHERE offenders.registered_on <= :as_of AND
(offenders.registration_ends IS NULL OR offenders.registration_ends >= :as_of) AND
(offenders.status NOT IN (__[POSTCOMPILE_status_1])) ORDER BY offenders.ref
""",
    ("live", False): """
WITH latest AS (SELECT visits.ref AS ref, max(CASE WHEN (visits.outcome = :outcome_1 AND
coalesce(offenders.status_since, offenders.registered_on) <= visits.visit_date) THEN
visits.visit_date END) AS last_visit, max(CASE WHEN (visits.outcome = :outcome_1) THEN
visits.visit_date END) AS last_visit_any, max(visits.visit_date) AS horizon FROM visits JOIN
offenders ON offenders.ref = visits.ref WHERE visits.outcome IN (__[POSTCOMPILE_outcome_2]) AND
visits.visit_type = :visit_type_1 AND offenders.registered_on <= :as_of AND
(offenders.registration_ends IS NULL OR offenders.registration_ends >= :as_of) AND
(offenders.status NOT IN (__[POSTCOMPILE_status_1])) AND visits.visit_date <= :as_of AND
visits.ref IN (__[POSTCOMPILE_refs]) GROUP BY visits.ref) SELECT offenders.ref,
offenders.risk_level, offenders.status, offenders.team, offenders.offender_manager,
CAST(julianday(offenders.registered_on) - 1721424.5 AS INTEGER) AS day_number_1,
CAST(julianday(offenders.status_since) - 1721424.5 AS INTEGER) AS day_number_2,
offenders.management, CAST(julianday(offenders.risk_assessed_on) - 1721424.5 AS INTEGER) AS
day_number_3, CAST(julianday(offenders.last_notified_on) - 1721424.5 AS INTEGER) AS
day_number_4, offenders.no_fixed_abode, CAST(julianday(offenders.absent_since) - 1721424.5 AS
INTEGER) AS day_number_5, NULL AS anon_1, NULL AS anon__1, NULL AS anon__2,
CAST(julianday(latest.last_visit) - 1721424.5 AS INTEGER) AS day_number_6,
CAST(julianday(latest.last_visit_any) - 1721424.5 AS INTEGER) AS day_number_7,
coalesce(failed.failed_attempts, :coalesce_1) AS failed_attempts FROM offenders LEFT OUTER JOIN
latest ON latest.ref = offenders.ref LEFT OUTER JOIN (SELECT visits.ref AS ref, count(*) AS
failed_attempts FROM visits JOIN offenders ON offenders.ref = visits.ref LEFT OUTER JOIN latest
ON latest.ref = visits.ref WHERE visits.outcome = :outcome_3 AND visits.visit_type =
:visit_type_2 AND visits.visit_date >= coalesce(offenders.status_since, offenders.registered_on)
AND (latest.last_visit IS NULL OR visits.visit_date > latest.last_visit) AND
offenders.registered_on <= :as_of AND (offenders.registration_ends IS NULL OR
offenders.registration_ends >= :as_of) AND (offenders.status NOT IN (__[POSTCOMPILE_status_1]))
AND visits.visit_date <= :as_of AND visits.ref IN (__[POSTCOMPILE_refs]) GROUP BY visits.ref) AS
failed ON failed.ref = offenders.ref WHERE offenders.registered_on <= :as_of AND
(offenders.registration_ends IS NULL OR offenders.registration_ends >= :as_of) AND
(offenders.status NOT IN (__[POSTCOMPILE_status_1])) AND offenders.ref IN (__[POSTCOMPILE_refs])
""",
    ("stored", True): """
SELECT offenders.ref, offenders.risk_level, offenders.status, offenders.team,
offenders.offender_manager, CAST(julianday(offenders.registered_on) - 1721424.5 AS INTEGER) AS
day_number_1, CAST(julianday(offenders.status_since) - 1721424.5 AS INTEGER) AS day_number_2,
offenders.management, CAST(julianday(offenders.risk_assessed_on) - 1721424.5 AS INTEGER) AS
day_number_3, CAST(julianday(offenders.last_notified_on) - 1721424.5 AS INTEGER) AS
day_number_4, offenders.no_fixed_abode, CAST(julianday(offenders.absent_since) - 1721424.5 AS
INTEGER) AS day_number_5, NULL AS anon_1, NULL AS anon__1, NULL AS anon__2,
CAST(julianday(visit_facts.last_visit) - 1721424.5 AS INTEGER) AS day_number_6,
CAST(julianday(visit_facts.last_visit_any) - 1721424.5 AS INTEGER) AS day_number_7,
visit_facts.failed_attempts, offenders.visit_interval, coalesce(offenders.mappa_category,
:coalesce_1) * :coalesce_2 + coalesce(offenders.mappa_level, :coalesce_3) AS mappa, CASE WHEN
(offenders.supervisor_review_recorded IS 1) THEN
coalesce(CAST(julianday(offenders.supervisor_reviewed_on) - 1721424.5 AS INTEGER), :coalesce_4)
END AS reviewed, visit_facts.recent_pattern FROM offenders LEFT OUTER JOIN visit_facts ON
visit_facts.ref = offenders.ref AND (visit_facts.horizon IS NULL OR visit_facts.horizon <=
:as_of) AND (SELECT visit_facts_state.import_id FROM visit_facts_state WHERE
visit_facts_state.id = :id_1) IS NOT NULL AND NOT (EXISTS (SELECT * FROM import_runs WHERE
import_runs.id > (SELECT visit_facts_state.import_id FROM visit_facts_state WHERE
visit_facts_state.id = :id_1) AND import_runs.outcome != :outcome_1)) AND (SELECT
visit_facts_state.recent_n FROM visit_facts_state WHERE visit_facts_state.id = :id_2) =
:recent_n WHERE offenders.registered_on <= :as_of AND (offenders.registration_ends IS NULL OR
offenders.registration_ends >= :as_of) AND (offenders.status NOT IN (__[POSTCOMPILE_status_1]))
ORDER BY offenders.ref
""",
    ("live", True): """
WITH latest AS (SELECT visits.ref AS ref, max(CASE WHEN (visits.outcome = :outcome_1 AND
coalesce(offenders.status_since, offenders.registered_on) <= visits.visit_date) THEN
visits.visit_date END) AS last_visit, max(CASE WHEN (visits.outcome = :outcome_1) THEN
visits.visit_date END) AS last_visit_any, max(visits.visit_date) AS horizon FROM visits JOIN
offenders ON offenders.ref = visits.ref WHERE visits.outcome IN (__[POSTCOMPILE_outcome_2]) AND
visits.visit_type = :visit_type_1 AND offenders.registered_on <= :as_of AND
(offenders.registration_ends IS NULL OR offenders.registration_ends >= :as_of) AND
(offenders.status NOT IN (__[POSTCOMPILE_status_1])) AND visits.visit_date <= :as_of AND
visits.ref IN (__[POSTCOMPILE_refs]) GROUP BY visits.ref) SELECT offenders.ref,
offenders.risk_level, offenders.status, offenders.team, offenders.offender_manager,
CAST(julianday(offenders.registered_on) - 1721424.5 AS INTEGER) AS day_number_1,
CAST(julianday(offenders.status_since) - 1721424.5 AS INTEGER) AS day_number_2,
offenders.management, CAST(julianday(offenders.risk_assessed_on) - 1721424.5 AS INTEGER) AS
day_number_3, CAST(julianday(offenders.last_notified_on) - 1721424.5 AS INTEGER) AS
day_number_4, offenders.no_fixed_abode, CAST(julianday(offenders.absent_since) - 1721424.5 AS
INTEGER) AS day_number_5, NULL AS anon_1, NULL AS anon__1, NULL AS anon__2,
CAST(julianday(latest.last_visit) - 1721424.5 AS INTEGER) AS day_number_6,
CAST(julianday(latest.last_visit_any) - 1721424.5 AS INTEGER) AS day_number_7,
coalesce(failed.failed_attempts, :coalesce_1) AS failed_attempts, offenders.visit_interval,
coalesce(offenders.mappa_category, :coalesce_2) * :coalesce_3 + coalesce(offenders.mappa_level,
:coalesce_4) AS mappa, CASE WHEN (offenders.supervisor_review_recorded IS 1) THEN
coalesce(CAST(julianday(offenders.supervisor_reviewed_on) - 1721424.5 AS INTEGER), :coalesce_5)
END AS reviewed, recent.recent_pattern FROM offenders LEFT OUTER JOIN latest ON latest.ref =
offenders.ref LEFT OUTER JOIN (SELECT visits.ref AS ref, count(*) AS failed_attempts FROM visits
JOIN offenders ON offenders.ref = visits.ref LEFT OUTER JOIN latest ON latest.ref = visits.ref
WHERE visits.outcome = :outcome_3 AND visits.visit_type = :visit_type_2 AND visits.visit_date >=
coalesce(offenders.status_since, offenders.registered_on) AND (latest.last_visit IS NULL OR
visits.visit_date > latest.last_visit) AND offenders.registered_on <= :as_of AND
(offenders.registration_ends IS NULL OR offenders.registration_ends >= :as_of) AND
(offenders.status NOT IN (__[POSTCOMPILE_status_1])) AND visits.visit_date <= :as_of AND
visits.ref IN (__[POSTCOMPILE_refs]) GROUP BY visits.ref) AS failed ON failed.ref =
offenders.ref LEFT OUTER JOIN (SELECT last_visits.ref AS ref, CASE WHEN (last_visits.visits =
:recent_n) THEN CASE WHEN (last_visits.weekdays = :weekdays_1) THEN last_visits.weekday +
:weekday_1 ELSE :param_1 END + CASE WHEN (last_visits.timed = :recent_n) THEN :param_2 ELSE
:param_3 END + CASE WHEN (last_visits.timed = :recent_n AND last_visits.evening = :evening_1)
THEN :param_4 ELSE :param_5 END + CASE WHEN (last_visits.timed = :recent_n AND
last_visits.latest - last_visits.earliest <= :param_6) THEN :param_7 + :param_8 *
last_visits.earliest + :param_9 * last_visits.latest ELSE :param_10 END ELSE :param_11 END AS
recent_pattern FROM (SELECT ranked.ref AS ref, count(*) AS visits, count(DISTINCT
ranked.weekday) AS weekdays, min(ranked.weekday) AS weekday, count(ranked.minute) AS timed,
min(ranked.minute) AS earliest, max(ranked.minute) AS latest, sum(CASE WHEN (ranked.minute >=
:minute_1) THEN :param_12 ELSE :param_13 END) AS evening FROM (SELECT visits.ref AS ref,
(CAST(julianday(visits.visit_date) - 1721424.5 AS INTEGER) + :param_14) % :param_15 AS weekday,
visits.visit_minute AS minute, row_number() OVER (PARTITION BY visits.ref ORDER BY
visits.visit_date DESC, visits.visit_minute DESC NULLS LAST, visits.visit_id DESC) AS visit_rank
FROM visits JOIN offenders ON offenders.ref = visits.ref WHERE visits.outcome = :outcome_4 AND
visits.visit_type = :visit_type_3 AND offenders.registered_on <= :as_of AND
(offenders.registration_ends IS NULL OR offenders.registration_ends >= :as_of) AND
(offenders.status NOT IN (__[POSTCOMPILE_status_1])) AND visits.visit_date <= :as_of AND
visits.ref IN (__[POSTCOMPILE_refs])) AS ranked WHERE ranked.visit_rank <= :recent_n GROUP BY
ranked.ref) AS last_visits) AS recent ON recent.ref = offenders.ref WHERE
offenders.registered_on <= :as_of AND (offenders.registration_ends IS NULL OR
offenders.registration_ends >= :as_of) AND (offenders.status NOT IN (__[POSTCOMPILE_status_1]))
AND offenders.ref IN (__[POSTCOMPILE_refs])
""",
}
#: The practice measures' other statements (rules.lookback): what the register records, and
#: the completed home visits of the look-back.
STATE = """
SELECT visit_facts_state.practice_columns, visit_facts_state.recent_n FROM visit_facts_state
WHERE visit_facts_state.id = :id_1
"""
VISITS = """
SELECT visits.visit_id, visits.ref, CAST(julianday(visits.visit_date) - 1721424.5 AS INTEGER) AS
day_number_1, visits.officer, visits.paired, visits.announced FROM visits WHERE visits.outcome =
'completed' AND visits.visit_type = 'home' AND visits.visit_date > :lookback_start AND
visits.visit_date <= :as_of
"""
#: Where the personal columns go, with and without names (``include_names``).
_NO_NAMES = "NULL AS anon_1, NULL AS anon__1, NULL AS anon__2"
_NAMES = (
    "offenders.surname, offenders.forenames, "
    "CAST(julianday(offenders.date_of_birth) - 1721424.5 AS INTEGER) AS day_number_6"
)
_LABEL = re.compile(r"AS day_number_(\d+)\b")


def _with_names(statement: str) -> str:
    """``statement`` selecting the personal columns: SQLAlchemy numbers its ``day_number``
    labels in order, so those after them (6 on) move up by one."""
    words = " ".join(statement.split())
    words = _LABEL.sub(lambda m: f"AS day_number_{int(m[1]) + (int(m[1]) >= 6)}", words)
    if words.count(_NO_NAMES) != 1:
        raise ValueError("the personal columns are not where they were")
    return words.replace(_NO_NAMES, _NAMES)


#: (statement, include_names, practice): its text.
STATEMENTS: dict[tuple[str, bool, bool], str] = {
    **{(kind, False, practice): text for (kind, practice), text in _WITHOUT_NAMES.items()},
    **{(kind, True, practice): _with_names(text) for (kind, practice), text in _WITHOUT_NAMES.items()},
}
_LIVE = {
    "coalesce_1": 0,
    "outcome_1": "completed",
    "outcome_2": ["completed", "no_access"],
    "visit_type_1": "home",
    "status_1": ["deceased", "deregistered"],
    "outcome_3": "no_access",
    "visit_type_2": "home",
}
#: Each statement's parameters other than ``as_of``, ``refs``, ``recent_n`` and ``lookback_start``.
CONSTANTS: dict[tuple[str, bool], dict[str, Any]] = {
    ("stored", False): {"id_1": 1, "outcome_1": "failed", "status_1": ["deceased", "deregistered"]},
    ("live", False): _LIVE,
    ("stored", True): {
        "coalesce_1": 0,
        "coalesce_2": 4,
        "coalesce_3": 0,
        "coalesce_4": 0,
        "id_1": 1,
        "outcome_1": "failed",
        "id_2": 1,
        "status_1": ["deceased", "deregistered"],
    },
    ("live", True): {
        **_LIVE,
        "coalesce_2": 0,
        "coalesce_3": 4,
        "coalesce_4": 0,
        "coalesce_5": 0,
        "weekdays_1": 1,
        "weekday_1": 1,
        "param_1": 0,
        "param_2": 8,
        "param_3": 0,
        "evening_1": 0,
        "param_4": 16,
        "param_5": 0,
        "param_6": 120,
        "param_7": 32,
        "param_8": 64,
        "param_9": 131072,
        "param_10": 0,
        "param_11": 0,
        "minute_1": 1080,
        "param_12": 1,
        "param_13": 0,
        "param_14": 6,
        "param_15": 7,
        "outcome_4": "completed",
        "visit_type_3": "home",
    },
    ("state", False): {"id_1": 1},
    ("visits", False): {},
}


def by_reference(pending: int, seen: int, per_statement: int) -> bool:
    """Whether ``pending`` people of ``seen`` in scope, whose stored facts do not hold, are
    computed from the visits ``per_statement`` at a time (see :data:`LIVE_STATEMENTS`);
    otherwise one statement for the whole scope is cheaper. Both ways of reading the scan's
    rows (this module's and ``rows.scan_rows``) ask this."""
    return pending <= per_statement * LIVE_STATEMENTS and pending * 4 <= seen


class FactsDoNotHold(Exception):
    """Too many people's stored facts do not hold (an as-of date in the past): use the engine."""


def bind(statement: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``statement`` with each list parameter written out, and the parameters to send."""
    bound = {name: value for name, value in params.items() if not isinstance(value, list)}

    def expand(match: re.Match[str]) -> str:
        name = match.group(1)
        values = params[name]
        if not values:
            raise ValueError(f"empty list parameter {name!r}")
        bound.update({f"{name}_{n}": value for n, value in enumerate(values, 1)})
        return ", ".join(f":{name}_{n}" for n in range(1, len(values) + 1))

    return _LIST.sub(expand, statement), bound


def state(conn: sqlite3.Connection) -> tuple[str | None, int | None] | None:
    """The register's state row (practice columns recorded, N of the stored recent facts)."""
    row = conn.execute(STATE, CONSTANTS["state", False]).fetchone()
    return None if row is None else (row[0], row[1])


def stored_rows(
    conn: sqlite3.Connection, as_of: date, include_names: bool, recent_n: int | None = None
) -> Iterator[Sequence[Any]]:
    """The scan's rows, as :func:`monitor.rules.rows.scan_rows` gives them, force-wide.

    Stored facts where they hold, streamed; then, for the rest, the facts computed from the
    visits, a few hundred people per statement. Raises :class:`FactsDoNotHold` after the
    stored rows when that would take more than :data:`LIVE_STATEMENTS` statements or the
    people are over a quarter of the register (``scan_rows`` then computes everyone's at
    once): the caller discards what it has read and scans through the engine. Dates are
    bound as ISO text, as SQLAlchemy stores and binds them on SQLite. ``recent_n``: with
    the practice columns (the facts of the last N visits).
    """
    day = as_of.isoformat()
    practice = recent_n is not None
    extra = {"recent_n": recent_n} if practice else {}
    sql, params = bind(
        STATEMENTS["stored", include_names, practice], {**CONSTANTS["stored", practice], "as_of": day, **extra}
    )
    pending: list[str] = []
    seen = 0
    cursor = conn.execute(sql, params)
    try:
        while batch := cursor.fetchmany(BATCH):
            seen += len(batch)
            for row in batch:
                if row[_FAILED] is None:
                    pending.append(row[0])
                else:
                    yield row
    finally:
        cursor.close()
    if not by_reference(len(pending), seen, LIVE_BY_REF):
        raise FactsDoNotHold(f"the stored visit facts of {len(pending)} of {seen} people do not hold")
    for start in range(0, len(pending), LIVE_BY_REF):
        refs = pending[start : start + LIVE_BY_REF]
        live = {**CONSTANTS["live", practice], "as_of": day, "refs": refs, **extra}
        sql, params = bind(STATEMENTS["live", include_names, practice], live)
        yield from conn.execute(sql, params).fetchall()


def lookback_rows(conn: sqlite3.Connection, as_of: date, start: date) -> Iterator[Sequence[Any]]:
    """The look-back's completed home visits (rules.lookback), force-wide, streamed."""
    params = {"as_of": as_of.isoformat(), "lookback_start": start.isoformat()}
    sql, bound = bind(VISITS, {**CONSTANTS["visits", False], **params})
    return _streamed(conn.execute(sql, bound))


def _streamed(cursor: sqlite3.Cursor) -> Iterator[Sequence[Any]]:
    try:
        while batch := cursor.fetchmany(BATCH):
            yield from batch
    finally:
        cursor.close()
