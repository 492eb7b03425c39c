"""Instructions, not seconds: the national benchmark's ratios counted by callgrind (SQLite).

Why: on the 2-core machines here the same command takes 30 % longer or shorter from one run
to the next, and a ratio of two timings moves as much; at a floor (1.5x the lean query) the
machine, not the code, then decides whether a step passes. ``valgrind --tool=callgrind``
counts the instructions a process executes, which does not depend on what else the machine
is doing (the same total twice, once with the other core loaded). With SQLite the database
engine runs inside the process, so the count is the whole of the work: the product's and
the yardstick's, both whole processes, interpreter start included, as the timings are.

What it does not count: time waiting for the disk, the kernel's own work (creating files:
a digest preview writes 5,000), and cache misses. So it is a check on the timed ratios of
``national.py``, not a replacement, and it has no PostgreSQL form (the server's work is in
another process).

    .venv/bin/python benchmarks/national.py --sizes 100000 --engines sqlite --keep DIR
    .venv/bin/python benchmarks/instructions.py DIR/sqlite-100000 [--digests] [--as-of DATE]

It reads the database and ``monitor.toml`` that ``national.py --keep`` left in that folder.
Each step runs about fifty times slower under callgrind (a report of 100,000 people: two
minutes), two at a time; ``--digests`` adds the digest preview (its worker processes
counted too: ten minutes at 100,000 people).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import messy_extract

BENCH = Path(__file__).resolve().parent
_COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.MULTILINE)


def instructions(argv: list[str], env: dict[str, str], cwd: Path) -> int:
    """Instructions executed by ``argv`` and every process it forks (callgrind's totals)."""
    with tempfile.TemporaryDirectory(prefix="vm-callgrind-") as scratch:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--trace-children=yes",
                f"--callgrind-out-file={scratch}/callgrind.%p",
                *argv,
            ],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    counts = [int(n) for n in _COLLECTED.findall(done.stderr)]
    if done.returncode != 0 or not counts:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise SystemExit(f"{' '.join(argv[:3])}...: exit {done.returncode}: {tail}")
    return sum(counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", type=Path, help="a national.py --keep folder for one SQLite size")
    parser.add_argument("--as-of", default=messy_extract.AS_OF.isoformat())
    parser.add_argument("--digests", action="store_true", help="also the digest preview (slow)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    workdir = args.workdir.resolve()
    config = workdir / "monitor.toml"
    database = workdir / "product.db"
    if not config.is_file() or not database.is_file():
        raise SystemExit(f"{workdir}: no monitor.toml and product.db (run national.py --keep first)")
    url = f"sqlite:///{database}"
    env = {**os.environ, "MONITOR_CONFIG": str(config), "MONITOR_DATABASE_URL": url}
    vm = str(Path(sys.executable).with_name("visit-monitor"))
    out = Path(tempfile.mkdtemp(prefix="vm-instructions-"))
    report = [vm, "report", "--as-of", args.as_of, "--format", "json"]
    steps = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "lean SQL query": [sys.executable, str(BENCH / "lean_report.py"), url, args.as_of, str(out / "lean.json")],
        "lean_full.py": [sys.executable, str(BENCH / "lean_full.py"), url, args.as_of, str(out / "full.json")],
        "report --format json": [*report, "--output", str(out / "report.json")],
        "report ... --section overdue_visit": [
            *report,
            "--section",
            "overdue_visit",
            "--output",
            str(out / "visits.json"),
        ],
    }
    if args.digests:
        steps["digest --kind all --preview"] = [
            vm,
            "digest",
            "--as-of",
            args.as_of,
            "--kind",
            "all",
            "--preview",
            str(out / "preview"),
        ]
    try:
        with ThreadPoolExecutor(2) as pool:  # counts do not depend on load: two at a time
            counted = dict(
                zip(steps, pool.map(lambda argv: instructions(argv, env, workdir), steps.values()), strict=True)
            )
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"{workdir.name}: instructions (callgrind), each step a whole process")
    print("| step | instructions (millions) | against the lean query | against lean_full.py |")
    print("|---|---|---|---|")
    lean, full = counted["lean SQL query"], counted["lean_full.py"]
    for step, count in counted.items():
        print(f"| {step} | {count / 1e6:,.0f} | {count / lean:.2f}x | {count / full:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
