"""Pages while a national import runs: twenty signed-in browsers against ``visit-monitor web``'s server.

Why: every page writes an access-log row before it is shown, and on SQLite that write
used to wait for a running import's write lock (issue 23 measured pages at 25-28 s p95
during a 26-29 s import, against 0.3 s before it). This measures the real thing: a
register of ``--people`` generated with ``visit-monitor seed`` and imported with
``visit-monitor import``; the app served by waitress in a process of its own (as
``visit-monitor web`` serves it, the force scan kept warm); ``--clients`` browsers, each
with a signed-in session (rows written as sign-in writes them; no identity provider
needed), requesting their own pages in a loop, ``--think`` seconds apart (leads ``/force``,
supervisors their team, offender managers their week); and, after a quiet spell, a second extract (another seed:
most people and visits change; the officers stay the same) imported by another
``visit-monitor import`` process. It prints, for before, during and after the import:
requests, p50, p95, the slowest, and errors, and the p95 during against the p95 before
(the yardstick, from the same run).

    .venv/bin/python benchmarks/web_during_import.py --people 100000
    .venv/bin/python benchmarks/web_during_import.py --people 100000 --backend postgresql
    .venv/bin/python benchmarks/web_during_import.py --people 100000 --think 1
    .venv/bin/python benchmarks/web_during_import.py --people 100000 --code /tmp/old-tree   # git archive main

``--alone`` first times the same second import on a copy of the register with nobody
browsing, so the import's own slow-down is measured in the same run. ``--code DIR`` runs
the server and the commands from another checkout (to measure a release before this
change); ``--work DIR`` keeps the extracts between runs. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import requests

AS_OF = "2026-11-23"

#: The server: the app as ``visit-monitor web`` builds it, plus signed-in sessions for the browsers.
SERVER = r"""
import json, logging, secrets, sys, threading
from datetime import UTC, datetime
import waitress
from sqlalchemy import select
from monitor.core import config as config_module
from monitor.register.db import make_engine, transaction, reading
from monitor.register.models import Officer, WebSession
from monitor.web.app import create_app, warm_cache
from monitor.web.sessions import token_id

url, port, clients, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
web_keys = {"issuer": "http://127.0.0.1:9", "client_id": "bench"}
config = config_module.load(None, {"database": {"url": url}, "web": web_keys})
engine = make_engine(url)
app = create_app(config, engine)
web = app.extensions["visit_monitor"]
store = getattr(web, "store", engine)  # a release before the web store kept sessions in the register
with reading(engine) as db:
    def active(role, n):
        return list(db.scalars(select(Officer).where(Officer.role == role, Officer.active.is_(True)).limit(n)))
    leads, sups, oms = active("lead", 2), active("supervisor", 8), active("offender_manager", clients)
picked = (leads + sups + oms)[:clients]
browsers = []
now = datetime.now(UTC)
with transaction(store) as db:
    for officer in picked:
        token = secrets.token_urlsafe(32)
        values = dict(id=token_id(token), created_at=now, last_seen_at=now, officer_id=officer.officer_id,
                      subject="bench", email=officer.email.strip().lower(), data={})
        db.add(WebSession(**{k: v for k, v in values.items() if hasattr(WebSession, k)}))
        own = f"/officers/{officer.officer_id}"
        page = {"lead": "/force", "supervisor": f"/teams/{officer.team}"}.get(officer.role, own)
        browsers.append({"token": token, "page": page, "role": officer.role})
json.dump(browsers, open(out, "w"))
warm_cache(app)
threading.Thread(target=warm_cache, args=(app,), kwargs={"forever": True}, daemon=True).start()
logging.getLogger("waitress").setLevel(logging.ERROR)  # not "Task queue depth" per request
print("ready", flush=True)
waitress.serve(app, host="127.0.0.1", port=port, threads=8, _quiet=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], url: str, *args: str) -> float:
    """Run ``visit-monitor ARGS`` on the register; returns the seconds it took."""
    started = time.perf_counter()
    code = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env={**env, "MONITOR_DATABASE_URL": url},
        cwd=env.get("PYTHONPATH") or None,  # python puts its working folder first on the path
        capture_output=True,
        text=True,
    )
    if code.returncode not in (0, 3):
        raise SystemExit(f"visit-monitor {' '.join(args)} failed: {code.stderr.strip()[-500:]}")
    return time.perf_counter() - started


class Browser(threading.Thread):
    def __init__(
        self, base: str, token: str, page: str, stop: threading.Event, log: list[tuple[float, float, int]], think: float
    ):
        super().__init__(daemon=True)
        self.think = think
        self.session = requests.Session()
        self.session.cookies.set("vm_session", token, domain="127.0.0.1", path="/")
        self.url, self.stop, self.log = base + page, stop, log

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                status = self.session.get(self.url, timeout=120, allow_redirects=False).status_code
            except requests.RequestException:
                status = 599
            self.log.append((started, time.perf_counter() - started, status))
            self.stop.wait(self.think)


