"""Time the web app's pages on a national-size register: a team page, an officer page, the force page.

Why: the web app promises a team page in under 300 ms and the force page in under 1 s on
the server at national size (100,000 people). This renders each page in process (Flask's
test client: routing, the access guard, the scan, the template, the access-log write and
the session update; no network) and prints the median and worst of several requests.

    .venv/bin/python benchmarks/web_bench.py --people 100000 --backend sqlite
    .venv/bin/python benchmarks/web_bench.py --people 100000 --backend postgresql
    .venv/bin/python benchmarks/web_bench.py --database-url sqlite:///var/big.db   # an imported register

The force page is timed cold (every request scans the force: ``cache_seconds=0``) and
warm (the app's per-register-version cache, as a running server has it after start-up).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select

from monitor.core import config as config_module
from monitor.register.db import make_engine, reading, upgrade
from monitor.register.importer import import_directory
from monitor.register.models import Offender, Officer
from monitor.synthetic.generator import generate
from monitor.web.app import create_app


@contextmanager
def register(args: argparse.Namespace) -> Iterator[str]:
    """A database URL holding an imported register (generated unless --database-url is given)."""
    if args.database_url:
        yield args.database_url
        return
    with tempfile.TemporaryDirectory(prefix="vm-webbench-") as tmp:
        work = Path(tmp)
        print(f"generating {args.people:,} people ...", file=sys.stderr)
        generate(args.people, seed=args.seed, as_of=args.as_of, out_dir=work / "extract")
        dbname = None
        if args.backend == "sqlite":
            url = f"sqlite:///{work / 'bench.db'}"
        else:
            dbname = f"vm_webbench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            url = args.pg_admin_url.rsplit("/", 1)[0] + f"/{dbname}"
        try:
            cfg = config_module.load(None, {"database": {"url": url}})
            engine = make_engine(url)
            upgrade(engine)
            print("importing ...", file=sys.stderr)
            import_directory(engine, cfg, work / "extract")
            engine.dispose()
            yield url
        finally:
            if dbname:
                with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def timed(client: Any, path: str, n: int) -> tuple[float, float, int]:
    """Median and worst milliseconds of ``n`` requests, and the response size."""
    times, size = [], 0
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        size = len(response.get_data())
    return statistics.median(times), max(times), size


def signed_in(app: Any, officer_email: str) -> Any:
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/demo/sign-in", data={"email": officer_email, "csrf_token": token})
    assert answer.status_code == 303, answer.status_code
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", help="Use this already imported register instead of generating one.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    with register(args) as url:
        config = config_module.load(None, {"database": {"url": url}})
        engine = make_engine(url)
        upgrade(engine)
        with reading(engine) as db:
            people = db.scalar(select(func.count()).select_from(Offender))
            team, caseload = db.execute(
                select(Offender.team, func.count()).group_by(Offender.team).order_by(func.count().desc()).limit(1)
            ).one()
            supervisor = db.scalars(select(Officer).where(Officer.team == team, Officer.role == "supervisor")).first()
            manager = db.scalar(
                select(Offender.offender_manager)
                .where(Offender.team == team)
                .group_by(Offender.offender_manager)
                .order_by(func.count().desc())
                .limit(1)
            )
            lead = db.scalars(select(Officer).where(Officer.role == "lead", Officer.active.is_(True))).first()
        assert supervisor is not None and lead is not None
        rows: list[tuple[str, float, float, int]] = []
        cold = create_app(config, engine, as_of=args.as_of, demo_mode=True, cache_seconds=0)
        warm = create_app(config, engine, as_of=args.as_of, demo_mode=True, cache_seconds=600)
        sup = signed_in(cold, supervisor.email)
        rows.append((f"team page /teams/{team} ({caseload} people)", *timed(sup, f"/teams/{team}", args.repeat)))
        rows.append(("team page, filtered (?risk=high)", *timed(sup, f"/teams/{team}?risk=high", args.repeat)))
        rows.append(("team CSV export", *timed(sup, f"/teams/{team}/export.csv", args.repeat)))
        rows.append((f"officer page /officers/{manager}", *timed(sup, f"/officers/{manager}", args.repeat)))
        rows.append(("force page, cold (scans the force)", *timed(signed_in(cold, lead.email), "/force", 3)))
        lead_warm = signed_in(warm, lead.email)
        lead_warm.get("/force")  # what start-up does (warm_cache)
        rows.append(("force page, warm (cached scan)", *timed(lead_warm, "/force", args.repeat)))
        engine.dispose()

    backend = url.split(":", 1)[0]
    print(f"\n{backend}: {people:,} people, as of {args.as_of}; milliseconds per request (in process)")
    print(f"{'page':<52} {'median':>8} {'worst':>8} {'bytes':>9}")
    for label, median, worst, size in rows:
        print(f"{label:<52} {median:>8.0f} {worst:>8.0f} {size:>9,}")


if __name__ == "__main__":
    main()
