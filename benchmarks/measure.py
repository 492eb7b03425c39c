"""How the national benchmark measures: whole child processes, and scratch databases.

Why a module of its own: every figure in the benchmark comes from here, so how it is
taken is stated once. A step is a whole process (interpreter start, imports, connection,
work, output), timed with a monotonic clock from spawn to exit; its peak memory is the
child's own maximum resident set size from ``os.wait4`` (the kernel's figure for that
process only; a PostgreSQL server's memory is not included), taken by the small launcher
in ``spawn.py`` so that the benchmark's own size does not leak into the figure. Databases are created fresh
for each run and dropped afterwards.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The small launcher that spawns and measures each child (see its docstring).
SPAWN = Path(__file__).resolve().with_name("spawn.py")


@dataclass(frozen=True)
class Measure:
    """Wall seconds, CPU seconds and peak RSS (MB) of one step; ``runs`` > 1: the median of that many.

    CPU is the measured process's own (user + system): for PostgreSQL it leaves out the
    server's work, so compare CPU ratios between steps of one engine only.
    """

    seconds: float
    peak_mb: float | None = None
    runs: int = 1
    cpu_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 4),
            "cpu_seconds": self.cpu_seconds and round(self.cpu_seconds, 4),
            "peak_mb": self.peak_mb and round(self.peak_mb, 1),
            "runs": self.runs,
        }


@dataclass(frozen=True)
class ChildRun:
    """One finished child process."""

    argv: list[str]
    returncode: int
    seconds: float
    cpu_seconds: float
    peak_mb: float
    stdout: Path
    stderr: Path

    def tail(self, lines: int = 5) -> str:
        text = self.stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return " | ".join(text[-lines:])


class Children:
    """Runs child processes with one environment and working directory, logging each one's output."""

    def __init__(self, cwd: Path, env: dict[str, str]):
        self.cwd = cwd
        self.env = env
        self.logs = cwd / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self._n = len(list(self.logs.glob("*.json")))  # numbering goes on across instances

    def run(self, label: str, argv: list[str]) -> ChildRun:
        self._n += 1
        stem = self.logs / f"{self._n:02d}-{label}"
        out, err, measured = stem.with_suffix(".out"), stem.with_suffix(".err"), stem.with_suffix(".json")
        launcher = [sys.executable, "-I", "-S", str(SPAWN), str(measured)]
        # Every step starts with nothing left to write back from earlier ones: the kept digest
        # previews (up to 5 GB at 300,000 people) otherwise had the kernel flushing them on
        # both CPUs during later steps, which then took half as long again.
        os.sync()
        with open(out, "wb") as fo, open(err, "wb") as fe:
            subprocess.run(
                [*launcher, *argv],
                stdout=fo,
                stderr=fe,
                stdin=subprocess.DEVNULL,
                cwd=self.cwd,
                env=self.env,
                check=True,
            )
        facts = json.loads(measured.read_text())
        return ChildRun(
            argv, facts["returncode"], facts["seconds"], facts["cpu_seconds"], facts["peak_kb"] / 1024, out, err
        )


def median_of(runs: list[ChildRun]) -> Measure:
    """The median time of several runs, with the highest peak memory among them."""
    return Measure(
        statistics.median(r.seconds for r in runs),
        max(r.peak_mb for r in runs),
        len(runs),
        statistics.median(r.cpu_seconds for r in runs),
    )


def timed(fn: Callable[[], Any], runs: int) -> tuple[Measure, Any]:
    """Median wall and CPU time of ``runs`` in-process calls, and the last call's result."""
    times, cpu = [], []
    result = None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return Measure(statistics.median(times), None, runs, statistics.median(cpu)), result


@contextmanager
def scratch_database(engine: str, workdir: Path, label: str, pg_admin_url: str, keep: bool) -> Iterator[str]:
    """A URL of a new, empty database; dropped (PostgreSQL) or deleted (SQLite) afterwards."""
    if engine == "sqlite":
        path = workdir / f"{label}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        try:
            yield f"sqlite:///{path}"
        finally:
            if not keep:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    name = f"vm_nat_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