def summary(name: str, rows: list[tuple[float, float, int]]) -> dict[str, Any]:
    times = sorted(t for _s, t, _c in rows)
    if not times:
        return {"phase": name, "requests": 0}
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {
        "phase": name,
        "requests": len(times),
        "p50_s": round(statistics.median(times), 3),
        "p95_s": round(p95, 3),
        "max_s": round(times[-1], 3),
        "errors": sum(1 for _s, _t, c in rows if c != 200),
        "statuses": sorted({c for _s, _t, c in rows}),
    }


def import_alone(env: dict[str, str], url: str, work: Path, args: argparse.Namespace) -> float:
    """The second import into a copy of the register with nobody browsing: how long it takes alone."""
    if args.backend == "sqlite":
        import sqlite3

        copy = work / f"alone-{uuid.uuid4().hex[:6]}.db"
        source = sqlite3.connect(url.removeprefix("sqlite:///"))
        source.execute("VACUUM INTO ?", (str(copy),))
        source.close()
        try:
            return cli(env, f"sqlite:///{copy}", "import", str(work / "second"))
        finally:
            for suffix in ("", "-wal", "-shm"):
                copy.with_name(copy.name + suffix).unlink(missing_ok=True)
    name = f"vm_webimport_alone_{uuid.uuid4().hex[:8]}"
    template = url.rsplit("/", 1)[1]
    with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        return cli(env, url.rsplit("/", 1)[0] + f"/{name}", "import", str(work / "second"))
    finally:
        with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--work", type=Path, help="keep extracts and the register here between runs")
    parser.add_argument("--code", type=Path, help="run server and commands from this checkout instead")
    parser.add_argument("--quiet-seconds", type=float, default=15.0, help="browsing before and after the import")
    parser.add_argument("--think", type=float, default=0.0, help="seconds each browser waits between pages")
    parser.add_argument(
        "--alone", action="store_true", help="first time the second import on a copy with nobody browsing (yardstick)"
    )
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    if args.code:
        env["PYTHONPATH"] = str(args.code.resolve())
    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="vm-webimport-")
    work = (args.work or Path(tmp.name)).resolve()  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    for seed, name in ((1, "first"), (2, "second")):
        if not (work / name / "visits.csv").exists():
            print(f"generating {name} extract ({args.people:,} people) ...", file=sys.stderr)
            cli(
                env,
                "sqlite://",
                "seed",
                "--people",
                str(args.people),
                "--seed",
                str(seed),
                "--as-of",
                AS_OF,
                "--out",
                str(work / name),
                "--force",
            )
    # The same officers in both: a browser's officer stays who they were (other seeds give
    # other addresses, and a changed address ends the session, as it should).
    shutil.copyfile(work / "first" / "officers.csv", work / "second" / "officers.csv")
    dbname = None
    if args.backend == "sqlite":
        db = work / f"register-{uuid.uuid4().hex[:6]}.db"
        url = f"sqlite:///{db}"
    else:
        dbname = f"vm_webimport_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        url = args.pg_admin_url.rsplit("/", 1)[0] + f"/{dbname}"
    server = None
    try:
        cli(env, url, "db", "upgrade")
        first = cli(env, url, "import", str(work / "first"))
        print(f"first import: {first:.1f} s", file=sys.stderr)
        alone = import_alone(env, url, work, args) if args.alone else None
        port = free_port()
        browsers_file = work / "browsers.json"
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, url, str(port), str(args.clients), str(browsers_file)],
            env=env,
            cwd=env.get("PYTHONPATH") or None,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stdout.readline().strip() == "ready", "the server did not start"
        base = f"http://127.0.0.1:{port}"
        stop = threading.Event()
        log: list[tuple[float, float, int]] = []
        browsers = [
            Browser(base, b["token"], b["page"], stop, log, args.think) for b in json.loads(browsers_file.read_text())
        ]
        for browser in browsers:
            browser.start()
        time.sleep(3)  # every browser has opened its page once
        t0 = time.perf_counter()
        time.sleep(args.quiet_seconds)
        t1 = time.perf_counter()
        second = cli(env, url, "import", str(work / "second"))
        t2 = time.perf_counter()
        time.sleep(args.quiet_seconds)
        stop.set()
        for browser in browsers:
            browser.join(150)
        phases = [
            summary("before", [r for r in log if t0 <= r[0] < t1]),
            summary("during", [r for r in log if t1 <= r[0] < t2]),
            summary("after", [r for r in log if t2 <= r[0]]),
        ]
        print(
            f"backend {args.backend}, {args.people:,} people, {len(browsers)} browsers "
            f"(think {args.think:g} s); second import {second:.1f} s"
        )
        for phase in phases:
            print(json.dumps(phase))
        if alone is not None:
            print(f"the same import with nobody browsing: {alone:.1f} s ({second / alone:.1f}x with the browsers)")
        if phases[0].get("p95_s") and phases[1].get("p95_s"):
            print(f"p95 during / p95 before: {phases[1]['p95_s'] / phases[0]['p95_s']:.1f}x")
    finally:
        if server is not None:
            server.terminate()
            server.wait(20)
        if dbname:
            with psycopg.connect(args.pg_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
