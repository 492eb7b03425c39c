"""Second yardstick, like for like: every list of the JSON report from one hand-written query.

Why: the issue's yardstick (``lean_report.py``) writes only the overdue home visits, about
9,000 of a national report's 140,000 entries; the report must also list visits due soon,
overdue risk reviews, overdue notifications and whoever's whereabouts are unknown. This
program does all of that work and nothing more, so its time is what the whole report costs
without the product's framework (SQLAlchemy, click, the configuration, the typed results),
and its lists are an independent check of the report's, row for row, at national size.
It is written from the rules (docs/rules.md, and tests/oracle.py's reading of them), imports
nothing from ``monitor``, and is run the same way as the product: a whole process.

    python benchmarks/lean_full.py DATABASE_URL AS_OF OUT.json

One query (in the form each engine's planner runs best) gives, per person in scope on
AS_OF (registered on or before it, registration not ended, not deceased or deregistered):
the register columns the rules read, and from the visits the latest completed home visit
in [S, AS_OF] and the no-access home visits after it (community, active management only),
and the latest completed home visit ever up to AS_OF (missing people only); S is
status_since, else registered_on. Python adds the calendar arithmetic and the ordering.
The intervals are the contract's defaults, which the benchmark's config leaves in force.
The extract has the practice columns, so the report's practice measures are on: a person's
plan interval (``visit_interval``) takes the place of the risk level's, every entry carries
its MAPPA category and level (visits also ``interval`` and ``interval_source``), and MAPPA
level 2 and 3 cases come first within their risk level.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from typing import Any

from lean_report import FIRST_VISIT, INTERVAL_MONTHS, RISK_ORDER, add_months, connect, mappa_rank, next_visit

REVIEW_MONTHS = 12
NOTIFY_MONTHS = 12
NOTIFY_NFA = timedelta(days=7)
AFTER_RETURN = timedelta(days=3)
DUE_SOON_DAYS = 14
WARRANT_FLAG = 2

_SCOPE = """SELECT ref, risk_level, team, offender_manager, status, management, registered_on,
                   COALESCE(status_since, registered_on) AS s, risk_assessed_on, last_notified_on, no_fixed_abode,
                   visit_interval, mappa_category, mappa_level
              FROM offenders
             WHERE registered_on <= :as_of AND (registration_ends IS NULL OR registration_ends >= :as_of)
               AND status NOT IN ('deceased', 'deregistered')"""
_VISITED = "p.status = 'community' AND p.management = 'active'"

#: SQLite: correlated subqueries, each evaluated only for the people it concerns.
SQLITE_SQL = f"""
SELECT q.*,
       CASE WHEN q.visited THEN
         (SELECT COUNT(*) FROM visits f
           WHERE f.ref = q.ref AND f.outcome = 'no_access' AND f.visit_type = 'home'
             AND f.visit_date >= q.s AND f.visit_date <= :as_of
             AND (q.last_visit IS NULL OR f.visit_date > q.last_visit)) END AS failed
  FROM (SELECT p.*, {_VISITED} AS visited,
               CASE WHEN {_VISITED} THEN
                 (SELECT MAX(v.visit_date) FROM visits v
                   WHERE v.ref = p.ref AND v.outcome = 'completed' AND v.visit_type = 'home'
                     AND v.visit_date >= p.s AND v.visit_date <= :as_of) END AS last_visit,
               CASE WHEN p.status = 'missing' THEN
                 (SELECT MAX(v.visit_date) FROM visits v
                   WHERE v.ref = p.ref AND v.outcome = 'completed' AND v.visit_type = 'home'
                     AND v.visit_date <= :as_of) END AS last_any
          FROM ({_SCOPE}) p) q
"""
#: PostgreSQL: grouped aggregates joined back (hash joins), as in lean_report.py. The scope
#: is NOT MATERIALIZED so that each use of it is planned from the table's statistics: as a
#: materialized CTE the planner guessed one active community person, nested-looped the
#: failed attempts against the latest visits, and took 53 s at 30,000 people (1.2 s now).
POSTGRESQL_SQL = f"""
WITH p AS NOT MATERIALIZED ({_SCOPE}),
     l AS (SELECT v.ref, MAX(v.visit_date) AS last_visit
             FROM visits v JOIN p ON p.ref = v.ref
            WHERE {_VISITED} AND v.outcome = 'completed' AND v.visit_type = 'home'
              AND v.visit_date >= p.s AND v.visit_date <= :as_of
            GROUP BY v.ref),
     f AS (SELECT v.ref, COUNT(*) AS failed
             FROM visits v JOIN p ON p.ref = v.ref LEFT JOIN l ON l.ref = v.ref
            WHERE {_VISITED} AND v.outcome = 'no_access' AND v.visit_type = 'home' AND v.visit_date >= p.s
              AND v.visit_date <= :as_of AND (l.last_visit IS NULL OR v.visit_date > l.last_visit)
            GROUP BY v.ref),
     m AS (SELECT v.ref, MAX(v.visit_date) AS last_any
             FROM visits v JOIN p ON p.ref = v.ref
            WHERE p.status = 'missing' AND v.outcome = 'completed' AND v.visit_type = 'home'
              AND v.visit_date <= :as_of
            GROUP BY v.ref)
