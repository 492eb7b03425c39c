"""The importer's own battery (issue 8): random and hostile extracts, kill -9, a dead backend.

Real processes, real databases, no mocks:

* **Random extracts** (hypothesis): random rows from pools of good, bad and hostile values,
  shuffled and re-cased columns, UTF-8 with and without BOM, latin-1, UTF-16, CRLF, NULs,
  junk lines, huge fields, short and long rows, files cut at a random byte. Each example is
  imported into SQLite *and* PostgreSQL. Never a traceback; exit 0 or 3 with every input
  record stored or rejected (counted against an independent count of the file's records),
  or a refusal (exit 1) that left the register unchanged; both databases end identical.
* **kill -9** of ``visit-monitor import`` at random moments: the register is exactly as
  before or exactly as after (a re-import then changes nothing), on both databases.
* **pg_terminate_backend** of the import's PostgreSQL backend mid-import: exit 1, one line,
  register unchanged.

The default suite runs a few seconds of each; the ``slow`` variants run many more (CI runs
everything). ``python tests/battery_report.py`` runs the lot and prints the tally table.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from conftest import PG_ADMIN_URL, _pg_admin, _pg_url, new_database_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from monitor.cli.app import cli
from monitor.core import config as config_module
from monitor.core.config import Config
from monitor.register import models
from monitor.register.db import make_engine, reading
from monitor.register.importer import ImportFailure, ImportResult, import_directory
from monitor.synthetic.generator import generate

#: What the battery tried and what came of it, written out for tests/battery_report.py.
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _write_tally() -> Iterator[None]:
    yield
    target = os.environ.get("BATTERY_REPORT")
    if target and TALLY:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(dict(TALLY)) + "\n")
    TALLY.clear()


# --------------------------------------------------------------------------- random extracts

HOSTILE = [
    "[/]",
    "[link=https://evil.example]x[/link]",
    "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07",
    "\x1b[2J",
    "NUL\x00",
    "RSO-\u202e100000",
    "a\u200bb",
    '"quoted, with comma"',
    "\x85",
    "tab\there",
    "line\nbreak",
    "\u2028",
    "😀",
    "'; DROP TABLE offenders; --",
    "{ref}",
    "%s%s%n",
    " ",
]
GOOD_DATES = [
    "2025-01-10",
    "10/01/2025",
    "1/2/2025",
    "2026-06-30T23:30:00Z",
    "2026-07-01 00:15",
    "01/07/2026 00:15",
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:30:00-01:00",
    "",
]
BAD_DATES = ["2025-02-30", "31/02/2025", "2025-13-01", "0000-01-01", "soon", "2026-06-30T25:00:00Z"]
#: Per column: values a correct extract may hold, and values it should not.
GOOD: dict[str, list[str]] = {
    "ref": [f"RSO-{n:06d}" for n in range(1, 13)],
    "risk_level": ["very_high", "Very High", "high", "medium", "LOW"],
    "status": ["community", "Custody", "missing", "deceased"],
    "team": ["NORTH", "SOUTH", "[/]"],
    "offender_manager": ["OM-0001", "OM-0002"],
    "management": ["active", "reactive", ""],
    "no_fixed_abode": ["true", "no", "1", ""],
    "surname": ["Testperson", "Fakename", "Tëstperson", "", "tab\there", "\u200fRTL"],
    "forenames": ["Zoë", "Alpha", ""],
    "visit_id": [f"V-{n:04d}" for n in range(1, 25)],
    "outcome": ["completed", "No Access", "cancelled"],
    "visit_type": ["home", "Other", ""],
    "officer": ["OM-0001", ""],
    "officer_id": ["OM-0001", "OM-0002", "DS-01", "LEAD-1"],
    "name": ["Test Officer", "Officer Testname"],
    "email": ["om1@police.example", "ds@police.example"],
    "role": ["offender_manager", "Supervisor", "lead"],
    "active": ["true", "no", ""],
}
BAD: dict[str, list[str]] = {
    "risk_level": ["severe", ""],
    "status": ["prison", ""],
    "management": ["passive"],
    "no_fixed_abode": ["maybe"],
    "outcome": ["attended", ""],
    "visit_type": ["phone"],
    "email": ["not-an-address", ""],
    "role": ["constable", ""],
    "active": ["sometimes"],
}
for _col in ("registered_on", "status_since", "risk_assessed_on", "last_notified_on", "registration_ends"):
    GOOD[_col], BAD[_col] = GOOD_DATES, BAD_DATES
for _col in ("date_of_birth", "visit_date"):
    GOOD[_col], BAD[_col] = GOOD_DATES, BAD_DATES
GOOD["visit_date"] = [d for d in GOOD_DATES if d]
COLUMNS = {
    "officers.csv": ["officer_id", "name", "email", "team", "role", "active"],
    "offenders.csv": [
        "ref",
        "risk_level",
        "status",
        "team",
        "offender_manager",
        "registered_on",
        "status_since",
        "management",
        "risk_assessed_on",
        "last_notified_on",
        "no_fixed_abode",
        "registration_ends",
        "surname",
        "forenames",
        "date_of_birth",
    ],
    "visits.csv": ["visit_id", "ref", "visit_date", "outcome", "visit_type", "officer"],
}
FAULTS = ("nul", "junk", "huge", "truncate", "short", "long", "control", "blank")


@st.composite
def cell(draw: st.DrawFn, column: str, badness: int) -> str:
    """A good value for ``column``, or (``badness`` in 10) a bad, hostile or random one."""
    if column not in GOOD:
        return draw(st.sampled_from(["x", "", *HOSTILE]))
    if draw(st.integers(0, 9)) >= badness:
        return draw(st.sampled_from(GOOD[column]))
    kind = draw(st.integers(0, 2))
    if kind == 0 and column in BAD:
        return draw(st.sampled_from(BAD[column]))
    if kind <= 1:
        return draw(st.sampled_from(HOSTILE))
    return draw(st.text(max_size=12))


@st.composite
def extract_file(draw: st.DrawFn, name: str) -> tuple[bytes, set[str]]:
    """One file's bytes and the faults put into it."""
    faults: set[str] = set()
    columns = list(COLUMNS[name])
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))
    columns += draw(st.sampled_from([[], ["notes"]]))
    header = [
        draw(st.sampled_from([c, c.upper(), c.replace("_", " ").title(), f" {c} "])) if c != "notes" else "Notes"
        for c in columns
    ]
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(0, 12))):
        badness = draw(st.sampled_from([0, 0, 1, 3, 10]))
        row = [draw(cell(c, badness)) for c in columns]
        shape = draw(st.integers(0, 19))
        if shape == 0 and len(row) > 1:
            row = row[: draw(st.integers(1, len(row) - 1))]
            faults.add("short")
        elif shape == 1:
            row += ["surplus"] * draw(st.integers(1, 3))
            faults.add("long")
        elif shape == 2:
            row[draw(st.integers(0, len(row) - 1))] = "N" * draw(st.integers(130 * 1024, 300 * 1024))
            faults.add("huge")
        elif shape == 3:
            row = [""] * len(row)
            faults.add("blank")
        rows.append(row)
    if any(any(not c.isprintable() for c in r) for r in rows):
        faults.add("control")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    faults.add(encoding)
    data = out.getvalue().encode(encoding, errors="replace")
    body_start = data.find(b"\n") + 1
    if encoding != "utf-16" and body_start > 0:
        lines = data[body_start:].split(b"\n")
        if draw(st.booleans()) and len(data) > body_start:
            at = draw(st.integers(body_start, len(data) - 1))
            data = data[:at] + b"\x00" + data[at:]
            faults.add("nul")
        if draw(st.integers(0, 3)) == 0:
            junk = draw(st.binary(min_size=1, max_size=40)).translate(None, b'\n\r"')
            at = draw(st.integers(0, len(lines)))
            lines = data[body_start:].split(b"\n")
            lines.insert(at, junk)
            data = data[:body_start] + b"\n".join(lines)
            faults.add("junk")
        if draw(st.integers(0, 3)) == 0 and len(data) > body_start:
            data = data[: draw(st.integers(body_start, len(data)))]
            faults.add("truncate")
    return data, faults


