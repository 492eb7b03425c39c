"""National-scale benchmark on a messy extract the product has not seen, against yardsticks.

Why: machines differ two or three times, so a figure alone says little; what says whether
visit-monitor is fast is the ratio to the simplest thing that does the same work, measured
on the same engine, in the same run, on the same machine. For each size and engine:

    step (visit-monitor)             yardstick
    import DIR                       raw_load.py: csv + executemany / COPY into bare tables,
                                     indexes built afterwards, no validation
    import DIR again (unchanged)     the same
    report --format json             lean_report.py: one SQL query + date arithmetic
                                     lean_full.py, like for like: every list the report holds
    report ... --section overdue_visit the lean query: the very rows it gives (report --section: docs/reference/cli.md)
    digest --kind all --preview      the same lean query (and, like for like, lean_full.py)
    scan(), one team and force-wide  the lean query, both in-process (median of runs)
    --help                           python -c pass

(each a whole process unless said otherwise)
and checks that the product's answers are right, not only fast: the import stores every
good row and rejects exactly the bad lines; the JSON report's overdue visits equal the lean
query's row for row (ref, due date, days overdue, last visit, failed attempts, order), which
equal the generator's own truth; all nine of the report's lists (overdue and due-soon
visits, risk reviews, notifications, whereabouts unknown, and the practice measures' lone
and predictable visits, overdue supervisor reviews and long plan intervals) equal
lean_full.py's, entry for entry and in order; ``--section overdue_visit`` gives the lean
query's rows and the whole report's summary; and SQLite and PostgreSQL give the same rows
in all nine.

    .venv/bin/python benchmarks/national.py --sizes 10000,30000 --engines sqlite,postgresql \
        [--keep DIR] [--json out.json] [--repeat 3] [--explain DIR] [--import-only]

Exit status 1 when any check fails. The extract comes from ``messy_extract.py`` (which
imports nothing from monitor); with ``--keep`` extracts are kept and reused by later runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import checks
import lean_report
import messy_extract
import results
from measure import Children, median_of, scratch_database, timed
from results import Run, Step

BENCH = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Steps measured against lean_full.py (all the work of the report) carry this prefix.
LIKE_FOR_LIKE = "like for like: "
#: The report of only the rows the lean query gives (the issue's "matching the lean query row
#: for row"): the whole report also writes reviews, notifications and whereabouts unknown.
SECTION_STEP = "report --format json --section overdue_visit"
SECTION_ARGS = ("--section", "overdue_visit")


def main() -> int:
    args = _arguments()
    # SIGTERM unwinds like Ctrl-C, so scratch PostgreSQL databases are dropped.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    if args.tables_from:
        return results.reprint(json.loads(args.tables_from.read_text(encoding="utf-8")))
    root_ctx = tempfile.TemporaryDirectory(prefix="vm-national-") if args.keep is None else None
    root = Path(root_ctx.name) if root_ctx else Path(args.keep).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if args.explain:
        args.explain.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"command": " ".join(["benchmarks/national.py", *sys.argv[1:]]), "machine": _machine()}
    try:
        children = Children(root / "common", dict(os.environ))
        vm = _console_script()
        _byte_compile_product()
        help_runs = [children.run("help", [vm, "--help"]) for _ in range(args.help_runs)]
        pass_runs = [children.run("python-pass", [sys.executable, "-c", "pass"]) for _ in range(args.help_runs)]
        help_step = Step("visit-monitor --help", median_of(help_runs), "python -c pass", median_of(pass_runs))
        result["help"] = help_step.to_json()
        runs: list[Run] = []
        generated: dict[int, dict[str, Any]] = {}
        for people in args.sizes:
            manifest, reused = messy_extract.ensure(
                root / f"extract-{people}-seed{args.seed}", people, args.seed, args.as_of
            )
            extract = root / f"extract-{people}-seed{args.seed}"
            generated[people] = _extract_facts(manifest, reused)
            result["extracts"] = {str(k): v for k, v in generated.items()}
            print(f"extract {people:,} people: {generated[people]}", file=sys.stderr, flush=True)
            for engine in args.engines:
                _warm(extract / "extract")
                run = _run_engine(args, engine, manifest, extract, root / f"{engine}-{people}", vm)
                runs.append(run)
                if args.json:  # as it goes, so a long run that is stopped still leaves its figures
                    args.json.write_text(json.dumps({**result, "runs": [results.run_json(r) for r in runs]}, indent=1))
        cross = [] if args.import_only else checks.cross_engine_checks(runs)
        result["machine"]["load_after"] = os.getloadavg()
        results.print_machine(result["machine"])
        results.print_tables(runs, generated, help_step, cross)
        ok = all(ok for r in runs for _n, ok, _d in r.checks) and all(ok for _n, ok, _d in cross)
        result |= {
            "runs": [results.run_json(r) for r in runs],
            "growth": results.growth(runs),
            "cross_engine_checks": [{"check": n, "ok": o, "detail": d} for n, o, d in cross],
            "ok": ok,
        }
        if args.json:
            args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
        print("\nall checks passed" if ok else "\nSOME CHECKS FAILED (see above)")
        return 0 if ok else 1
    finally:
        if root_ctx:
            root_ctx.cleanup()


def _byte_compile_product() -> None:
    """Byte-compile the product, as installing it (``pip install .``) does.

    Why: run from an editable checkout where PYTHONDONTWRITEBYTECODE is set (as on these
    machines), every process of the product compiled each of its own modules from source
    again, about a tenth of a second that an installed product never pays and that the
    yardsticks, which import only the standard library (compiled when Python was
    installed), never paid either. The files go to ``__pycache__`` (ignored by git).
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("monitor")
    for folder in (spec and spec.submodule_search_locations) or []:
        compileall.compile_dir(folder, quiet=1)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=[10_000, 30_000], help="people, e.g. 10000,30k,100k")
    parser.add_argument("--engines", type=lambda s: s.split(","), default=["sqlite", "postgresql"])
    parser.add_argument("--keep", help="keep extracts, databases (SQLite) and outputs here; reuse extracts")
    parser.add_argument("--json", type=Path, help="write every figure and check to this file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=date.fromisoformat, default=messy_extract.AS_OF)
    parser.add_argument("--repeat", type=int, default=1, help="median of N runs of report and the lean query")
    parser.add_argument("--help-runs", type=int, default=5, help="runs of --help and python -c pass (median)")
    parser.add_argument("--scan-runs", type=int, default=5, help="in-process scans per measure (median)")
    parser.add_argument("--explain", type=Path, help="write the scan's query plans (EXPLAIN ANALYZE) here")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--tables-from", type=Path, help="only print the tables of a run saved with --json")
    parser.add_argument("--import-only", action="store_true", help="measure only import and re-import")
    args = parser.parse_args()
    for engine in args.engines:
        if engine not in ("sqlite", "postgresql"):
            parser.error(f"--engines: expected sqlite and/or postgresql, got {engine!r}")
    return args


def _sizes(text: str) -> list[int]:
    return [
        int(float(s.strip().lower().removesuffix("k")) * (1000 if s.strip().lower().endswith("k") else 1))
        for s in text.split(",")
    ]


def _console_script() -> str:
    script = Path(sys.executable).with_name("visit-monitor")
    return str(script) if script.exists() else (shutil.which("visit-monitor") or "visit-monitor")


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL) as conn:
            info["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # only informational
        info["postgresql"] = f"unavailable ({type(exc).__name__})"
    return info


def _extract_facts(m: messy_extract.Manifest, reused: bool) -> dict[str, Any]:
    return {
        "people": m.people,
        "visits": m.files["visits.csv"].rows,
        "officers": m.officers,
        "teams": m.teams,
        "bad_rows": sum(len(f.bad) for f in m.files.values()),
        "megabytes": round(sum(f.bytes for f in m.files.values()) / 1e6, 1),
        "generate_seconds": m.seconds,
        "reused": reused,
        "caseload": m.caseload,
        "overdue": len(m.overdue),
    }


def _warm(extract: Path) -> None:
    """Read the extract once so neither the product nor the yardstick pays the first disk read."""
    for path in extract.iterdir():
        with open(path, "rb") as fh:
            while fh.read(1 << 22):
                pass


def _run_engine(
    args: argparse.Namespace, engine: str, manifest: messy_extract.Manifest, extract_root: Path, workdir: Path, vm: str
) -> Run:
    from monitor.register.db import make_engine, upgrade

    print(f"{engine}, {manifest.people:,} people", file=sys.stderr, flush=True)
    run = Run(engine, manifest.people)
    run.info["load_before"] = os.getloadavg()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    extract, manifest_path = extract_root / "extract", extract_root / "manifest.json"
    as_of = args.as_of.isoformat()
    keep = args.keep is not None

    with scratch_database(engine, workdir, "raw", args.pg_admin_url, keep) as raw_url:
        schema = make_engine(raw_url)
        upgrade(schema)
        schema.dispose()
        children = Children(workdir, dict(os.environ))
        raw = children.run(
            "raw-load", [sys.executable, str(BENCH / "raw_load.py"), raw_url, str(extract), str(manifest_path)]
        )
        loaded = json.loads(raw.stdout.read_text() or "{}") if raw.returncode == 0 else {}
        good = {name.removesuffix(".csv"): f.good for name, f in manifest.files.items()}
        run.check("no-validation loader stored every good row", loaded == good, f"{loaded} vs {good} ({raw.tail()})")

    with scratch_database(engine, workdir, "product", args.pg_admin_url, keep) as url:
        config = workdir / "monitor.toml"
        config.write_text(f'[database]\nurl = "{url}"\n[mail]\nmaildir = "{workdir / "outbox"}"\n', encoding="utf-8")
        children = Children(workdir, {**os.environ, "MONITOR_CONFIG": str(config), "MONITOR_DATABASE_URL": url})
        upgraded = children.run("db-upgrade", [vm, "db", "upgrade"])
        run.check("db upgrade exits 0", upgraded.returncode == 0, upgraded.tail())
        rejects = workdir / "rejects.csv"
        imported = children.run("import", [vm, "import", str(extract), "--rejects", str(rejects)])
        expected_rc = 3 if any(f.bad for f in manifest.files.values()) else 0
        run.check(
            "import exits 3 (rows rejected)",
            imported.returncode == expected_rc,
            f"exit {imported.returncode}: {imported.tail()}",
        )
        checks.check_rejects(run, manifest, rejects)
        checks.check_stored(run, url, manifest)
        run.steps.append(Step("db upgrade (empty database)", median_of([upgraded])))
        run.steps.append(Step("import", median_of([imported]), "no-validation load", median_of([raw])))
        again = children.run("re-import", [vm, "import", str(extract)])
        run.check("re-import exits 3 (the same rows rejected)", again.returncode == expected_rc, again.tail())
        unchanged = "inserted 0, updated 0" in again.stdout.read_text(encoding="utf-8")
        run.check("re-import changes nothing", unchanged, again.stdout.read_text(encoding="utf-8")[-300:])
        run.steps.append(Step("re-import (unchanged)", median_of([again]), "no-validation load", median_of([raw])))
        if args.import_only:
            run.info["load_after"] = os.getloadavg()
            return run

        lean_runs, full_runs, report_runs, visits_runs = [], [], [], []
        report_cmd = [vm, "report", "--as-of", as_of, "--format", "json"]
        for n in range(args.repeat):  # interleaved, so drift in machine load hits all alike
            lean_runs.append(
                children.run(
                    "lean", [sys.executable, str(BENCH / "lean_report.py"), url, as_of, str(workdir / "lean.json")]
                )
            )
            full_runs.append(
                children.run(
                    "lean-full",
                    [sys.executable, str(BENCH / "lean_full.py"), url, as_of, str(workdir / "lean-full.json")],
                )
            )
            report_runs.append(children.run("report", [*report_cmd, "--output", str(workdir / f"report-{n}.json")]))
            visits_runs.append(  # the report of just the lean query's rows (report --section: docs/reference/cli.md)
                children.run(
                    "report-visits", [*report_cmd, *SECTION_ARGS, "--output", str(workdir / f"report-visits-{n}.json")]
                )
            )
        lean, full = median_of(lean_runs), median_of(full_runs)
        for what, runs in (
            ("lean query", lean_runs),
            ("lean_full", full_runs),
            ("report", report_runs),
            ("report --section", visits_runs),
        ):
            run.check(f"{what} exits 0", all(r.returncode == 0 for r in runs), runs[-1].tail())
        report_step = median_of(report_runs)
        run.steps.append(Step("report --format json", report_step, "lean SQL query", lean))
        run.steps.append(Step(SECTION_STEP, median_of(visits_runs), "lean SQL query", lean))
        run.steps.append(Step(LIKE_FOR_LIKE + "report --format json", report_step, "lean_full.py", full))
        report = checks.read_json(run, workdir / "report-0.json", "report")
        if report is not None:
            yard = checks.check_report(run, manifest, report, workdir / "lean.json")
            checks.check_all_lists(run, report, workdir / "lean-full.json")
            if yard is not None:
                checks.check_sectioned(run, report, workdir / "report-visits-0.json", yard)
        del report  # tens of MB at national size, not needed for the digests

        # Each run into a folder of its own, all removed only at the end: deleting thousands
        # of files and at once creating as many slows ext4's inode allocation (perf shows
        # recently_deleted), which would measure this script's cleanup, not the product.
        previews = [workdir / f"preview-{n}" for n in range(args.repeat)]
        digests = [
            children.run("digest", [vm, "digest", "--as-of", as_of, "--kind", "all", "--preview", str(preview)])
            for preview in previews
        ]
        run.check("digest --preview exits 0", all(d.returncode == 0 for d in digests), digests[-1].tail())
        run.info["digests"] = len(list(previews[0].glob("*.eml"))) if previews[0].exists() else 0
        digest_step = median_of(digests)
        run.steps.append(Step("digest --kind all --preview", digest_step, "lean SQL query", lean))
        run.steps.append(Step(LIKE_FOR_LIKE + "digest --kind all --preview", digest_step, "lean_full.py", full))

        _scans(args, run, url, config, workdir)
    run.info["load_after"] = os.getloadavg()
    return run


def _scans(args: argparse.Namespace, run: Run, url: str, config_path: Path, workdir: Path) -> None:
    """One team's scan and the force-wide scan, in-process, beside the lean query in-process."""
    from monitor.core import config as config_module
    from monitor.register.db import make_engine, reading
    from monitor.rules.scan import scan

    cfg = config_module.load(str(config_path), {"database": {"url": url}})
    engine = make_engine(cfg.database_url)
    as_of = args.as_of
    conn, dialect = lean_report.connect(url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT team, COUNT(*) FROM offenders GROUP BY team ORDER BY 2 DESC, 1 LIMIT 1")
        team, size = cur.fetchone()
        cur.close()
        run.info["team"] = {"code": team, "people": size}

        def product(team_code: str | None) -> Any:
            with reading(engine) as session:
                return scan(session, cfg.policy, as_of, team=team_code)

        product(team)  # warm: connection pool, statement cache, page cache
        scan_team, obligations = timed(lambda: product(team), args.scan_runs)
        lean_team, lean_rows = timed(lambda: lean_report.overdue_visits(conn, dialect, as_of, team), args.scan_runs)
        got = [
            (i.ref, i.due_date.isoformat(), i.days_overdue, i.last_done and i.last_done.isoformat(), i.failed_attempts)
            for i in obligations.overdue_visits
        ]
        want = checks.rows(lean_rows)
        run.check(f"team {team}: scan == lean query", got == want, checks.first_difference(got, want))
        run.steps.append(
            Step(f"scan, one team ({size:,} people, in-process)", scan_team, "lean SQL, one team", lean_team)
        )
        runs = max(1, min(args.scan_runs, 3))
        scan_all, _ = timed(lambda: product(None), runs)
        lean_all, _ = timed(lambda: lean_report.overdue_visits(conn, dialect, as_of), runs)
        run.steps.append(Step("scan, force-wide (in-process)", scan_all, "lean SQL (in-process)", lean_all))
        if args.explain:
            _explain(
                engine,
                lambda: product(team),
                lambda: product(None),
                args.explain / f"explain-{run.engine}-{run.people}.txt",
            )
    finally:
        conn.close()
        engine.dispose()


def _explain(engine: Any, team_scan: Any, wide_scan: Any, out: Path) -> None:
    """The plans of the statements the scan really executes (captured, not rebuilt)."""
    from sqlalchemy import event

    lines = []
    for label, call in (("one team", team_scan), ("force-wide", wide_scan)):
        captured: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
            captured.append((statement, parameters))  # noqa: B023 - used before the loop moves on

        event.listen(engine, "before_cursor_execute", capture)
        try:
            call()
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        for statement, parameters in captured:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
            with engine.connect() as conn:
                plan = conn.exec_driver_sql(prefix + statement, parameters).all()
            lines += [f"== scan, {label}", statement.strip(), f"-- parameters: {parameters}", ""]
            lines += [" | ".join(str(c) for c in row) for row in plan] + [""]
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"  query plans: {out}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
