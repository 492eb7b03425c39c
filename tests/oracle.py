"""An independent, deliberately naive implementation of docs/rules.md, for cross-checking the engine.

Why: the engine (monitor.rules.scan) is set-based SQL tuned for a national register; a second
implementation written separately, in plain Python loops over the CSV files, is the
cheapest way to catch a wrong boundary, a missed filter or a sort mistake. To stay
independent it imports nothing from ``monitor``: its own CSV reading (for the clean
generator format only: LF, no BOM, no quoting, ISO dates), its own ISO 8601 duration
parsing and its own month arithmetic with end-of-month clamping.

``oracle(directory, as_of, ...)`` returns the dict ``Obligations.to_json()`` produces. The
practice measures (plan intervals, MAPPA, lone and predictable visits, supervisor reviews,
caseloads) are in tests/oracle_practice.py, written the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import oracle_practice

RISKS = ("very_high", "high", "medium", "low")
RANK = {r: i for i, r in enumerate(RISKS)}
BANDS = ("1-7", "8-28", "29-90", "91+")

DEFAULT_POLICY: dict[str, Any] = {
    "intervals": {"very_high": "P1M", "high": "P3M", "medium": "P6M", "low": "P12M"},
    "first_visit_within": "P28D",
    "review_interval": {"very_high": "P12M", "high": "P12M", "medium": "P12M", "low": "P12M"},
    "notification_interval": "P1Y",
    "notification_interval_no_fixed_abode": "P7D",
    "notification_after_return": "P3D",
    "due_soon_days": 14,
    "failed_attempts_flag": 2,
    "include_names": False,
}


# --- tiny parsers -----------------------------------------------------------------------


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a clean generator CSV: UTF-8, LF, first line the header, no quoting."""
    text = path.read_bytes().decode("utf-8")
    assert not text.startswith("\ufeff") and "\r" not in text and '"' not in text, f"{path} is not clean format"
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = lines[0].split(",")
    rows = []
    for line in lines[1:]:
        cells = line.split(",")
        assert len(cells) == len(header), f"{path}: bad row {line!r}"
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def day(text: str) -> date | None:
    if text == "":
        return None
    y, m, d = text.split("-")
    return date(int(y), int(m), int(d))