def expected_records(data: bytes) -> int | None:
    """Data records in ``data`` by an independent count (None: a quote open at the end).

    A record is what the csv module reads between line ends ("\\n" only), blank records
    not counted; one that the csv module cannot read still counts as one.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = re.findall(r"[^\n]*\n|[^\n]+$", data.decode("utf-8", "replace"))
    ended = False

    def feed() -> Iterator[str]:
        nonlocal ended
        yield from lines
        ended = True

    reader = csv.reader(feed(), strict=True)
    records, header = 0, False
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return records
        except csv.Error:
            if ended:
                return None
            records += header
            continue
        if "".join(record).strip():
            records += header
            header = True


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in ("import_rejects", "visits", "offenders", "officers", "import_runs"):
            conn.execute(text(f"DELETE FROM {table}"))


def register(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The register's rows (without the import stamps), sorted in Python (collations differ)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with reading(engine) as session:
        for model in (models.Officer, models.Offender, models.Visit):
            table = model.__table__
            cols = [c for c in table.columns if c.name not in ("updated_at", "import_id")]
            out[table.name] = sorted(tuple(r) for r in session.execute(select(*cols)).all())
    return out


@pytest.fixture
def engines(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Engine]]:
    made = {b: make_engine(new_database_url(b, tmp_path / b, request)) for b in ("sqlite", "postgresql")}
    yield made
    for eng in made.values():
        eng.dispose()


def _config(engine: Engine) -> Config:
    return config_module.load(path=None, overrides={"database": {"url": engine.url.render_as_string(False)}})


def check_one_extract(engines: dict[str, Engine], directory: Path, files: dict[str, tuple[bytes, set[str]]]) -> None:
    """Import ``directory`` into each engine from empty; the battery's invariants hold."""
    expected = {name: expected_records(data) for name, (data, _) in files.items()}
    outcomes: dict[str, tuple[Any, ...]] = {}
    for backend, engine in engines.items():
        reset(engine)
        try:
            result: ImportResult | None = import_directory(engine, _config(engine), directory)
            failure = None
        except ImportFailure as exc:
            result, failure = None, str(exc)
        if failure is not None:
            assert not failure.startswith("unexpected error"), failure
            assert failure.isprintable(), failure
            assert register(engine) == {"officers": [], "offenders": [], "visits": []}
            outcomes[backend] = ("refused", failure)
            continue
        assert result is not None
        assert result.exit_code == (3 if result.rejects else 0)
        for name, c in result.counts.items():
            assert expected[name] is not None, f"{name}: a quote open at the end was not refused"
            stored = c["inserted"] + c["updated"] + c["unchanged"]
            assert stored + c["rejected"] == expected[name], (name, c, expected[name])
            assert c["updated"] == c["unchanged"] == 0  # from empty, duplicates are rejected
            assert c["rejected"] == sum(1 for r in result.rejects if r.file.lower() == name)
        for r in result.rejects:
            assert r.reason.isprintable() and r.line >= 2, r
        stored_rows = register(engine)
        assert len(stored_rows["offenders"]) == result.counts.get("offenders.csv", {}).get("inserted", 0)
        assert len(stored_rows["visits"]) == result.counts.get("visits.csv", {}).get("inserted", 0)
        outcomes[backend] = (
            "rejected_rows" if result.rejects else "ok",
            result.counts,
            [str(r) for r in result.rejects],
            stored_rows,
        )
    assert outcomes["sqlite"] == outcomes["postgresql"]
    TALLY[f"random: outcome {outcomes['sqlite'][0]}"] += 1
    if outcomes["sqlite"][0] != "refused":
        TALLY["random: records accounted for"] += sum(n or 0 for n in expected.values())
        TALLY["random: rows rejected"] += sum(c["rejected"] for c in outcomes["sqlite"][1].values())
    for _, faults in files.values():
        for fault in faults:
            TALLY[f"random: fault {fault}"] += 1


