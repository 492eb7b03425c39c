"""Run the importer's battery (slow parts included) and print what was tried and what survived.

    .venv/bin/python tests/battery_report.py [pytest args...]

Runs tests/register/test_import_battery.py with ``-m "slow or not slow"`` and prints a Markdown
table from the tallies the tests write (``$BATTERY_REPORT``). Exit status is pytest's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (fault or attack, tally keys counted as "how often", what survived, what was lost).
ROWS = [
    (
        "random extracts (hypothesis): pools of good/bad/hostile values, shuffled and re-cased columns",
        ["random: outcome ok", "random: outcome rejected_rows", "random: outcome refused"],
        "every record stored or rejected with file/line/reason; SQLite == PostgreSQL",
    ),
    ("  of which: NUL byte inserted at a random byte", ["random: fault nul"], "row rejected (or file refused)"),
    ("  of which: junk bytes line", ["random: fault junk"], "row rejected"),
    ("  of which: field over 128 KiB", ["random: fault huge"], "row rejected"),
    ("  of which: file cut at a random byte", ["random: fault truncate"], "short row rejected / open quote refused"),
    ("  of which: short row", ["random: fault short"], "row rejected, stored values kept"),
    ("  of which: row longer than the header", ["random: fault long"], "row rejected"),
    ("  of which: control/bidi/markup characters in cells", ["random: fault control"], "row rejected or text"),
    ("  of which: latin-1 bytes", ["random: fault latin-1"], "undecodable rows rejected, line named"),
    ("  of which: UTF-16", ["random: fault utf-16"], "file refused, register unchanged"),
    ("hostile cells printed by the CLI", ["cli: hostile cells printed"], "exit 0/3, no escape reached the output"),
    ("kill -9 of `import` (SQLite)", ["kill -9 (sqlite): trials"], "register exactly before or after"),
    ("kill -9 of `import` (PostgreSQL)", ["kill -9 (postgresql): trials"], "register exactly before or after"),
    (
        "pg_terminate_backend mid-import",
        ["pg_terminate_backend mid-import: trials"],
        "exit 1, one line, register unchanged",
    ),
]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "battery.jsonl"
        env = {**os.environ, "BATTERY_REPORT": str(report)}
        cmd = [sys.executable, "-m", "pytest", "-q", "-m", "slow or not slow", str(HERE / "test_import_battery.py")]
        code = subprocess.call([*cmd, *sys.argv[1:]], env=env, cwd=HERE.parent)
        tally: Counter[str] = Counter()
        if report.exists():
            for line in report.read_text(encoding="utf-8").splitlines():
                tally.update(json.loads(line))
    print()
    print("| fault or attack | how often | what survived | what was lost |")
    print("|---|---|---|---|")
    for name, keys, survived in ROWS:
        n = sum(tally.get(k, 0) for k in keys)
        detail = ""
        if name.startswith("random extracts"):
            detail = (
                f" ({tally.get('random: outcome ok', 0)} ok, {tally.get('random: outcome rejected_rows', 0)} with "
                f"rejects, {tally.get('random: outcome refused', 0)} refused; "
                f"{tally.get('random: records accounted for', 0)} records, "
                f"{tally.get('random: rows rejected', 0)} rejected)"
            )
        if name.startswith("kill -9"):
            backend = "sqlite" if "SQLite" in name else "postgresql"
            detail = (
                f" ({tally.get(f'kill -9 ({backend}): register as before', 0)} before, "
                f"{tally.get(f'kill -9 ({backend}): register as after', 0)} after)"
            )
        lost = "nothing" if code == 0 else "see the failures above"
        print(f"| {name} | {n}{detail} | {survived} | {lost} |")
    return code


if __name__ == "__main__":
    sys.exit(main())
