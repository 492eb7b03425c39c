"""The project's own battery: faults tried on real processes, databases and a real relay.

The battery tests (marked ``battery``; the heavy ones also ``slow``, and all run in the
README's test command) call :func:`record` once per try: which fault, on which backend,
how many digests were at stake, how many arrived, how many arrived twice (a resend of the
message that was in flight, with its Message-ID), how many were left stuck, and how
many were lost. The rows go to a JSON-lines file named by ``$MONITOR_BATTERY_LOG`` (set
by the conftest for every pytest run, inherited by xdist workers), and the summary at
the end of the run prints them as a table, one line per fault and backend.

``python -m tests.battery`` runs only the battery (``pytest -m battery -n 2``) and prints
the same table, e.g. for a release note::

    .venv/bin/python -m tests.battery
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ENV = "MONITOR_BATTERY_LOG"
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Try:
    """One try of one fault: what was at stake and what became of it."""

    fault: str
    backend: str
    digests: int  # messages at stake
    arrived: int  # distinct Message-IDs the relay received
    resent: int  # of those, received twice (the message in flight, same Message-ID)
    stuck: int  # left pending/sending after the recovery run
    lost: int  # never arrived
    note: str = ""
    hit: bool = True  # the fault landed (e.g. the process was still running when killed)


def record(attempt: Try) -> None:
    """Append one try to the battery log (a no-op when no log is configured)."""
    path = os.environ.get(ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(attempt)) + "\n")


def load(path: str | Path) -> list[Try]:
    file = Path(path)
    if not file.exists():
        return []
    return [Try(**json.loads(line)) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def table(tries: Iterable[Try]) -> str:
    """One line per (fault, backend): tries (and how many the fault hit), digests at stake,
    arrived, resent, stuck, lost."""
    groups: dict[tuple[str, str], list[Try]] = {}
    for t in tries:
        groups.setdefault((t.fault, t.backend), []).append(t)
    if not groups:
        return ""
    header = ("fault", "backend", "tries", "hit", "digests", "arrived", "resent", "stuck", "lost")
    rows: list[tuple[Any, ...]] = []
    for (fault, backend), ts in sorted(groups.items()):
        rows.append(
            (
                fault,
                backend,
                len(ts),
                sum(t.hit for t in ts),
                sum(t.digests for t in ts),
                sum(t.arrived for t in ts),
                sum(t.resent for t in ts),
                sum(t.stuck for t in ts),
                sum(t.lost for t in ts),
            )
        )
    total = ("all faults", "", *(sum(r[i] for r in rows) for i in range(2, len(header))))
    width = max(len(str(r[0])) for r in [*rows, header])
    lines = [
        "Battery: each fault tried, how often (hit: the fault landed while the work was under way),",
        "what survived (arrived; resent = the message in flight, sent again with the same Message-ID),",
        "what was left stuck and what was lost.",
        f"{header[0]:<{width}}  {header[1]:<10}" + "".join(f"{h:>9}" for h in header[2:]),
    ]
    for r in [*rows, total]:
        lines.append(f"{r[0]:<{width}}  {r[1]:<10}" + "".join(f"{v:>9}" for v in r[2:]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the battery tests and print the table; the exit code is pytest's."""
    args = list(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="vm-battery-") as tmp:
        log = Path(tmp) / "battery.jsonl"
        env = {**os.environ, ENV: str(log)}
        code = subprocess.call(
            [sys.executable, "-m", "pytest", "-m", "battery", "-n", "2", "-q", "-p", "no:cacheprovider", *args],
            cwd=REPO,
            env=env,
        )
        print()
        print(table(load(log)) or "no battery rows were recorded")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