@st.composite
def extracts(draw: st.DrawFn) -> dict[str, tuple[bytes, set[str]]]:
    names = draw(st.sets(st.sampled_from(sorted(COLUMNS)), min_size=1))
    return {name: draw(extract_file(name)) for name in sorted(names)}


def _property(engines: dict[str, Engine], tmp_path: Path, files: dict[str, tuple[bytes, set[str]]]) -> None:
    directory = tmp_path / f"x-{uuid.uuid4().hex[:8]}"
    directory.mkdir()
    for name, (data, _) in files.items():
        (directory / name).write_bytes(data)
    try:
        check_one_extract(engines, directory, files)
    finally:
        shutil.rmtree(directory)


_QUICK = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
_LONG = settings(_QUICK, max_examples=400)


@_QUICK
@given(files=extracts())
def test_random_extracts_are_stored_or_rejected_identically(
    engines: dict[str, Engine], tmp_path: Path, files: dict[str, tuple[bytes, set[str]]]
) -> None:
    _property(engines, tmp_path, files)


@pytest.mark.slow
@_LONG
@given(files=extracts())
def test_random_extracts_many(
    engines: dict[str, Engine], tmp_path: Path, files: dict[str, tuple[bytes, set[str]]]
) -> None:
    _property(engines, tmp_path, files)


