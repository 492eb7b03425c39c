"""Second yardstick, like for like: every list of the JSON report from hand-written queries.

Why: the issue's yardstick (``lean_report.py``) writes only the overdue home visits, about
9,000 of a national report's 140,000 entries; the report must also list visits due soon,
overdue risk reviews, overdue notifications and whoever's whereabouts are unknown, and,
since the extract carries the practice columns, the four practice lists (lone visits,
predictable visits, overdue supervisor reviews, long plan intervals). This program does all
of that work and nothing more, so its time is what the whole report costs without the
product's framework (SQLAlchemy, click, the configuration, the typed results), and its
lists are an independent check of the report's, entry for entry, at national size. It is
written from the rules (docs/rules.md and docs/practice.md, and tests/oracle.py's and
tests/oracle_practice.py's reading of them), imports nothing from ``monitor``, and is run
the same way as the product: a whole process.

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

The practice lists (docs/practice.md, with its default settings):

* ``predictable_visits``: the same query also reads, for each person owing visits, their
  last 3 completed home visits on or before AS_OF (newest first: date, a timed visit before
  an untimed one, later time first, visit id; on SQLite the time and id are sorted on only
  when the 3rd and 4th newest share a date), and keeps only those whose 3 all fell on one
  weekday, or all have a time within two hours of each other, or all have a time before
  18:00; it gives their weekdays and earliest and latest minute, Python the entry's words.
  Times are the register's ``visit_minute`` (London time, as stored at import), never the
  product's stored visit facts: the product keeps each person's pattern at import, this
  program works it out from the visits on every run.
* ``overdue_supervisor_reviews``: community and missing people from S on, where the register
  records reviews: due 3 months after the last review, or after S when there is none or it
  was before S; overdue the day after.
* ``long_plan_intervals``: anyone in scope whose plan interval is longer, months at their
  average length, than twice their risk level's.
* ``lone_visits``: a second, small query reads the completed home visits of the 90-day
  look-back with the second officer's column recorded and blank; Python keeps those of
  people in scope, with the visit's officer, else the case's offender manager.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from typing import Any

from lean_report import FIRST_VISIT, INTERVAL_MONTHS, RISK_ORDER, add_months, connect, mappa_rank, next_visit, span

REVIEW_MONTHS = 12
NOTIFY_MONTHS = 12
NOTIFY_NFA = timedelta(days=7)
AFTER_RETURN = timedelta(days=3)
DUE_SOON_DAYS = 14
WARRANT_FLAG = 2
#: The practice measures' defaults (docs/practice.md, "Configuration"), left in force by the
#: benchmark's config: the look-back of lone visits, the last N visits judged for a pattern,
#: the supervisor review interval (every risk level), the long plan multiple.
LOOKBACK = timedelta(days=90)
LAST_N = 3
SUPERVISOR_MONTHS = 3
PLAN_MULTIPLE = 2
#: Two hours on the clock (no wrap at midnight); the evening starts at 18:00 (minutes).
SAME_TIME = 120
EVENING = 18 * 60
#: SQL's weekday numbers (SQLite strftime('%w'), PostgreSQL EXTRACT(DOW)): 0 is Sunday.
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
#: A month at its average length, in days * 4800 (146097 days in 400 years of 4800 months).
MONTH_UNITS, DAY_UNITS = 146097, 4800

_SCOPE = """SELECT ref, risk_level, team, offender_manager, status, management, registered_on,
                   COALESCE(status_since, registered_on) AS s, risk_assessed_on, last_notified_on, no_fixed_abode,
                   visit_interval, mappa_category, mappa_level, supervisor_reviewed_on, supervisor_review_recorded
              FROM offenders
             WHERE registered_on <= :as_of AND (registration_ends IS NULL OR registration_ends >= :as_of)
               AND status NOT IN ('deceased', 'deregistered')"""
_VISITED = "p.status = 'community' AND p.management = 'active'"

#: The last N completed home visits on or before AS_OF, newest first (date, then a timed
#: visit before an untimed one, later time first, then visit id), for the pattern rule.
_TIE_BREAK = "v.visit_minute IS NULL, v.visit_minute DESC, v.visit_id{collate} DESC"
_LAST_N_ORDER = "v.visit_date DESC, " + _TIE_BREAK
#: Listed (docs/practice.md, 3.): N such visits, and all on one weekday, or all timed and
#: within two hours on the clock, or all timed and none in the evening (r: wd weekday, m minute).
_PREDICTABLE = (
    f"COUNT(*) = {LAST_N} AND (MIN(r.wd) = MAX(r.wd) OR (COUNT(r.m) = {LAST_N}"
    f" AND (MAX(r.m) - MIN(r.m) <= {SAME_TIME} OR MAX(r.m) < {EVENING})))"
)
#: What Python needs of a listed pattern, as one text: weekdays (lowest, highest), how many
#: of the N had a time, earliest and latest minute ("" when none had a time).
_PATTERN = "'%s %s %s %s %s', MIN(r.wd), MAX(r.wd), COUNT(r.m), MIN(r.m), MAX(r.m)"
#: SQLite: a person's completed home visits on or before AS_OF, newest first by date alone
#: (the order of the (ref, outcome, visit_type, visit_date) index).
_DONE_BY_DATE = """FROM visits v
                   WHERE v.ref = q.ref AND v.outcome = 'completed' AND v.visit_type = 'home'
                     AND v.visit_date <= :as_of
                   ORDER BY v.visit_date DESC"""
#: SQLite: the pattern of a person's last N visits, taken in ``{order}``.
_SQLITE_RECENT = f"""(SELECT CASE WHEN {_PREDICTABLE} THEN printf({_PATTERN}) END
            FROM (SELECT CAST(strftime('%w', v.visit_date) AS INTEGER) AS wd, v.visit_minute AS m
                    {_DONE_BY_DATE}{{order}} LIMIT {LAST_N}) r)"""

#: SQLite: correlated subqueries, each evaluated only for the people it concerns. The last N
#: visits are the N newest by date, read in the index's order, unless the N-th and the next
#: newest share a date: only then does the rest of the order (time, visit id) decide which of
#: that day's visits count, and only then are they sorted (a sort for every person owing
#: visits cost 190 of the program's 2,420 million instructions at 10,000 people).
SQLITE_SQL = f"""
SELECT q.*,
       CASE WHEN q.visited THEN
         (SELECT COUNT(*) FROM visits f
           WHERE f.ref = q.ref AND f.outcome = 'no_access' AND f.visit_type = 'home'
             AND f.visit_date >= q.s AND f.visit_date <= :as_of
             AND (q.last_visit IS NULL OR f.visit_date > q.last_visit)) END AS failed,
       CASE WHEN q.visited AND q.s <= :as_of THEN
         CASE WHEN (SELECT v.visit_date {_DONE_BY_DATE} LIMIT 1 OFFSET {LAST_N - 1})
                 = (SELECT v.visit_date {_DONE_BY_DATE} LIMIT 1 OFFSET {LAST_N})
              THEN {_SQLITE_RECENT.format(order=", " + _TIE_BREAK.format(collate=""))}
              ELSE {_SQLITE_RECENT.format(order="")} END END AS recent
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
            GROUP BY v.ref),
     pat AS (SELECT p.ref, format({_PATTERN.replace("%", "%%")}) AS recent
             FROM p CROSS JOIN LATERAL
                  (SELECT EXTRACT(DOW FROM v.visit_date)::int AS wd, v.visit_minute AS m
                     FROM visits v
                    WHERE v.ref = p.ref AND v.outcome = 'completed' AND v.visit_type = 'home'
                      AND v.visit_date <= :as_of
                    ORDER BY {_LAST_N_ORDER.format(collate=' COLLATE "C"')} LIMIT {LAST_N}) r
            WHERE {_VISITED} AND p.s <= :as_of
            GROUP BY p.ref
           HAVING {_PREDICTABLE})
