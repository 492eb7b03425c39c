"""The week's plan and the forecast's returns, independently: written from docs/planning.md and
docs/practice.md, in plain loops over a clean extract's CSV rows, importing nothing from
``monitor`` (only tests/oracle.py's tiny parsers).

The rules, as the docs state them:

* The week is Monday to Sunday holding the as-of date.
* A person owes a home visit when in scope (registered on or before the as-of date, the
  registration not ended before it, not deceased or deregistered), in the community,
  actively managed, and S (``status_since``, else ``registered_on``) is on or before the
  as-of date. Due: the last completed home visit dated from S to the as-of date plus their
  interval, else S plus 28 days. Their interval is their plan's ``visit_interval`` when the
  practice measures are on (``auto``: the extract has a practice column) and they have one,
  else their risk level's.
* An officer's candidates are the people they manage who owe a visit due on or before the
  week's Sunday; most urgent first: risk level, then due date, then reference.
* Their capacity this week (officers.csv states ``visits_per_week`` for every officer here;
  no absences): 0 when inactive, else that number, less the home visits (completed or no
  access) they led from the week's Monday to the as-of date to people of their own team in
  scope. The first that many are planned; the rest did not fit.
* The forecast: someone in custody whose ``expected_release`` is on or after the as-of date
  returns in week ``(release - as_of) // 7``; one whose date is past is not forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from oracle import Span, day, read_rows
from oracle_practice import recorded

RISKS = ("very_high", "high", "medium", "low")
DEFAULT_MONTHS = {"very_high": 1, "high": 3, "medium": 6, "low": 12}
FIRST_VISIT = timedelta(days=28)


@dataclass(frozen=True)
class Due:
    ref: str
    risk: str
    officer: str
    team: str
    due: date
    interval: str
    source: str


def owed(directory: Path, as_of: date, measures: str = "auto") -> list[Due]:
    """Everyone owing a home visit on ``as_of``, with their due date and interval."""
    plans_on = measures == "on" or (measures == "auto" and bool(recorded(directory)))
    people = read_rows(directory / "offenders.csv")
    completed: dict[str, list[date]] = {}
    for v in read_rows(directory / "visits.csv"):
        if v["outcome"] == "completed" and v.get("visit_type", "home") in ("home", ""):
            made = day(v["visit_date"][:10])
            assert made is not None
            completed.setdefault(v["ref"], []).append(made)
    out = []
    for o in people:
        registered = day(o["registered_on"])
        assert registered is not None
        ends = day(o.get("registration_ends", ""))
        start = day(o.get("status_since", "")) or registered
        if registered > as_of or (ends is not None and ends < as_of):
            continue
        if o["status"] != "community" or o.get("management", "") not in ("", "active") or start > as_of:
            continue
        plan = o.get("visit_interval", "") if plans_on else ""
        span = Span.of(plan) if plan else Span(DEFAULT_MONTHS[o["risk_level"]], 0)
        seen = [d for d in completed.get(o["ref"], []) if start <= d <= as_of]
        due = span.after(max(seen)) if seen else start + FIRST_VISIT
        interval = f"P{span.months}M" if not span.days else (f"P{span.days}D" if not span.months else None)
        assert interval is not None  # the synthetic plans are months or weeks, not both
        out.append(
            Due(
                o["ref"],
                o["risk_level"],
                o["offender_manager"],
                o["team"],
                due,
                interval,
                "plan" if plan else "risk_level",
            )
        )
    return out


@dataclass(frozen=True)
class OfficerWeek:
    capacity: int
    planned: list[Due]
    did_not_fit: list[Due]


def plan(directory: Path, as_of: date, measures: str = "auto") -> dict[str, OfficerWeek]:
    """Each officer's week (officers who manage a candidate, or any active offender manager)."""
    monday = as_of - timedelta(days=as_of.weekday())
    sunday = monday + timedelta(days=6)
    officers = {o["officer_id"]: o for o in read_rows(directory / "officers.csv")}
    people = {o["ref"]: o for o in read_rows(directory / "offenders.csv")}
    in_scope = {
        ref
        for ref, o in people.items()
        if (day(o["registered_on"]) or as_of) <= as_of
        and (not o.get("registration_ends") or (day(o["registration_ends"]) or as_of) >= as_of)
        and o["status"] not in ("deceased", "deregistered")
    }
    led: dict[str, int] = {}
    for v in read_rows(directory / "visits.csv"):
        made = day(v["visit_date"][:10])
        assert made is not None
        who = v.get("officer", "")
        if not who or not monday <= made <= as_of or v["outcome"] not in ("completed", "no_access"):
            continue
        if v.get("visit_type", "home") not in ("home", "") or v["ref"] not in in_scope:
            continue
        if who in officers and people[v["ref"]]["team"] == officers[who]["team"]:
            led[who] = led.get(who, 0) + 1
    wanted: dict[str, list[Due]] = {}
    for d in owed(directory, as_of, measures):
        if d.due <= sunday:
            wanted.setdefault(d.officer, []).append(d)
    out = {}
    for officer_id, o in officers.items():
        cases = sorted(wanted.get(officer_id, []), key=lambda d: (RISKS.index(d.risk), d.due, d.ref))
        active = o.get("active", "true").lower() not in ("false", "no", "0")
        if not cases and not (active and o["role"] == "offender_manager"):
            continue
        room = max(0, int(o["visits_per_week"]) - led.get(officer_id, 0)) if active else 0
        out[officer_id] = OfficerWeek(room, cases[:room], cases[room:])
    return out


def returning(directory: Path, as_of: date, weeks: int) -> tuple[list[int], int]:
    """People back from custody in each of ``weeks`` weeks, and those whose date has passed."""
    counts = [0] * weeks
    passed = 0
    for o in read_rows(directory / "offenders.csv"):
        back = day(o.get("expected_release", ""))
        registered = day(o["registered_on"])
        ends = day(o.get("registration_ends", ""))
        if back is None or o["status"] != "custody" or registered is None or registered > as_of:
            continue
        if ends is not None and ends < as_of:
            continue
        if back < as_of:
            passed += 1
        elif (back - as_of).days // 7 < weeks:
            counts[(back - as_of).days // 7] += 1
    return counts, passed
