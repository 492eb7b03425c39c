"""The practice measures (docs/practice.md), independently: the second half of tests/oracle.py.

Written from the rules as docs/practice.md states them, in plain loops over the CSV rows,
importing nothing from ``monitor`` (only tests/oracle.py's tiny parsers). ``oracle()``
calls :func:`extend` when the measures are on.

The rules, in short:
* On when ``practice_measures`` is "on", or "auto" and either file's header has one of the
  practice columns.
* A person's visit interval is their plan's ``visit_interval`` when given, else their risk
  level's; every case line carries ``mappa_category`` and ``mappa_level``, visits also
  ``interval`` (canonical ISO: ``PnM``, ``PnD`` or ``PnMnD``) and ``interval_source``.
* Lists are ordered by risk, then MAPPA level 2 or 3 before the rest, then as before.
* Lone visits: completed home visits in (as_of - look-back, as_of] of people in scope, with
  a blank ``second_officer`` (only when the column exists); newest first within risk and
  MAPPA rank, then ref and visit id.
* Predictable visits: people owing visits whose last N completed home visits on or before
  as_of (newest first by date, then timed before untimed, later time first, then visit id)
  all fell on one weekday, or all have times within 120 minutes, or all have times and none
  at or after 18:00.
* Supervisor reviews: community or missing people from S on; due the interval after the
  last review, or after S when there is none or it was before S.
* Long plan intervals: a plan longer on average than the multiple times the default
  (a month being 146097/4800 days).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

PRACTICE_COLUMNS = {
    "offenders.csv": ("visit_interval", "mappa_category", "mappa_level", "supervisor_reviewed_on"),
    "visits.csv": ("second_officer", "announced"),
}
PRACTICE_POLICY: dict[str, Any] = {
    "practice_measures": "auto",
    "plan_interval_warn_multiple": 2,
    "lone_visit_lookback": "P90D",
    "predictable_visits_last": 3,
    "supervisor_review_interval": {"very_high": "P3M", "high": "P3M", "medium": "P3M", "low": "P3M"},
    "caseload_ceiling": 50,
    "caseload_weights": {"very_high": 3.0, "high": 1.5, "medium": 1.0, "low": 0.75},
}
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EVENING = 18 * 60
WINDOW = 120


def recorded(directory: Path) -> set[str]:
    """The practice columns the extract's headers name."""
    found: set[str] = set()
    for name, columns in PRACTICE_COLUMNS.items():
        header = (directory / name).read_text(encoding="utf-8").split("\n", 1)[0].split(",")
        found.update(c for c in columns if c in header)
    return found


def canonical(months: int, days: int) -> str:
    out = "P"
    if months:
        out += f"{months}M"
    if days or not months:
        out += f"{days}D"
    return out


def visit_moment(text: str) -> tuple[date, int | None]:
    """A clean visit_date cell: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` (London time)."""
    day_text, _, clock = text.partition("T")
    y, m, d = day_text.split("-")
    minute = None
    if clock:
        hours, mins = clock.split(":")[:2]
        minute = int(hours) * 60 + int(mins)
    return date(int(y), int(m), int(d)), minute


def number(text: str) -> int | None:
    return int(text) if text else None


def tags(o: Mapping[str, str]) -> dict[str, Any]:
    return {"mappa_category": number(o.get("mappa_category", "")), "mappa_level": number(o.get("mappa_level", ""))}


def mappa_rank(entry: Mapping[str, Any]) -> int:
    return 0 if entry.get("mappa_level") in (2, 3) else 1