SELECT p.*, {_VISITED} AS visited, l.last_visit, m.last_any, COALESCE(f.failed, 0)
  FROM p LEFT JOIN l ON l.ref = p.ref LEFT JOIN f ON f.ref = p.ref LEFT JOIN m ON m.ref = p.ref
"""
LISTS = ("overdue_visits", "due_soon", "overdue_risk_reviews", "overdue_notifications", "whereabouts_unknown")


def report_lists(conn: Any, dialect: str, as_of: date) -> dict[str, list[dict[str, Any]]]:
    """The report's five lists, each in report order (risk, most overdue first, ref)."""
    sql = POSTGRESQL_SQL if dialect == "postgresql" else SQLITE_SQL
    params: dict[str, Any] = {"as_of": as_of}
    if dialect == "postgresql":
        sql = sql.replace(":as_of", "%(as_of)s")
    else:
        params["as_of"] = as_of.isoformat()  # the product stores SQLite dates as ISO text
    parsed: dict[Any, date] = {}

    def day(value: Any) -> date | None:
        if value is None or isinstance(value, date):
            return value
        found = parsed.get(value)
        if found is None:
            found = parsed[value] = date.fromisoformat(value)
        return found

    def iso(value: date | None) -> str | None:
        return value.isoformat() if value is not None else None

    out: dict[str, list[dict[str, Any]]] = {name: [] for name in LISTS}
    cur = conn.cursor()
    cur.execute(sql, params)
    for row in cur:
        ref, risk, team, om, status, _management, registered, s, assessed, notified, nfa = row[:11]
        plan, category, level = row[11:14]
        visited, last_visit, last_any, failed = row[14:]
        registered, s, assessed, notified = day(registered), day(s), day(assessed), day(notified)
        assert registered is not None and s is not None
        base = {"ref": ref, "risk_level": risk, "team": team, "offender_manager": om}
        tags = {"mappa_category": category, "mappa_level": level}
        if visited and s <= as_of:
            last = day(last_visit)
            due = next_visit(last, risk, plan) if last else s + FIRST_VISIT
            late = (as_of - due).days
            if late >= -DUE_SOON_DAYS:
                item = {
                    **base,
                    "due_date": due.isoformat(),
                    "days_overdue": late,
                    "last_visit": iso(last),
                    "failed_attempts": failed,
                    "warrant_flag": failed >= WARRANT_FLAG,
                }
                if late <= 0:
                    item["due_in_days"] = -late
                item["interval"] = plan or f"P{INTERVAL_MONTHS[risk]}M"
                item["interval_source"] = "plan" if plan else "risk_level"
                item.update(tags)
                out["overdue_visits" if late > 0 else "due_soon"].append(item)
        if status == "community" and s <= as_of:
            first = s + FIRST_VISIT
            if assessed is None:
                due = first
            elif assessed < s:
                due = max(add_months(assessed, REVIEW_MONTHS), first)
            else:
                due = add_months(assessed, REVIEW_MONTHS)
            if as_of > due:
                late = (as_of - due).days
                out["overdue_risk_reviews"].append(
                    {**base, "due_date": due.isoformat(), "days_overdue": late, "last_assessed": iso(assessed), **tags}
                )
        if status in ("community", "missing"):
            nfa = bool(nfa)
            start = notified or registered
            due = start + NOTIFY_NFA if nfa else add_months(start, NOTIFY_MONTHS)
            if status == "community" and s > registered and due < s:
                due = s + AFTER_RETURN
            if as_of > due:
                out["overdue_notifications"].append(
                    {
                        **base,
                        "due_date": due.isoformat(),
                        "days_overdue": (as_of - due).days,
                        "last_notified": iso(notified),
                        "no_fixed_abode": nfa,
                        **tags,
                    }
                )
        if status == "missing" and s <= as_of:
            missing = (as_of - s).days
            out["whereabouts_unknown"].append(
                {
                    **base,
                    "missing_since": s.isoformat(),
                    "days_missing": missing,
                    "last_visit": iso(day(last_any)),
                    **tags,
                }
            )
    cur.close()
    for name, rows in out.items():
        days = "days_missing" if name == "whereabouts_unknown" else "days_overdue"
        rows.sort(key=lambda r: (RISK_ORDER[r["risk_level"]], mappa_rank(r["mappa_level"]), -r[days], r["ref"]))
    return out


def main(argv: list[str]) -> None:
    url, as_of_text, out_path = argv[:3]
    as_of = date.fromisoformat(as_of_text)
    conn, dialect = connect(url)
    try:
        lists = report_lists(conn, dialect, as_of)
    finally:
        conn.close()
    with open(out_path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"as_of": as_of.isoformat(), **lists}))  # dumps: the C encoder (dump is Python)


if __name__ == "__main__":
    main(sys.argv[1:])
