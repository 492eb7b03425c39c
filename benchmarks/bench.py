"""Time import, scan, snapshot and digest queueing on a national-size synthetic register.

Why: the service must cope with a national register (about 70,000 RSOs and growing);
this puts numbers on it for each backend. Not part of the test suite.

    .venv/bin/python benchmarks/bench.py --people 100000 --backend sqlite
    .venv/bin/python benchmarks/bench.py --people 100000 --backend postgresql

PostgreSQL: a scratch database is created on the server named by --pg-admin-url and
dropped afterwards. Peak RSS is this process only (not the PostgreSQL server).
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from monitor.core import config as config_module
from monitor.register.db import make_engine, reading, upgrade
from monitor.register.importer import import_directory
from monitor.rules.scan import scan
from monitor.synthetic.generator import generate


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str, str]] = []

    def time(self, label: str, fn: Callable[[], Any], rows: int | None = None) -> Any:
        started = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - started
        rate = f"{rows / seconds:,.0f}" if rows else ""
        self.rows.append((label, seconds, rate, f"{peak_rss_mb():,.0f}"))
        print(f"  {label}: {seconds:.2f} s", file=sys.stderr, flush=True)
        return result

    def show(self) -> None:
        print(f"{'step':<44} {'seconds':>9} {'rows/s':>11} {'peak RSS MB':>12}")
        for label, seconds, rate, rss in self.rows:
            print(f"{label:<44} {seconds:>9.2f} {rate:>11} {rss:>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--check", action="store_true", help="Also compare the scan with tests/oracle.py.")
    args = parser.parse_args()

    table = Table()
    with tempfile.TemporaryDirectory(prefix="vm-bench-") as tmp:
        work = Path(tmp)
        src = work / "extract"
        counts = table.time(
            "generate register (CSV)",
            lambda: generate(args.people, seed=args.seed, as_of=args.as_of, out_dir=src),
        )
        total_rows = counts["offenders"] + counts["visits"] + counts["officers"]

        dbname = None
        if args.backend == "sqlite":
            url = f"sqlite:///{work / 'bench.db'}"
        else:
            dbname = f"vm_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            url = args.pg_admin_url.rsplit("/", 1)[0] + f"/{dbname}"
        try:
            cfg = config_module.load(None, {"database": {"url": url}, "mail": {"maildir": str(work / "outbox")}})
            engine = make_engine(cfg.database_url)
            upgrade(engine)

            result = table.time("import (first, all inserts)", lambda: import_directory(engine, cfg, src), total_rows)
            assert result.exit_code == 0, result.rejects[:3]
            table.time("import again (all unchanged)", lambda: import_directory(engine, cfg, src), total_rows)
            # The import itself refreshes PostgreSQL's planner statistics (ANALYZE), so the
            # scan below runs as it would right after a scheduled import.

            def run_scan(team: str | None = None) -> Any:
                with reading(engine) as session:
                    return scan(session, cfg.policy, args.as_of, team=team)

            obligations = table.time("scan (force-wide, first)", run_scan, counts["offenders"])
            table.time("scan (force-wide, warm)", run_scan, counts["offenders"])
            team = obligations.overdue_visits[0].team if obligations.overdue_visits else None
            table.time(f"scan (one team: {team})", lambda: run_scan(team))

            if importlib.util.find_spec("monitor.reports.snapshot"):
                from monitor.reports.snapshot import take_snapshot

                table.time("snapshot", lambda: take_snapshot(engine, cfg, args.as_of))
            if importlib.util.find_spec("monitor.digests.queue"):
                from monitor.digests.queue import queue_digests

                run = table.time("queue digests (all kinds)", lambda: queue_digests(engine, cfg, "all", args.as_of))
                print(f"  digests queued: {run.queued}, blocked: {len(run.blocked)}", file=sys.stderr)
            if args.check:
                sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
                from oracle import differences, oracle

                expected = table.time("oracle (pure Python, from CSV)", lambda: oracle(src, args.as_of))
                problems = differences(obligations.to_json(), expected)
                print("  oracle: " + ("agrees" if not problems else "DISAGREES:\n" + "\n".join(problems)))
            engine.dispose()
        finally:
            if dbname:
                with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    s = obligations.summary
    print(
        f"\n{args.backend}: {counts['offenders']:,} people, {counts['visits']:,} visits, "
        f"{counts['officers']:,} officers (seed {args.seed}, as of {args.as_of}); "
        f"caseload {s.active_caseload:,}, overdue visits {s.overdue_visits:,}, "
        f"most overdue {s.most_overdue_days} days\n"
    )
    table.show()


if __name__ == "__main__":
    main()