@settings(_QUICK, max_examples=15)
@given(cells=st.lists(st.sampled_from(HOSTILE) | st.text(max_size=20), min_size=6, max_size=6))
def test_hostile_cells_at_the_command_line(sqlite_url: str, tmp_path: Path, cells: list[str]) -> None:
    """The CLI prints any cell as inert text: exit 0 or 3, no escape sequence, --rejects written."""
    config_path = tmp_path / "cli.toml"
    config_path.write_text(f'[database]\nurl = "{sqlite_url}"\n')
    directory = tmp_path / f"x-{uuid.uuid4().hex[:8]}"
    directory.mkdir()
    with open(directory / "offenders.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS["offenders.csv"][:6])
        w.writerow(cells)
    rejects = directory / "rejects.csv"
    result = CliRunner().invoke(
        cli, ["--config", str(config_path), "import", str(directory), "--rejects", str(rejects)], color=True
    )
    assert result.exit_code in (0, 3), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "\x1b" not in result.output and "\x00" not in result.output
    assert rejects.exists()
    TALLY["cli: hostile cells printed"] += 1


# --------------------------------------------------------------------------- kill -9 and a dead backend


def _clone(backend: str, base_url: str, base_path: Path | None, tmp_path: Path) -> str:
    """A copy of the base register to kill an import on."""
    if backend == "sqlite":
        assert base_path is not None
        target = tmp_path / f"trial-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(base_path, target)
        wal = base_path.with_name(base_path.name + "-wal")
        if wal.exists():
            shutil.copy(wal, target.with_name(target.name + "-wal"))
        return f"sqlite:///{target}"
    base = base_url.rsplit("/", 1)[1]
    name = f"vm_trial_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{base}"')  # bounded wait, as every fixture's
    return _pg_url(name)


def _drop(url: str) -> None:
    if url.startswith("postgresql"):
        _pg_admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _cli(url: str, tmp_path: Path, directory: Path) -> subprocess.Popen[bytes]:
    config_path = tmp_path / f"kill-{uuid.uuid4().hex[:6]}.toml"
    config_path.write_text(f'[database]\nurl = "{url}"\n')
    env = {**os.environ, "MONITOR_CONFIG": str(config_path)}
    env.pop("MONITOR_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "import", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )


def _full_register(url: str) -> dict[str, list[tuple[Any, ...]]]:
    eng = make_engine(url)
    try:
        out = register(eng)
        with reading(eng) as s:
            out["runs"] = sorted(
                (r.outcome, r.source) for r in s.scalars(select(models.ImportRun)).all() if r.outcome == "running"
            )
            stamps = s.execute(select(models.Offender.ref, models.Offender.updated_at, models.Offender.import_id))
            out["stamps"] = sorted(tuple(r) for r in stamps.all())
        return out
    finally:
        eng.dispose()


def _base(db_url: str, tmp_path: Path, later_people: int) -> tuple[str, Path | None, Path]:
    """A register holding a first extract, and a bigger later extract to import over it."""
    first, later = tmp_path / "first", tmp_path / "later"
    generate(600, seed=41, as_of=date(2026, 10, 1), out_dir=first)
    generate(later_people, seed=42, as_of=date(2026, 11, 20), out_dir=later)
    eng = make_engine(db_url)
    assert import_directory(eng, _config(eng), first).exit_code == 0
    eng.dispose()
    path = Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite") else None
    return db_url, path, later


@pytest.fixture
def base_register(db_url: str, tmp_path: Path) -> tuple[str, Path | None, Path]:
    return _base(db_url, tmp_path, 1500)


@pytest.fixture
def pg_base_register(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, Path | None, Path]:
    return _base(new_database_url("postgresql", tmp_path, request), tmp_path, 4000)


def _kill_trials(base: tuple[str, Path | None, Path], tmp_path: Path, trials: int, seed: int) -> Counter[str]:
    base_url, base_path, later = base
    backend = "sqlite" if base_url.startswith("sqlite") else "postgresql"
    before = _full_register(base_url)
    # One undisturbed run: how long an import takes here, and the state after it.
    url = _clone(backend, base_url, base_path, tmp_path)
    started = time.monotonic()
    done = _cli(url, tmp_path, later)
    assert done.wait(300) == 0, done.stderr.read() if done.stderr else ""
    duration = time.monotonic() - started
    after = _full_register(url)
    _drop(url)
    after_rows = {k: v for k, v in after.items() if k not in ("stamps",)}
    rng = random.Random(seed)
    seen: Counter[str] = Counter()
    for _ in range(trials):
        url = _clone(backend, base_url, base_path, tmp_path)
        proc = _cli(url, tmp_path, later)
        time.sleep(rng.uniform(0.0, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)
        state = _full_register(url)
        if state == before:
            seen["before"] += 1
        else:
            assert {k: v for k, v in state.items() if k != "stamps"} == after_rows, "partial import after kill -9"
            seen["after"] += 1
        # Whatever happened, the next import works (no stale lock) and ends at "after".
        rerun = _cli(url, tmp_path, later)
        assert rerun.wait(300) == 0, rerun.stderr.read() if rerun.stderr else ""
        final = _full_register(url)
        assert {k: v for k, v in final.items() if k != "stamps"} == after_rows
        _drop(url)
    TALLY[f"kill -9 ({backend}): trials"] += trials
    for outcome, n in seen.items():
        TALLY[f"kill -9 ({backend}): register as {outcome}"] += n
    return seen


@pytest.mark.parametrize("seed", [1])
def test_kill_9_during_import_leaves_before_or_after(
    base_register: tuple[str, Path | None, Path], tmp_path: Path, seed: int
) -> None:
    seen = _kill_trials(base_register, tmp_path, trials=2, seed=seed)
    assert sum(seen.values()) == 2


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3])
def test_kill_9_during_import_many(base_register: tuple[str, Path | None, Path], tmp_path: Path, seed: int) -> None:
    seen = _kill_trials(base_register, tmp_path, trials=6, seed=seed)
    assert sum(seen.values()) == 6


def _terminate_mid_import(base: tuple[str, Path | None, Path], tmp_path: Path) -> None:
    base_url, _, later = base
    before = _full_register(base_url)
    url = _clone("postgresql", base_url, None, tmp_path)
    dbname = url.rsplit("/", 1)[1]
    proc = _cli(url, tmp_path, later)
    terminated = 0
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        deadline = time.monotonic() + 120
        while not terminated and proc.poll() is None and time.monotonic() < deadline:
            # The import's transaction: open, and already writing to the register.
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND xact_start IS NOT NULL "
                "AND backend_type = 'client backend' AND query ILIKE %s",
                (dbname, "%visits%"),
            ).fetchone()
            if row:
                # That one backend, by pid (never a broad match: other tests share the server).
                killed = admin.execute("SELECT pg_terminate_backend(%s)", (row[0],)).fetchone()
                terminated = int(bool(killed and killed[0]))
            else:
                time.sleep(0.01)
    _out, err = proc.communicate(timeout=120)
    assert terminated, "the import finished before its backend could be terminated"
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 1, err.decode()
    assert len(lines) == 1 and lines[0].startswith(
        "visit-monitor: import failed, nothing was changed: database error:"
    ), lines
    assert "Traceback" not in err.decode()
    assert _full_register(url) == before
    _drop(url)
    TALLY["pg_terminate_backend mid-import: trials"] += 1
    TALLY["pg_terminate_backend mid-import: exit 1, one line, register unchanged"] += 1


def test_postgresql_backend_terminated_mid_import(
    pg_base_register: tuple[str, Path | None, Path], tmp_path: Path
) -> None:
    """PostgreSQL only: SQLite has no server backend to terminate."""
    _terminate_mid_import(pg_base_register, tmp_path)