def average_units(span: Any) -> int:
    return span.months * 146097 + span.days * 4800


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def extend(
    report: dict[str, Any],
    *,
    directory: Path,
    as_of: date,
    pol: Mapping[str, Any],
    span: Any,
    people: list[dict[str, Any]],
    visits_by_ref: Mapping[str, list[dict[str, str]]],
    columns: set[str],
    rank: Mapping[str, int],
) -> None:
    """Add the practice lists and summary keys to ``report`` (its backlog lists already made).

    ``people``: each in-scope person's offenders.csv row with ``_s`` (S, a date) and
    ``_owes`` (owes visits on as_of); ``span``: tests/oracle.py's duration parser.
    """
    n = int(pol["predictable_visits_last"])
    lookback = span.of(pol["lone_visit_lookback"])
    start = _back(as_of, lookback)
    reviews = {r: span.of(v) for r, v in _per_risk(pol["supervisor_review_interval"]).items()}
    defaults = {r: span.of(v) for r, v in pol["intervals"].items()}
    multiple = float(pol["plan_interval_warn_multiple"])
    by_ref = {o["ref"]: o for o in people}
    names = bool(pol["include_names"])

    def base(o: Mapping[str, str]) -> dict[str, Any]:
        return {
            "ref": o["ref"],
            "risk_level": o["risk_level"],
            "team": o["team"],
            "offender_manager": o["offender_manager"],
        }

    lone: list[dict[str, Any]] = []
    tallies: dict[tuple[str, str], list[int]] = {}  # (team, officer): home, pairing, lone, announcing, announced
    reads_visits = bool(columns & {"second_officer", "announced"})  # else not recorded: nothing tallied
    for ref, visits in visits_by_ref.items() if reads_visits else ():
        o = by_ref.get(ref)
        if o is None:
            continue
        for v in visits:
            day, _minute = visit_moment(v["visit_date"])
            if v["outcome"] != "completed" or (v["visit_type"] or "home") != "home" or not start < day <= as_of:
                continue
            who = v["officer"] or o["offender_manager"]
            t = tallies.setdefault((o["team"], who), [0, 0, 0, 0, 0])
            t[0] += 1
            if "second_officer" in columns:
                t[1] += 1
                if not v["second_officer"]:
                    t[2] += 1
                    lone.append(
                        {
                            "visit_id": v["visit_id"],
                            **base(o),
                            "visit_date": day.isoformat(),
                            "officer": who,
                            **tags(o),
                        }
                    )
            if "announced" in columns:
                t[3] += 1
                if v["announced"] == "true":
                    t[4] += 1
    lone.sort(
        key=lambda e: (
            rank[e["risk_level"]],
            mappa_rank(e),
            -date.fromisoformat(e["visit_date"]).toordinal(),
            e["ref"],
            e["visit_id"],
        )
    )

    patterns: list[dict[str, Any]] = []
    for o in people:
        if not o["_owes"]:
            continue
        done = []
        for v in visits_by_ref.get(o["ref"], []):
            day, minute = visit_moment(v["visit_date"])
            if v["outcome"] == "completed" and (v["visit_type"] or "home") == "home" and day <= as_of:
                done.append((day, minute is not None, minute or 0, v["visit_id"], minute))
        done.sort(reverse=True)
        last = done[:n]
        if len(last) != n:
            continue
        weekdays = {d.weekday() for d, *_ in last}
        minutes = [m for *_, m in last]
        same_day = WEEKDAY_NAMES[last[0][0].weekday()] if len(weekdays) == 1 else None
        timed = all(m is not None for m in minutes)
        window = None
        never = None
        if timed:
            lo, hi = min(minutes), max(minutes)  # type: ignore[type-var]
            if hi - lo <= WINDOW:
                window = f"{lo // 60:02d}:{lo % 60:02d}-{hi // 60:02d}:{hi % 60:02d}"
            never = all(m < EVENING for m in minutes)  # type: ignore[operator]
        if same_day is None and window is None and not never:
            continue
        words = []
        if same_day:
            words.append(f"all on {same_day}s")
        if window:
            lo_text, hi_text = window.split("-")
            words.append(f"all between {lo_text} and {hi_text}")
        if never:
            words.append("none in the evening")
        patterns.append(
            {
                **base(o),
                "last_visits": n,
                "same_weekday": same_day,
                "same_time": window,
                "never_in_evening": never,
                "pattern": f"last {n} visits " + ", ".join(words),
                **tags(o),
            }
        )
    patterns.sort(key=lambda e: (rank[e["risk_level"]], mappa_rank(e), e["ref"]))

    supervision: list[dict[str, Any]] = []
    if "supervisor_reviewed_on" in columns:
        for o in people:
            s = o["_s"]
            if o["status"] not in ("community", "missing") or s > as_of:
                continue
            text = o["supervisor_reviewed_on"]
            reviewed = date.fromisoformat(text) if text else None
            anchor = reviewed if reviewed is not None and reviewed >= s else s
            due = reviews[o["risk_level"]].after(anchor)
            if as_of > due:
                entry = {
                    **base(o),
                    "due_date": due.isoformat(),
                    "days_overdue": (as_of - due).days,
                    "last_reviewed": reviewed.isoformat() if reviewed else None,
                    **tags(o),
                }
                if names:
                    entry.update(_personal(o))
                supervision.append(entry)
    supervision.sort(key=lambda e: (rank[e["risk_level"]], mappa_rank(e), -e["days_overdue"], e["ref"]))

    long_plans = []
    for o in people:
        plan = o.get("visit_interval", "")
        if not plan:
            continue
        mine, default = span.of(plan), defaults[o["risk_level"]]
        if average_units(mine) > multiple * average_units(default):
            long_plans.append(
                {
                    **base(o),
                    "status": o["status"],
                    "interval": canonical(mine.months, mine.days),
                    "default_interval": canonical(default.months, default.days),
                    **tags(o),
                }
            )
    long_plans.sort(key=lambda e: (rank[e["risk_level"]], mappa_rank(e), e["ref"]))

    if "second_officer" in columns:
        report["lone_visits"] = lone
    report["predictable_visits"] = patterns
    if "supervisor_reviewed_on" in columns:
        report["overdue_supervisor_reviews"] = supervision
    report["long_plan_intervals"] = long_plans

    weights = pol["caseload_weights"]
    ceiling = int(pol["caseload_ceiling"])
    count: dict[str, int] = {}
    weighted: dict[str, float] = {}
    for o in people:
        om = o["offender_manager"]
        count[om] = count.get(om, 0) + 1
        weighted[om] = weighted.get(om, 0.0) + weights[o["risk_level"]]
    caseloads = {
        om: {
            "caseload": count[om],
            "weighted": round(weighted[om], 2),
            "over_ceiling": count[om] > ceiling or round(weighted[om], 2) > ceiling,
        }
        for om in sorted(count)
    }

    def tally(team: str | None = None, officer: str | None = None) -> list[int]:
        out = [0, 0, 0, 0, 0]
        for (t, who), counts in tallies.items():
            if (team is None or t == team) and (officer is None or who == officer):
                out = [a + b for a, b in zip(out, counts, strict=True)]
        return out

    def lone_share(t: list[int]) -> float | None:
        return share(t[2], t[1]) if "second_officer" in columns else None

    def announced_share(t: list[int]) -> float | None:
        return share(t[4], t[3]) if "announced" in columns else None

    total = tally()
    summary = report["summary"]
    teams = sorted({t for t, _ in tallies} | set(summary["caseload_by_team"]))
    officers = sorted({who for _, who in tallies})
    by_category = {"1": 0, "2": 0, "3": 0, "4": 0, "none": 0}
    by_level = {"1": 0, "2": 0, "3": 0, "none": 0}
    for o in people:
        by_category[o.get("mappa_category") or "none"] += 1
        by_level[o.get("mappa_level") or "none"] += 1
    late = {"1": 0, "2": 0, "3": 0, "none": 0}
    for item in report["overdue_visits"]:
        late[str(item["mappa_level"]) if item["mappa_level"] is not None else "none"] += 1
    summary.update(
        {
            "practice_recorded": sorted(columns),
            "plan_intervals": sum(1 for o in people if o["_owes"] and o.get("visit_interval")),
            "long_plan_intervals": len(long_plans),
            "lone_visit_lookback": canonical(lookback.months, lookback.days),
            "home_visits_in_lookback": total[0] if reads_visits else None,
            "lone_visits": total[2] if "second_officer" in columns else None,
            "lone_visit_share": lone_share(total),
            "lone_visit_share_by_team": {t: lone_share(tally(team=t)) for t in teams},
            "lone_visit_share_by_officer": {who: lone_share(tally(officer=who)) for who in officers},
            "announced_visits": total[4] if "announced" in columns else None,
            "announced_share": announced_share(total),
            "announced_share_by_team": {t: announced_share(tally(team=t)) for t in teams},
            "predictable_visits": len(patterns),
            "overdue_supervisor_reviews": len(supervision) if "supervisor_reviewed_on" in columns else None,
            "caseload_ceiling": ceiling,
            "officers_over_ceiling": sum(1 for c in caseloads.values() if c["over_ceiling"]),
            "officer_caseloads": caseloads,
            "mappa": {
                "caseload_by_category": by_category,
                "caseload_by_level": by_level,
                "overdue_visits_by_level": late,
            },
        }
    )


def _back(as_of: date, lookback: Any) -> date:
    """as_of minus the look-back (months clamped to the month's end, then days)."""
    total = as_of.year * 12 + as_of.month - 1 - lookback.months
    year, month0 = divmod(total, 12)
    from oracle import month_length

    moved = date(year, month0 + 1, min(as_of.day, month_length(year, month0 + 1)))
    return moved - timedelta(days=lookback.days)


def _per_risk(value: Any) -> dict[str, str]:
    return dict.fromkeys(("very_high", "high", "medium", "low"), value) if isinstance(value, str) else dict(value)


def _personal(o: Mapping[str, str]) -> dict[str, Any]:
    return {
        "surname": o["surname"] or None,
        "forenames": o["forenames"] or None,
        "date_of_birth": o["date_of_birth"] or None,
    }