SELECT p.*, {_VISITED} AS visited, l.last_visit, m.last_any, COALESCE(f.failed, 0), pat.recent
  FROM p LEFT JOIN l ON l.ref = p.ref LEFT JOIN f ON f.ref = p.ref LEFT JOIN m ON m.ref = p.ref
       LEFT JOIN pat ON pat.ref = p.ref
"""
#: The lone visits: completed home visits in (AS_OF - look-back, AS_OF] whose file had the
#: second_officer column and left it blank (``paired`` false; null: not recorded). Both
#: engines read it from the partial index of completed home visits by date alone.
LONE_SQL = """
SELECT ref, visit_id, visit_date, officer
  FROM visits
 WHERE outcome = 'completed' AND visit_type = 'home' AND visit_date > :start AND visit_date <= :as_of
   AND NOT paired
"""
LISTS = ("overdue_visits", "due_soon", "overdue_risk_reviews", "overdue_notifications", "whereabouts_unknown")
#: The practice measures' lists (docs/practice.md), which the report holds because the
#: benchmark's extract has the practice columns.
PRACTICE_LISTS = ("lone_visits", "predictable_visits", "overdue_supervisor_reviews", "long_plan_intervals")


def report_lists(conn: Any, dialect: str, as_of: date) -> dict[str, list[dict[str, Any]]]:
    """The report's five backlog lists and four practice lists, each in report order (risk,
    MAPPA level 2 and 3 first, then most overdue first, or newest first, then ref)."""
    sql = POSTGRESQL_SQL if dialect == "postgresql" else SQLITE_SQL
    lone_sql = LONE_SQL
    params: dict[str, Any] = {"as_of": as_of, "start": as_of - LOOKBACK}
    if dialect == "postgresql":
        sql = sql.replace(":as_of", "%(as_of)s")
        lone_sql = lone_sql.replace(":as_of", "%(as_of)s").replace(":start", "%(start)s")
    else:  # the product stores SQLite dates as ISO text
        params = {name: value.isoformat() for name, value in params.items()}
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

    out: dict[str, list[dict[str, Any]]] = {name: [] for name in (*LISTS, *PRACTICE_LISTS)}
    #: Everyone in scope, for their lone visits: (base, MAPPA tags).
    people: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    review_due: dict[date, date] = {}  # supervisor review due dates by the day counted from
    cur = conn.cursor()
    cur.execute(sql, params)
    for row in cur:
        ref, risk, team, om, status, _management, registered, s, assessed, notified, nfa = row[:11]
        plan, category, level, reviewed, review_recorded = row[11:16]
        visited, last_visit, last_any, failed, recent = row[16:]
        registered, s, assessed, notified = day(registered), day(s), day(assessed), day(notified)
        assert registered is not None and s is not None
        base = {"ref": ref, "risk_level": risk, "team": team, "offender_manager": om}
        tags = {"mappa_category": category, "mappa_level": level}
        people[ref] = (base, tags)
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
        if recent is not None:  # listed by the query: a pattern in the last N visits
            out["predictable_visits"].append({**base, **pattern(recent), **tags})
        if review_recorded and status in ("community", "missing") and s <= as_of:
            reviewed = day(reviewed)
            anchor = reviewed if reviewed is not None and reviewed >= s else s
            due = review_due.get(anchor) or review_due.setdefault(anchor, add_months(anchor, SUPERVISOR_MONTHS))
            if as_of > due:
                out["overdue_supervisor_reviews"].append(
                    {
                        **base,
                        "due_date": due.isoformat(),
                        "days_overdue": (as_of - due).days,
                        "last_reviewed": iso(reviewed),
                        **tags,
                    }
                )
        if plan:
            plan_months, plan_days = span(plan)
            default = INTERVAL_MONTHS[risk]
            if plan_months * MONTH_UNITS + plan_days * DAY_UNITS > PLAN_MULTIPLE * default * MONTH_UNITS:
                out["long_plan_intervals"].append(
                    {
                        **base,
                        "status": status,
                        "interval": canonical(plan_months, plan_days),
                        "default_interval": f"P{default}M",
                        **tags,
                    }
                )
    cur.execute(lone_sql, params)
    for ref, visit_id, visit_date, officer in cur:
        person = people.get(ref)
        if person is None:  # not in scope on AS_OF
            continue
        base, tags = person
        out["lone_visits"].append(
            {
                "visit_id": visit_id,
                **base,
                "visit_date": iso(day(visit_date)),
                "officer": officer or base["offender_manager"],
                **tags,
            }
        )
    cur.close()
    for name in (*LISTS, "overdue_supervisor_reviews"):
        days = "days_missing" if name == "whereabouts_unknown" else "days_overdue"
        out[name].sort(key=lambda r: (RISK_ORDER[r["risk_level"]], mappa_rank(r["mappa_level"]), -r[days], r["ref"]))
    for name in ("predictable_visits", "long_plan_intervals"):
        out[name].sort(key=lambda r: (RISK_ORDER[r["risk_level"]], mappa_rank(r["mappa_level"]), r["ref"]))
    out["lone_visits"].sort(  # newest first
        key=lambda r: (
            RISK_ORDER[r["risk_level"]],
            mappa_rank(r["mappa_level"]),
            -date.fromisoformat(r["visit_date"]).toordinal(),
            r["ref"],
            r["visit_id"],
        )
    )
    return out


def pattern(recent: str) -> dict[str, Any]:
    """A predictable_visits entry's fields from the query's text (see ``_PATTERN``)."""
    low_day, high_day, timed, earliest, latest = recent.split(" ")
    weekday = WEEKDAYS[int(low_day)] if low_day == high_day else None
    window = never = None
    if int(timed) == LAST_N:  # every one of the N had a time
        lo, hi = int(earliest), int(latest)
        if hi - lo <= SAME_TIME:
            window = f"{lo // 60:02d}:{lo % 60:02d}-{hi // 60:02d}:{hi % 60:02d}"
        never = hi < EVENING
    words = []
    if weekday:
        words.append(f"all on {weekday}s")
    if window:
        words.append("all between {} and {}".format(*window.split("-")))
    if never:
        words.append("none in the evening")
    return {
        "last_visits": LAST_N,
        "same_weekday": weekday,
        "same_time": window,
        "never_in_evening": never,
        "pattern": f"last {LAST_N} visits " + ", ".join(words),
    }


def canonical(months: int, days: int) -> str:
    """A plan interval in the one form the report gives: months, days, or months and days."""
    return "P" + (f"{months}M" if months else "") + (f"{days}D" if days or not months else "")


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
