"""National-scale benchmark on a messy extract the product has not seen, against yardsticks.

Why: machines differ two or three times, so a figure alone says little; what says whether
visit-monitor is fast is the ratio to the simplest thing that does the same work, measured
on the same engine, in the same run, on the same machine. For each size and engine:

    step (visit-monitor)             yardstick
    import DIR                       raw_load.py: csv + executemany / COPY, no validation
    report --format json             lean_report.py: one SQL query + date arithmetic
    digest --kind all --preview      the same lean query
    scan(), one team and force-wide  the lean query, both in-process (median of runs)
    --help                           python -c pass

(each a whole process unless said otherwise)
and checks that the product's answers are right, not only fast: the import stores every
good row and rejects exactly the bad lines; the JSON report's overdue visits equal the lean
query's row for row (ref, due date, days overdue, last visit, failed attempts, order), which
equal the generator's own truth; and SQLite and PostgreSQL give the same rows.

    .venv/bin/python benchmarks/national.py --sizes 10000,30000 --engines sqlite,postgresql \
        [--keep DIR] [--json out.json] [--repeat 3] [--explain DIR]

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
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import lean_report
import messy_extract
from measure import Children, Measure, median_of, scratch_database, timed

BENCH = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ROW_KEYS = ("ref", "due_date", "days_overdue", "last_visit", "failed_attempts")


@dataclass
class Step:
    name: str
    product: Measure | None
    yardstick_name: str = ""
    yardstick: Measure | None = None

    @property
    def ratio(self) -> float | None:
        if self.product is None or self.yardstick is None or not self.yardstick.seconds:
            return None
        return self.product.seconds / self.yardstick.seconds

    @property
    def cpu_ratio(self) -> float | None:
        p, y = self.product, self.yardstick
        if p is None or y is None or not p.cpu_seconds or not y.cpu_seconds:
            return None
        return p.cpu_seconds / y.cpu_seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "product": self.product and self.product.to_json(),
            "yardstick_name": self.yardstick_name,
            "yardstick": self.yardstick and self.yardstick.to_json(),
            "ratio": self.ratio and round(self.ratio, 3),
            "cpu_ratio": self.cpu_ratio and round(self.cpu_ratio, 3),
        }


@dataclass
class Run:
    """One engine at one size."""

    engine: str
    people: int
    steps: list[Step] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, ok, detail))
        if not ok:
            print(f"  CHECK FAILED: {name}: {detail}", file=sys.stderr, flush=True)

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)


def main() -> int:
    args = _arguments()
    # SIGTERM unwinds like Ctrl-C, so scratch PostgreSQL databases are dropped.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    if args.tables_from:
        return _reprint(json.loads(args.tables_from.read_text(encoding="utf-8")))
    root_ctx = tempfile.TemporaryDirectory(prefix="vm-national-") if args.keep is None else None
    root = Path(root_ctx.name) if root_ctx else Path(args.keep).resolve()
    root.mkdir(parents=True, exist_ok=True)
    if args.explain:
        args.explain.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"command": " ".join(["benchmarks/national.py", *sys.argv[1:]]), "machine": _machine()}
    try:
        children = Children(root / "common", dict(os.environ))
        vm = _console_script()
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
                    args.json.write_text(json.dumps({**result, "runs": [_run_json(r) for r in runs]}, indent=1))
        cross = _cross_engine_checks(runs)
        result["machine"]["load_after"] = os.getloadavg()
        _print_machine(result["machine"])
        _print_tables(runs, generated, help_step, cross)
        ok = all(ok for r in runs for _n, ok, _d in r.checks) and all(ok for _n, ok, _d in cross)
        result |= {
            "runs": [_run_json(r) for r in runs],
            "growth": _growth(runs),
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


def _print_machine(m: dict[str, Any]) -> None:
    load = " ".join(f"{x:.1f}" for x in m["load_before"])
    now = " ".join(f"{x:.1f}" for x in m.get("load_after", ()))
    print(
        f"machine: {m['cpus']} CPUs, load average {load} at the start and {now or '?'} at the end; "
        f"Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql'].split()[0]}"
    )


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
        _check_rejects(run, manifest, rejects)
        _check_stored(run, url, manifest)
        run.steps.append(Step("db upgrade (empty database)", median_of([upgraded])))
        run.steps.append(Step("import", median_of([imported]), "no-validation load", median_of([raw])))

        lean_runs, report_runs = [], []
        for n in range(args.repeat):  # interleaved, so drift in machine load hits both alike
            lean_runs.append(
                children.run(
                    "lean", [sys.executable, str(BENCH / "lean_report.py"), url, as_of, str(workdir / "lean.json")]
                )
            )
            report_runs.append(
                children.run(
                    "report",
                    [vm, "report", "--as-of", as_of, "--format", "json", "--output", str(workdir / f"report-{n}.json")],
                )
            )
        lean = median_of(lean_runs)
        run.check("lean query exits 0", all(r.returncode == 0 for r in lean_runs), lean_runs[-1].tail())
        run.check("report exits 0", all(r.returncode == 0 for r in report_runs), report_runs[-1].tail())
        run.steps.append(Step("report --format json", median_of(report_runs), "lean SQL query", lean))
        _check_report(run, manifest, workdir / "report-0.json", workdir / "lean.json")

        preview = workdir / "preview"
        digest = children.run("digest", [vm, "digest", "--as-of", as_of, "--kind", "all", "--preview", str(preview)])
        run.check("digest --preview exits 0", digest.returncode == 0, digest.tail())
        run.info["digests"] = len(list(preview.glob("*.eml"))) if preview.exists() else 0
        run.steps.append(Step("digest --kind all --preview", median_of([digest]), "lean SQL query", lean))
        if not keep:
            shutil.rmtree(preview, ignore_errors=True)

        _scans(args, run, url, config, workdir)
    run.info["load_after"] = os.getloadavg()
    return run


def _check_rejects(run: Run, manifest: messy_extract.Manifest, rejects: Path) -> None:
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


def _check_stored(run: Run, url: str, manifest: messy_extract.Manifest) -> None:
    conn, _dialect = lean_report.connect(url)
    try:
        cur = conn.cursor()
        for name, facts in manifest.files.items():
            cur.execute(f"SELECT COUNT(*) FROM {name.removesuffix('.csv')}")
            stored = cur.fetchone()[0]
            run.check(f"{name}: stored every good row", stored == facts.good, f"{stored} stored, {facts.good} good")
    finally:
        conn.close()


def _rows(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(o[k] for k in ROW_KEYS) for o in items]


def _check_report(run: Run, manifest: messy_extract.Manifest, report_path: Path, lean_path: Path) -> None:
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        lean = json.loads(lean_path.read_text(encoding="utf-8"))["overdue_visits"]
    except (OSError, ValueError, KeyError) as exc:
        run.check("report and lean query readable", False, f"{type(exc).__name__}: {exc}")
        return
    product, yard = _rows(report["overdue_visits"]), _rows(lean)
    truth = [(ref, due, days, last, failed) for ref, _risk, due, days, last, failed in manifest.overdue]
    run.rows = product
    run.info["overdue_visits"] = len(product)
    run.check(
        f"report overdue_visits == lean query ({len(yard)} rows, in order)",
        product == yard,
        _first_difference(product, yard),
    )
    run.check(f"lean query == generator's truth ({len(truth)} rows)", yard == truth, _first_difference(yard, truth))
    caseload = report.get("summary", {}).get("active_caseload")
    run.check("report active_caseload == truth", caseload == manifest.caseload, f"{caseload} vs {manifest.caseload}")


def _first_difference(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"row {i}: {x} vs {y}"
    return f"{len(a)} vs {len(b)} rows" if len(a) != len(b) else ""


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
        run.check(f"team {team}: scan == lean query", got == _rows(lean_rows), _first_difference(got, _rows(lean_rows)))
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


def _cross_engine_checks(runs: list[Run]) -> list[tuple[str, bool, str]]:
    out = []
    for people in sorted({r.people for r in runs}):
        by_engine = {r.engine: r for r in runs if r.people == people}
        if "sqlite" in by_engine and "postgresql" in by_engine:
            a, b = by_engine["sqlite"].rows, by_engine["postgresql"].rows
            out.append(
                (
                    f"{people:,} people: SQLite and PostgreSQL report the same {len(a)} rows",
                    a == b and bool(a),
                    _first_difference(a, b),
                )
            )
    return out


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.1f}x"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _mb(measure: Measure | None) -> str:
    return "-" if measure is None or measure.peak_mb is None else f"{measure.peak_mb:.0f}"


def _print_tables(
    runs: list[Run], generated: dict[int, dict[str, Any]], help_step: Step | None, cross: list[tuple[str, bool, str]]
) -> None:
    print()
    for people, facts in generated.items():
        print(
            f"extract {people:,} people: {facts['visits']:,} visit rows, {facts['officers']:,} officers in "
            f"{facts['teams']} teams, {facts['bad_rows']} bad rows, {facts['megabytes']} MB; "
            f"generated in {facts['generate_seconds']:.1f} s{' (reused)' if facts['reused'] else ''}"
        )
    header = (
        f"| {'step':<42} | {'visit-monitor s':>15} | {'yardstick':<24} | {'yardstick s':>11} | {'ratio':>6} "
        f"| {'CPU s (vm / yardstick)':>22} | {'CPU ratio':>9} | {'peak MB (vm / yardstick)':>24} |"
    )
    rule = "|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|"
    for run in runs:
        load = ", ".join(f"{x:.1f}" for x in run.info.get("load_before", ()))
        digests = run.info.get("digests", 0)
        print(f"\n{run.engine}, {run.people:,} people (load average before: {load}; {digests} digests previewed)")
        print(header)
        print(rule)
        for step in [*run.steps, *([help_step] if help_step else [])]:
            peaks = f"{_mb(step.product)} / {_mb(step.yardstick)}"
            cpu_p, cpu_y = (m and m.cpu_seconds for m in (step.product, step.yardstick))
            cpu = f"{_fmt(cpu_p)} / {_fmt(cpu_y)}"
            print(
                f"| {step.name:<42} | {_fmt(step.product and step.product.seconds):>15} | {step.yardstick_name:<24} | "
                f"{_fmt(step.yardstick and step.yardstick.seconds):>11} | {_fmt(step.ratio, 'x'):>6} | {cpu:>22} | "
                f"{_fmt(step.cpu_ratio, 'x'):>9} | {peaks:>24} |"
            )
    _print_summary(runs, help_step)
    growth = _growth(runs)
    if growth:
        print("\ngrowth: cost per person at the largest size / at the smallest (1.0 = linear)")
        for engine, steps in growth.items():
            for name, g in steps.items():
                print(
                    f"  {engine:<10} {name:<42} visit-monitor {_fmt(g['product'])}   yardstick {_fmt(g['yardstick'])}"
                )
    print("\nchecks (every good row stored, exactly the bad lines rejected, report == lean query == truth):")
    for run in runs:
        failed = [(n, d) for n, ok, d in run.checks if not ok]
        print(f"  {run.engine} {run.people:,}: {len(run.checks) - len(failed)}/{len(run.checks)} passed")
        for name, detail in failed:
            print(f"    FAIL {name}: {detail}")
    for name, ok, detail in cross:
        print(f"  {'ok' if ok else 'FAIL'}: {name}{'' if ok else ': ' + detail}")


def _print_summary(runs: list[Run], help_step: Step | None) -> None:
    """All sizes side by side: "visit-monitor s / yardstick s = ratio, peak MB" per cell."""
    sizes = sorted({r.people for r in runs})
    print("\nsummary: visit-monitor s / yardstick s = ratio (ratio of their own CPU seconds); visit-monitor peak MB")
    print("| engine | step | " + " | ".join(f"{n:,} people" for n in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for engine in dict.fromkeys(r.engine for r in runs):
        by_size = {r.people: r for r in runs if r.engine == engine}
        names = [s.name.split(" (")[0] for s in by_size[sizes[-1]].steps] if sizes[-1] in by_size else []
        for name in names:
            cells = []
            for n in sizes:
                step = (
                    next((s for s in by_size[n].steps if s.name.split(" (")[0] == name), None) if n in by_size else None
                )
                if step is None or step.product is None:
                    cells.append("")
                    continue
                cell = _fmt(step.product.seconds)
                if step.yardstick is not None:
                    cell += f" / {_fmt(step.yardstick.seconds)} = {_fmt(step.ratio, 'x')}"
                    if step.cpu_ratio is not None:
                        cell += f" (CPU {_fmt(step.cpu_ratio, 'x')})"
                if step.product.peak_mb is not None:
                    cell += f"; {step.product.peak_mb:.0f} MB"
                cells.append(cell)
            print(f"| {engine} | {name} | " + " | ".join(cells) + " |")
    p, y = (help_step.product, help_step.yardstick) if help_step else (None, None)
    if help_step and p and y:
        print(
            f"| any | --help (python -c pass) | {_fmt(p.seconds)} / {_fmt(y.seconds)} = {_fmt(help_step.ratio, 'x')} |"
        )


def _growth(runs: list[Run]) -> dict[str, dict[str, dict[str, float | None]]]:
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for engine in dict.fromkeys(r.engine for r in runs):
        mine = sorted((r for r in runs if r.engine == engine), key=lambda r: r.people)
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        scale = small.people / large.people
        for step in large.steps:
            name = step.name.split(" (")[0]
            before = next((s for s in small.steps if s.name.split(" (")[0] == name), None)
            if before is None or step.product is None or before.product is None:
                continue

            def per_person(a: Measure | None, b: Measure | None, scale: float = scale) -> float | None:
                return round(a.seconds / b.seconds * scale, 2) if a and b and b.seconds else None

            key = f"{name} ({small.people:,} -> {large.people:,})"
            out.setdefault(engine, {})[key] = {
                "product": per_person(step.product, before.product),
                "yardstick": per_person(step.yardstick, before.yardstick),
            }
    return out


def _measure(raw: dict[str, Any] | None) -> Measure | None:
    return Measure(raw["seconds"], raw["peak_mb"], raw["runs"], raw.get("cpu_seconds")) if raw else None


def _step(raw: dict[str, Any]) -> Step:
    return Step(raw["step"], _measure(raw["product"]), raw["yardstick_name"], _measure(raw["yardstick"]))


def _reprint(saved: dict[str, Any]) -> int:
    """The tables of a saved run (``--json``), without running anything."""
    runs = []
    for raw in saved["runs"]:
        run = Run(raw["engine"], raw["people"], [_step(s) for s in raw["steps"]], info=raw["info"])
        run.checks = [(c["check"], c["ok"], c["detail"]) for c in raw["checks"]]
        runs.append(run)
    cross = [(c["check"], c["ok"], c["detail"]) for c in saved.get("cross_engine_checks", [])]
    generated = {int(k): v for k, v in saved.get("extracts", {}).items()}
    print(f"command: {saved['command']}")
    _print_machine(saved["machine"])
    _print_tables(runs, generated, _step(saved["help"]) if "help" in saved else None, cross)
    return 0 if saved.get("ok") else 1


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "engine": run.engine,
        "people": run.people,
        "steps": [s.to_json() for s in run.steps],
        "checks": [{"check": n, "ok": o, "detail": d} for n, o, d in run.checks],
        "info": run.info,
    }


if __name__ == "__main__":
    sys.exit(main())
