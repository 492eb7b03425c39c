"""The national benchmark (benchmarks/national.py) stays runnable and its checks keep passing.

Others optimise the importer, scan, report and digests against this benchmark, so it must
not rot: a tiny run on both engines goes end to end (generate, both yardsticks, every
product command as a whole process, the in-process scans) and every agreement check
passes. The generator is also checked for what makes it an honest test: the same seed
gives the same bytes, and the files are as messy as the issue says.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"


def _messy_extract() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        import messy_extract
    finally:
        sys.path.remove(str(BENCH))
    return messy_extract


def test_extract_is_deterministic_and_messy(tmp_path: Path) -> None:
    gen = _messy_extract()
    first = gen.generate(tmp_path / "a", 400, seed=7)
    gen.generate(tmp_path / "b", 400, seed=7)
    for name in ("offenders.csv", "visits.csv", "officers.csv"):
        a = (tmp_path / "a" / "extract" / name).read_bytes()
        assert a == (tmp_path / "b" / "extract" / name).read_bytes(), name
        assert a.startswith(b"\xef\xbb\xbf") and b"\r\n" in a, name
        header = a[3 : a.index(b"\r\n")].decode().split(",")
        assert any(h != h.lower() for h in header), header  # mixed-case headers
    a, b = (json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("a", "b"))
    a.pop("seconds"), b.pop("seconds")  # generation time differs; everything else must not
    assert a == b

    visits = (tmp_path / "a" / "extract" / "visits.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(visits.splitlines()))
    dates = [r[[h.lower() for h in rows[0]].index("visit_date")] for r in rows[1:] if len(r) == len(rows[0])]
    assert sum("/" in d for d in dates) > len(dates) * 0.1  # UK dates
    assert any(d.endswith("Z") for d in dates)  # UTC instants
    assert any(" " in v or "-" in v for r in rows[1:] for v in r if v.lower().startswith(("no", "very")))
    kinds = {kind for facts in first.files.values() for _line, kind in facts.bad}
    assert kinds == {"bad_date", "unknown_ref", "unknown_value", "short_row", "duplicate"}
    assert first.overdue and first.caseload > 0


@pytest.mark.slow
def test_national_benchmark_runs_on_both_engines_and_agrees(tmp_path: Path) -> None:
    out = tmp_path / "national.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "national.py"),
            "--sizes",
            "1000",
            "--engines",
            "sqlite,postgresql",
            "--help-runs",
            "1",
            "--scan-runs",
            "1",
            "--keep",
            str(tmp_path / "work"),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["ok"] is True
    assert [(r["engine"], r["people"]) for r in result["runs"]] == [("sqlite", 1000), ("postgresql", 1000)]
    for run in result["runs"]:
        assert run["checks"] and all(c["ok"] for c in run["checks"]), run["checks"]
        steps = {s["step"].split(" (")[0]: s for s in run["steps"]}
        for name in ("import", "report --format json", "digest --kind all --preview", "scan, one team"):
            assert steps[name]["product"]["seconds"] > 0 and steps[name]["ratio"] > 0, name
        assert steps["import"]["product"]["peak_mb"] > 0
        assert run["info"]["digests"] > 0 and run["info"]["overdue_visits"] > 0
        like = next(s for s in run["steps"] if s["step"] == "like for like: report --format json")
        assert like["yardstick_name"] == "lean_full.py" and like["ratio"] > 0
        names = [c["check"] for c in run["checks"]]
        assert any(n.startswith("report --section overdue_visit == lean query") for n in names)
        sectioned = next(s for s in run["steps"] if s["step"] == "report --format json --section overdue_visit")
        assert sectioned["yardstick_name"] == "lean SQL query" and sectioned["ratio"] > 0
        for listed in (
            "overdue_visits",
            "due_soon",
            "overdue_risk_reviews",
            "overdue_notifications",
            "whereabouts_unknown",
            "lone_visits",
            "predictable_visits",
            "overdue_supervisor_reviews",
            "long_plan_intervals",
        ):
            assert any(n.startswith(f"report {listed} == lean_full") for n in names), listed
    cross = result["cross_engine_checks"]
    assert len(cross) == 10 and all(c["ok"] for c in cross), cross
    for listed in ("whereabouts_unknown", "lone_visits", "predictable_visits", "overdue_supervisor_reviews"):
        assert any(listed in c["check"] for c in cross), listed
    assert "| import " in proc.stdout and "ratio" in proc.stdout