def month_length(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


@dataclass(frozen=True)
class Span:
    """An ISO 8601 date duration: months (years folded in) then days."""

    months: int
    days: int

    @classmethod
    def of(cls, text: str) -> Span:
        m = re.fullmatch(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?", text.strip().upper())
        assert m and text.strip().upper() != "P", text
        y, mo, w, d = (int(g) if g else 0 for g in m.groups())
        return cls(12 * y + mo, 7 * w + d)

    def after(self, start: date) -> date:
        total = start.year * 12 + start.month - 1 + self.months
        year, month0 = divmod(total, 12)
        moved = date(year, month0 + 1, min(start.day, month_length(year, month0 + 1)))
        return moved + timedelta(days=self.days)


def _policy(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = {**DEFAULT_POLICY, **oracle_practice.PRACTICE_POLICY}
    for key, value in (raw or {}).items():
        if isinstance(value, Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if isinstance(merged["review_interval"], str):
        merged["review_interval"] = dict.fromkeys(RISKS, merged["review_interval"])
    return merged


# --- the rules --------------------------------------------------------------------------


def oracle(
    directory: Path,
    as_of: date,
    *,
    policy: Mapping[str, Any] | None = None,
    team: str | None = None,
    officer: str | None = None,
    absent: Mapping[str, date] | None = None,
) -> dict[str, Any]:
    """The JSON report docs/rules.md prescribes for the register in ``directory`` on ``as_of``.

    ``absent`` maps refs that a later full extract left out to the date they were marked
    (the register in ``directory`` still holds them).
    """
    pol = _policy(policy)
    intervals = {r: Span.of(pol["intervals"][r]) for r in RISKS}
    reviews = {r: Span.of(pol["review_interval"][r]) for r in RISKS}
    window = Span.of(pol["first_visit_within"])
    notify = Span.of(pol["notification_interval"])
    notify_nfa = Span.of(pol["notification_interval_no_fixed_abode"])
    after_return = Span.of(pol["notification_after_return"])
    soon = int(pol["due_soon_days"])
    flag = int(pol["failed_attempts_flag"])
    names = bool(pol["include_names"])

    columns = oracle_practice.recorded(directory)
    practice = pol["practice_measures"] == "on" or (pol["practice_measures"] == "auto" and bool(columns))
    visits_by_ref: dict[str, list[tuple[date, str, str]]] = {}
    visit_rows: dict[str, list[dict[str, str]]] = {}
    for v in read_rows(directory / "visits.csv"):
        vd = oracle_practice.visit_moment(v["visit_date"])[0]
        visits_by_ref.setdefault(v["ref"], []).append((vd, v["outcome"], v["visit_type"] or "home"))
        visit_rows.setdefault(v["ref"], []).append(v)
    people: list[dict[str, Any]] = []

    overdue: list[dict[str, Any]] = []
    due_soon: list[dict[str, Any]] = []
    reviews_out: list[dict[str, Any]] = []
    notes_out: list[dict[str, Any]] = []
    missing_out: list[dict[str, Any]] = []
    absent_out: list[dict[str, Any]] = []
    reactive_out: list[dict[str, Any]] = []
    caseload_team: dict[str, int] = {}
    caseload_risk = dict.fromkeys(RISKS, 0)
    active = 0

    for o in read_rows(directory / "offenders.csv"):
        if team is not None and o["team"] != team:
            continue
        if officer is not None and o["offender_manager"] != officer:
            continue
        registered = day(o["registered_on"])
        ends = day(o["registration_ends"])
        status = o["status"]
        assert registered is not None
        if registered > as_of or (ends is not None and ends < as_of) or status in ("deceased", "deregistered"):
            continue
        active += 1
        risk = o["risk_level"]
        caseload_team[o["team"]] = caseload_team.get(o["team"], 0) + 1
        caseload_risk[risk] += 1
        since = day(o["status_since"]) or registered
        base = {
            "ref": o["ref"],
            "risk_level": risk,
            "team": o["team"],
            "offender_manager": o["offender_manager"],
        }
        personal = (
            {
                "surname": o["surname"] or None,
                "forenames": o["forenames"] or None,
                "date_of_birth": o["date_of_birth"] or None,
            }
            if names
            else {}
        )
        visits = visits_by_ref.get(o["ref"], [])
        owes = status == "community" and since <= as_of and (o["management"] or "active") == "active"
        people.append({**o, "_s": since, "_owes": owes})
        tags = oracle_practice.tags(o) if practice else {}
        plan = o.get("visit_interval", "") if practice else ""
        gone = absent.get(o["ref"]) if absent else None
        if gone is not None and gone <= as_of:
            absent_out.append(
                {**base, "status": status, "absent_since": gone.isoformat(), "days_absent": (as_of - gone).days, **tags}
            )
        if o["management"] == "reactive" and risk in ("very_high", "high"):
            reactive_out.append({**base, "status": status, **tags})

        if owes:
            last: date | None = None
            for vd, outcome, vtype in visits:
                if outcome == "completed" and vtype == "home" and since <= vd <= as_of and (last is None or vd > last):
                    last = vd
            interval = Span.of(plan) if plan else intervals[risk]
            due = interval.after(last) if last else window.after(since)
            late = (as_of - due).days
            failed = 0
            for vd, outcome, vtype in visits:
                if outcome != "no_access" or vtype != "home" or vd > as_of:
                    continue
                if (last is not None and vd > last) or (last is None and vd >= since):
                    failed += 1
            item = {
                **base,
                "due_date": due.isoformat(),
                "days_overdue": late,
                "last_visit": last.isoformat() if last else None,
                "failed_attempts": failed,
                "warrant_flag": failed >= flag,
            }
            if late <= 0:
                item["due_in_days"] = -late
            if practice:
                item["interval"] = oracle_practice.canonical(interval.months, interval.days)
                item["interval_source"] = "plan" if plan else "risk_level"
                item.update(tags)
            item.update(personal)
            if late > 0:
                overdue.append(item)
            elif late >= -soon:
                due_soon.append(item)

        if status == "community" and since <= as_of:
            assessed = day(o["risk_assessed_on"])
            first = window.after(since)
            if assessed is None:
                due = first
            elif assessed < since:
                due = max(reviews[risk].after(assessed), first)
            else:
                due = reviews[risk].after(assessed)
            if as_of > due:
                reviews_out.append(
                    {
                        **base,
                        "due_date": due.isoformat(),
                        "days_overdue": (as_of - due).days,
                        "last_assessed": assessed.isoformat() if assessed else None,
                        **tags,
                        **personal,
                    }
                )

        if status in ("community", "missing"):
            notified = day(o["last_notified_on"])
            nfa = o["no_fixed_abode"] == "true"
            due = (notify_nfa if nfa else notify).after(notified or registered)
            if status == "community" and since > registered and due < since:
                due = after_return.after(since)
            if as_of > due:
                notes_out.append(
                    {
                        **base,
                        "due_date": due.isoformat(),
                        "days_overdue": (as_of - due).days,
                        "last_notified": notified.isoformat() if notified else None,
                        "no_fixed_abode": nfa,
                        **tags,
                        **personal,
                    }
                )

        if status == "missing" and since <= as_of:
            seen = [vd for vd, outcome, vtype in visits if outcome == "completed" and vtype == "home" and vd <= as_of]
            missing_out.append(
                {
                    **base,
                    "missing_since": since.isoformat(),
                    "days_missing": (as_of - since).days,
                    "last_visit": max(seen).isoformat() if seen else None,
                    **tags,
                    **personal,
                }
            )

    def order(rows: list[dict[str, Any]], key: str = "days_overdue") -> list[dict[str, Any]]:
        return sorted(rows, key=lambda r: (RANK[r["risk_level"]], oracle_practice.mappa_rank(r), -r[key], r["ref"]))

    overdue, due_soon = order(overdue), order(due_soon)
    by_risk = dict.fromkeys(RISKS, 0)
    by_team = dict.fromkeys(caseload_team, 0)
    by_age = dict.fromkeys(BANDS, 0)
    risk_by_age = {r: dict.fromkeys(BANDS, 0) for r in RISKS}
    for item in overdue:
        band = _band(item["days_overdue"])
        by_risk[item["risk_level"]] += 1
        by_team[item["team"]] += 1
        by_age[band] += 1
        risk_by_age[item["risk_level"]][band] += 1
    # The most days overdue; of those, the highest risk, then the first ref.
    worst = min(overdue, key=lambda i: (-i["days_overdue"], RANK[i["risk_level"]], i["ref"]), default=None)
    summary = {
        "active_caseload": active,
        "overdue_visits": len(overdue),
        "by_risk": by_risk,
        "by_team": by_team,
        "by_age": by_age,
        "most_overdue_days": worst["days_overdue"] if worst else None,
        "most_overdue_ref": worst["ref"] if worst else None,
        "due_soon": len(due_soon),
        "overdue_risk_reviews": len(reviews_out),
        "overdue_notifications": len(notes_out),
        "whereabouts_unknown": len(missing_out),
        "failed_attempt_flags": sum(1 for i in overdue + due_soon if i["warrant_flag"]),
        "caseload_by_team": caseload_team,
        "caseload_by_risk": caseload_risk,
        "risk_by_age": risk_by_age,
        "not_in_extract": len(absent_out),
        "reactive_high_risk": len(reactive_out),
    }
    report: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "overdue_visits": overdue,
        "due_soon": due_soon,
        "overdue_risk_reviews": order(reviews_out),
        "overdue_notifications": order(notes_out),
        "whereabouts_unknown": order(missing_out, "days_missing"),
        "not_in_extract": order(absent_out, "days_absent"),
        "reactive_high_risk": sorted(
            reactive_out, key=lambda r: (RANK[r["risk_level"]], oracle_practice.mappa_rank(r), r["ref"])
        ),
        "summary": summary,
    }
    if practice:
        summary = report.pop("summary")
        report["summary"] = summary  # after the practice lists, as in the engine's JSON
        oracle_practice.extend(
            report,
            directory=directory,
            as_of=as_of,
            pol=pol,
            span=Span,
            people=people,
            visits_by_ref=visit_rows,
            columns=columns,
            rank=RANK,
        )
        report["summary"] = report.pop("summary")
    return report


def _band(days: int) -> str:
    return "1-7" if days <= 7 else "8-28" if days <= 28 else "29-90" if days <= 90 else "91+"


def owing_visits(directory: Path, as_of: date) -> int:
    """How many in-scope people owe routine home visits (community, active management)."""
    n = 0
    for o in read_rows(directory / "offenders.csv"):
        registered, ends = day(o["registered_on"]), day(o["registration_ends"])
        assert registered is not None
        if registered > as_of or (ends is not None and ends < as_of):
            continue
        if o["status"] == "community" and (o["management"] or "active") == "active":
            n += 1
    return n


def differences(actual: Mapping[str, Any], expected: Mapping[str, Any], limit: int = 20) -> list[str]:
    """Human-readable differences between two reports: list, position, ref, field."""
    out: list[str] = []
    for key in sorted(set(actual) | set(expected)):
        a, e = actual.get(key), expected.get(key)
        if a == e:
            continue
        if isinstance(a, list) and isinstance(e, list):
            before = len(out)
            a_refs = {r["ref"]: r for r in a}
            e_refs = {r["ref"]: r for r in e}
            for ref in sorted(set(e_refs) - set(a_refs)):
                out.append(f"{key}: engine is missing {ref}: oracle has {e_refs[ref]}")
            for ref in sorted(set(a_refs) - set(e_refs)):
                out.append(f"{key}: engine has extra {ref}: {a_refs[ref]}")
            for ref in sorted(set(a_refs) & set(e_refs)):
                if a_refs[ref] != e_refs[ref]:
                    fields = sorted(
                        f for f in set(a_refs[ref]) | set(e_refs[ref]) if a_refs[ref].get(f) != e_refs[ref].get(f)
                    )
                    detail = ", ".join(
                        f"{f}: engine {a_refs[ref].get(f)!r} oracle {e_refs[ref].get(f)!r}" for f in fields
                    )
                    out.append(f"{key}: {ref} differs: {detail}")
            if len(out) == before and [r["ref"] for r in a] != [r["ref"] for r in e]:
                out.append(f"{key}: same rows, different order: engine {[r['ref'] for r in a][:10]}...")
        elif isinstance(a, Mapping) and isinstance(e, Mapping):
            for k in sorted(set(a) | set(e)):
                if a.get(k) != e.get(k):
                    out.append(f"{key}.{k}: engine {a.get(k)!r} oracle {e.get(k)!r}")
        else:
            out.append(f"{key}: engine {a!r} oracle {e!r}")
        if len(out) >= limit:
            break
    return out[:limit]
