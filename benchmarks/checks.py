"""The national benchmark's checks: that the product's answers are right, not only fast.

Each check is recorded on the run (``Run.check``) with a detail that says where the first
difference is, so a failed check points at a row, not just at a count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lean_full
import lean_report
import messy_extract
from results import Run

ROW_KEYS = ("ref", "due_date", "days_overdue", "last_visit", "failed_attempts")
#: The practice measures' lists (the extract has the practice columns): each listed (not
#: empty, so that comparing it checks something), equal to lean_full.py's, and the same on
#: both engines.
PRACTICE_LISTS = lean_full.PRACTICE_LISTS


def check_rejects(run: Run, manifest: messy_extract.Manifest, rejects: Path) -> None:
    """Every bad line, and nothing else, rejected (each file, by physical line)."""
    got: dict[str, set[int]] = {name: set() for name in manifest.files}
    if rejects.exists():
        import csv

        with open(rejects, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                got.setdefault(row["file"].lower(), set()).add(int(row["line"]))
    for name in manifest.files:
        want = manifest.bad_lines(name)
        run.check(
            f"{name}: rejected exactly the {len(want)} bad lines",
            got.get(name) == want,
            f"missed {sorted(want - got.get(name, set()))[:5]}, extra {sorted(got.get(name, set()) - want)[:5]}",
        )


def check_stored(run: Run, url: str, manifest: messy_extract.Manifest) -> None:
    conn, _dialect = lean_report.connect(url)
    try:
        cur = conn.cursor()
        for name, facts in manifest.files.items():
            cur.execute(f"SELECT COUNT(*) FROM {name.removesuffix('.csv')}")
            stored = cur.fetchone()[0]
            run.check(f"{name}: stored every good row", stored == facts.good, f"{stored} stored, {facts.good} good")
    finally:
        conn.close()


def rows(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(o[k] for k in ROW_KEYS) for o in items]


def read_json(run: Run, path: Path, what: str) -> Any:
    """``path`` parsed, or None with a failed check saying why (a national report is read
    once, here, for every check of it: at 300,000 people it is 80 MB of JSON)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        run.check(f"{what} readable", False, f"{type(exc).__name__}: {exc}")
        return None


def check_report(
    run: Run, manifest: messy_extract.Manifest, report: dict[str, Any], lean_path: Path
) -> list[tuple[Any, ...]] | None:
    """The report's overdue visits against the lean query's and the generator's truth;
    returns the lean query's rows (None if unreadable) for the checks that follow."""
    lean_json = read_json(run, lean_path, "lean query")
    if lean_json is None:
        return None
    lean = lean_json.get("overdue_visits", [])
    product, yard = rows(report.get("overdue_visits", [])), rows(lean)
    truth = [(ref, due, days, last, failed) for ref, _risk, due, days, last, failed in manifest.overdue]
    run.rows = product
    run.info["overdue_visits"] = len(product)
    run.check(
        f"report overdue_visits == lean query ({len(yard)} rows, in order)",
        product == yard,
        first_difference(product, yard),
    )
    run.check(f"lean query == generator's truth ({len(truth)} rows)", yard == truth, first_difference(yard, truth))
    caseload = report.get("summary", {}).get("active_caseload")
    run.check("report active_caseload == truth", caseload == manifest.caseload, f"{caseload} vs {manifest.caseload}")
    return yard


def check_all_lists(run: Run, report: dict[str, Any], full_path: Path) -> None:
    """Every entry of the report's five backlog lists and four practice lists equals
    lean_full.py's, in the same order; and each practice list has entries."""
    full = read_json(run, full_path, "lean_full")
    if full is None:
        return
    for name in (*lean_full.LISTS, *PRACTICE_LISTS):
        product, yard = entries(report.get(name, [])), entries(full.get(name, []))
        run.lists[name] = product
        run.check(
            f"report {name} == lean_full ({len(yard)} entries, in order)",
            product == yard and name in report,
            first_difference(product, yard),
        )
    listed = [name for name in PRACTICE_LISTS if report.get(name)]
    run.check(
        "report lists the practice measures (lone, predictable, supervisor reviews, long plans)",
        listed == list(PRACTICE_LISTS),
        f"listed {listed}",
    )


def check_sectioned(run: Run, report: dict[str, Any], sectioned_path: Path, yard: list[tuple[Any, ...]]) -> None:
    """``report --section overdue_visit``: the lean query's rows (``yard``), in order, and
    the whole report's summary (it still counts what it does not list)."""
    sectioned = read_json(run, sectioned_path, "report --section")
    if sectioned is None:
        return
    product = rows(sectioned.get("overdue_visits", []))
    run.check(
        f"report --section overdue_visit == lean query ({len(yard)} rows, in order)",
        product == yard,
        first_difference(product, yard),
    )
    run.check(
        "report --section lists nothing else, and its summary is the whole report's",
        list(sectioned) == ["as_of", "overdue_visits", "summary"] and sectioned["summary"] == report.get("summary"),
        f"keys {list(sectioned)}",
    )


def entries(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Whole entries, comparable and printable: each as its sorted (key, value) pairs."""
    return [tuple(sorted(item.items())) for item in items]


def first_difference(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"row {i}: {x} vs {y}"
    return f"{len(a)} vs {len(b)} rows" if len(a) != len(b) else ""


def cross_engine_checks(runs: list[Run]) -> list[tuple[str, bool, str]]:
    out = []
    for people in sorted({r.people for r in runs}):
        by_engine = {r.engine: r for r in runs if r.people == people}
        if "sqlite" in by_engine and "postgresql" in by_engine:
            a, b = by_engine["sqlite"].rows, by_engine["postgresql"].rows
            out.append(
                (
                    f"{people:,} people: SQLite and PostgreSQL report the same {len(a)} rows",
                    a == b and bool(a),
                    first_difference(a, b),
                )
            )
            for name in (*lean_full.LISTS, *PRACTICE_LISTS):
                la, lb = by_engine["sqlite"].lists.get(name), by_engine["postgresql"].lists.get(name)
                out.append(
                    (
                        f"{people:,} people: SQLite and PostgreSQL give the same {name} ({len(la or [])} entries)",
                        la is not None and la == lb,
                        first_difference(la or [], lb or []),
                    )
                )
    return out
