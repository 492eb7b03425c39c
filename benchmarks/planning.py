"""The week's plan and the backlog forecast at national size, beside the lean query, in one run.

Why a sibling of ``national.py``: the planner (issue 22) has its own targets, set against
the same yardstick: a national plan and a national forecast each in at most twice the lean
query's time (``lean_report.py``, one SQL query and date arithmetic, run as a whole
process like the product's commands), and one team's plan under 200 ms. It measures on
``messy_extract.py``'s register (data the product did not make), imported by the product,
on each engine:

    step (visit-monitor, a whole process)          yardstick
    plan --format json                             the lean query (a whole process)
    forecast --format json --backtest 0            the lean query
    forecast --format json (its 12-week backtest)  the lean query
    one team's plan, in-process (read + plan)      200 ms, and the lean query for that team

interleaved ``--repeat`` times (medians), so drift in the machine's load hits all alike.
It checks the answers too: every overdue visit of the lean query is in the national plan
(planned or did not fit) and the forecast's first week counts exactly them; and it reports
the forecast's backtest (how close the forecast made 12 weeks earlier came to the scan's
counts since).

    .venv/bin/python benchmarks/planning.py --people 100000 --engines sqlite,postgresql --repeat 3 \\
        [--register messy|practice] [--keep DIR] [--json FILE]

``--register practice`` measures on the product's own synthetic register with every optional
column (``visit-monitor seed --practice``: plan intervals, MAPPA, supervisor reviews, second
officers, expected releases) instead of the messy extract (which has the practice columns
but no expected releases).

Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import lean_report
import messy_extract
from measure import Children, median_of, scratch_database
from results import Run, Step, fmt

BENCH = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEAM_TARGET = 0.200


def main() -> int:
    args = _arguments()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    root_ctx = tempfile.TemporaryDirectory(prefix="vm-planning-") if args.keep is None else None
    root = Path(root_ctx.name) if root_ctx else Path(args.keep).resolve()
    root.mkdir(parents=True, exist_ok=True)
    vm = str(Path(sys.executable).with_name("visit-monitor"))
    _byte_compile_product()
    out: dict[str, Any] = {"command": " ".join(["benchmarks/planning.py", *sys.argv[1:]]), "runs": []}
    print(f"register: {args.register}", file=sys.stderr, flush=True)
    try:
        extract_root = root / f"extract-{args.register}-{args.people}-seed{args.seed}"
        if args.register == "practice":
            reused = _seed_practice(vm, extract_root, args)
        else:
            _manifest, reused = messy_extract.ensure(extract_root, args.people, args.seed, args.as_of)
        print(f"extract of {args.people:,} people ({'reused' if reused else 'new'})", file=sys.stderr, flush=True)
        runs = [
            _engine(args, engine, extract_root, root / f"{engine}-{args.register}-{args.people}", vm)
            for engine in args.engines
        ]
        for run in runs:
            out["runs"].append(
                {
                    "engine": run.engine,
                    "people": run.people,
                    "steps": [s.to_json() for s in run.steps],
                    "info": run.info,
                    "checks": [{"check": n, "ok": o, "detail": d} for n, o, d in run.checks],
                }
            )
            _print(run)
        if args.json:
            args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")
        ok = all(o for r in runs for _n, o, _d in r.checks)
        print("\nall checks passed" if ok else "\nSOME CHECKS FAILED (see above)")
        return 0 if ok else 1
    finally:
        if root_ctx:
            root_ctx.cleanup()


def _arguments() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--people", type=int, default=100_000)
    p.add_argument("--engines", default="sqlite", type=lambda s: [e.strip() for e in s.split(",") if e.strip()])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--team-runs", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--as-of", type=date.fromisoformat, default=messy_extract.AS_OF)
    p.add_argument("--keep", type=Path)
    p.add_argument("--json", type=Path)
    p.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    p.add_argument("--register", choices=("messy", "practice"), default="messy")
    return p.parse_args()


def _seed_practice(vm: str, extract_root: Path, args: argparse.Namespace) -> bool:
    """``visit-monitor seed --practice`` into ``extract_root/extract`` unless already there."""
    import subprocess

    target = extract_root / "extract"
    if (target / "offenders.csv").exists():
        return True
    extract_root.mkdir(parents=True, exist_ok=True)
    seed = [vm, "seed", "--practice", "--people", str(args.people), "--seed", str(args.seed)]
    subprocess.run([*seed, "--as-of", args.as_of.isoformat(), "--out", str(target)], check=True)
    return False


def _byte_compile_product() -> None:
    """As installing does (see national.py's twin)."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("monitor")
    for folder in (spec and spec.submodule_search_locations) or []:
        compileall.compile_dir(folder, quiet=1)


def _engine(args: argparse.Namespace, engine: str, extract_root: Path, workdir: Path, vm: str) -> Run:
    print(f"{engine}: importing", file=sys.stderr, flush=True)
    run = Run(engine, args.people)
    workdir.mkdir(parents=True, exist_ok=True)
    as_of = args.as_of.isoformat()
    with scratch_database(engine, workdir, "planning", args.pg_admin_url, args.keep is not None) as url:
        config = workdir / "monitor.toml"
        config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
        children = Children(workdir, {**os.environ, "MONITOR_CONFIG": str(config), "MONITOR_DATABASE_URL": url})
        run.check("db upgrade exits 0", children.run("db-upgrade", [vm, "db", "upgrade"]).returncode == 0)
        imported = children.run("import", [vm, "import", str(extract_root / "extract")])
        run.check("import exits 0 or 3", imported.returncode in (0, 3), imported.tail())
        run.info["load_before"] = os.getloadavg()
        steps: dict[str, list[Any]] = {"lean": [], "plan": [], "forecast": [], "forecast+backtest": []}
        for n in range(args.repeat):
            print(f"{engine}: round {n + 1} of {args.repeat}", file=sys.stderr, flush=True)
            lean = [sys.executable, str(BENCH / "lean_report.py"), url, as_of, str(workdir / "lean.json")]
            steps["lean"].append(children.run("lean", lean))
            plan = [vm, "plan", "--as-of", as_of, "--format", "json", "--output", str(workdir / f"plan-{n}.json")]
            steps["plan"].append(children.run("plan", plan))
            base = [vm, "forecast", "--as-of", as_of, "--format", "json"]
            out = str(workdir / f"forecast-{n}.json")
            steps["forecast"].append(children.run("forecast", [*base, "--backtest", "0", "--output", out]))
            out = str(workdir / f"forecast-backtest-{n}.json")
            steps["forecast+backtest"].append(children.run("forecast-backtest", [*base, "--output", out]))
        for name, done in steps.items():
            run.check(f"{name} exits 0", all(r.returncode == 0 for r in done), done[-1].tail())
        lean = median_of(steps["lean"])
        run.steps.append(Step("plan --format json (force)", median_of(steps["plan"]), "lean SQL query", lean))
        run.steps.append(Step("forecast --backtest 0 (force)", median_of(steps["forecast"]), "lean SQL query", lean))
        run.steps.append(
            Step(
                "forecast with its 12-week backtest (force)",
                median_of(steps["forecast+backtest"]),
                "lean SQL query",
                lean,
            )
        )
        _check_answers(run, workdir)
        _team(args, run, url, config)
        run.info["load_after"] = os.getloadavg()
    return run


def _check_answers(run: Run, workdir: Path) -> None:
    lean = json.loads((workdir / "lean.json").read_text(encoding="utf-8"))["overdue_visits"]
    plan = json.loads((workdir / "plan-0.json").read_text(encoding="utf-8"))
    in_plan = {item["ref"] for o in plan["officers"] for key in ("planned", "did_not_fit") for item in o[key]}
    overdue = {row["ref"] for row in lean}
    run.check("every overdue visit is in the plan", overdue <= in_plan, f"{len(overdue - in_plan)} missing")
    late = {
        item["ref"]
        for o in plan["officers"]
        for key in ("planned", "did_not_fit")
        for item in o[key]
        if item["days_overdue"] > 0
    }
    run.check("the plan's overdue visits are the lean query's", late == overdue, f"{len(late ^ overdue)} differ")
    run.check(
        "no officer is planned over capacity",
        all(len(o["planned"]) <= o["capacity"] for o in plan["officers"]),
    )
    for name in ("forecast-0.json", "forecast-backtest-0.json"):
        forecast = json.loads((workdir / name).read_text(encoding="utf-8"))
        run.check(f"{name}: week 0 counts the lean query's", forecast["weeks"][0]["overdue"] == len(lean))
    plain = json.loads((workdir / "forecast-0.json").read_text(encoding="utf-8"))
    checked = json.loads((workdir / "forecast-backtest-0.json").read_text(encoding="utf-8"))
    same = {k: v for k, v in plain.items() if k not in ("backtest", "words")} == {
        k: v for k, v in checked.items() if k not in ("backtest", "words")
    }
    run.check("the forecast is the same with and without its backtest", same)
    run.info["plan"] = plan["summary"]
    run.check(
        "the forecast's weeks count the returns from custody",
        sum(w["returning"] for w in plain["weeks"]) == plain["returning_from_custody"],
    )
    run.info["plan_intervals"] = sum(
        1 for o in plan["officers"] for k in ("planned", "did_not_fit") for i in o[k] if i["interval_source"] == "plan"
    )
    keys = ("clears_on", "capacity_per_week", "success_rate", "due_per_week", "returning_from_custody")
    run.info["forecast"] = {k: plain[k] for k in keys}
    run.info["backtest"] = {k: v for k, v in (checked["backtest"] or {}).items() if k != "points"}


def _team(args: argparse.Namespace, run: Run, url: str, config_path: Path) -> None:
    """The largest team's plan in-process (read + plan), beside the 200 ms target and the lean query."""
    from monitor.core import config as config_module
    from monitor.planning.inputs import read_facts
    from monitor.planning.plan import make_plan
    from monitor.planning.source_engine import EngineSource
    from monitor.planning.weeks import week_end
    from monitor.register.db import make_engine, reading

    sunday = week_end(args.as_of)

    cfg = config_module.load(str(config_path), {"database": {"url": url}})
    engine = make_engine(cfg.database_url)
    conn, dialect = lean_report.connect(url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT team, COUNT(*) FROM offenders GROUP BY team ORDER BY 2 DESC, 1 LIMIT 1")
        team, size = cur.fetchone()
        cur.close()
        product, lean = [], []
        for _ in range(args.team_runs):
            started = time.perf_counter()
            with reading(engine) as session:
                facts = read_facts(
                    EngineSource(session), cfg.policy, args.as_of, team=team, for_forecast=False, due_by=sunday
                )
                make_plan(facts, cfg.plan.default_visits_per_week)
            product.append(time.perf_counter() - started)
            started = time.perf_counter()
            lean_report.overdue_visits(conn, dialect, args.as_of, team)
            lean.append(time.perf_counter() - started)
    finally:
        conn.close()
        engine.dispose()
    seconds = statistics.median(product)
    run.info["team"] = {"team": team, "people": size, "plan_ms": round(seconds * 1000, 1)}
    run.info["team_lean_ms"] = round(statistics.median(lean) * 1000, 1)
    run.check(
        f"one team's plan ({team}, {size} people) under 200 ms", seconds < TEAM_TARGET, f"{seconds * 1000:.0f} ms"
    )


def _print(run: Run) -> None:
    print(f"\n{run.engine}, {run.people:,} people (load {run.info.get('load_before')} -> {run.info.get('load_after')})")
    print(f"{'step':48} {'visit-monitor s':>16} {'lean s':>8} {'ratio':>7} {'cpu ratio':>9} {'peak MB':>8}")
    for s in run.steps:
        p, y = s.product, s.yardstick
        print(
            f"{s.name:48} {fmt(p and p.seconds):>16} {fmt(y and y.seconds):>8} {fmt(s.ratio, 'x'):>7} "
            f"{fmt(s.cpu_ratio, 'x'):>9} {fmt(p and p.peak_mb):>8}"
        )
    team = run.info.get("team", {})
    print(
        f"one team's plan in-process ({team.get('team')}, {team.get('people')} people): {team.get('plan_ms')} ms "
        f"(target 200 ms; the lean query for that team {run.info.get('team_lean_ms')} ms)"
    )
    print(f"plan: {run.info.get('plan')} (visits due at a plan's interval: {run.info.get('plan_intervals')})")
    print(f"forecast: {run.info.get('forecast')}")
    print(f"backtest: {run.info.get('backtest')}")
    for name, ok, detail in run.checks:
        print(f"  [{'ok' if ok else 'FAILED'}] {name}{'' if ok or not detail else ': ' + detail}")


if __name__ == "__main__":
    sys.exit(main())
