"""Issue 21: ``import DIR --check`` does everything but write, and ``--suggest-mapping`` drafts a mapping.

The dry run is held to the import it stands for: the same counts, rejects and absences as a
real import of the same extract into the same register, and not one byte changed in the
database (every table, PostgreSQL's sequences, SQLite's file). Every database test runs on
SQLite and PostgreSQL. All data is synthetic.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from force_shapes import add_accents, to_records_csv
from sqlalchemy import select, text
from test_import import OFFENDERS_HEADER, OFFICERS_HEADER, offender, write

from monitor.cli.app import cli
from monitor.core import config as config_module
from monitor.register import models
from monitor.register.contract import file_mappings
from monitor.register.db import make_engine, reading
from monitor.register.importer import import_directory
from monitor.synthetic.generator import generate


def dump(url: str) -> dict[str, Any]:
    """Every table, PostgreSQL's sequences and SQLite's bytes."""
    engine = make_engine(url)
    out: dict[str, Any] = {}
    try:
        with reading(engine) as session:
            for table in models.Base.metadata.sorted_tables:
                out[table.name] = sorted(tuple(map(str, r)) for r in session.execute(select(table)).all())
            if engine.dialect.name == "postgresql":
                out["sequences"] = session.execute(text("SELECT sequencename, last_value FROM pg_sequences")).all()
    finally:
        engine.dispose()
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal"):
            f = Path(f"{path}{suffix}")
            out[f"bytes{suffix}"] = hashlib.sha256(f.read_bytes()).hexdigest() if f.exists() else None
    return out


@pytest.fixture
def cli_config(db_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n[mail]\nmaildir = "{tmp_path / "outbox"}"\n')
    return path


def invoke(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), "import", *args], catch_exceptions=False)


def test_check_says_exactly_what_the_import_would_do_and_writes_nothing(
    db_url: str, cli_config: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first"
    write(
        first, "officers.csv", [OFFICERS_HEADER, "OM-0001,Officer Testname,om@police.example,NORTH,offender_manager,"]
    )
    write(first, "offenders.csv", [OFFENDERS_HEADER, *(offender(f"RSO-00000{i}") for i in range(1, 6))])
    assert invoke(cli_config, str(first)).exit_code == 0
    later = tmp_path / "later"
    write(
        later,
        "offenders.csv",
        [
            OFFENDERS_HEADER,
            offender("RSO-000001"),  # unchanged
            offender("RSO-000002", risk_level="low"),  # updated
            offender("RSO-000003", risk_level="severe"),  # rejected: still named, so not absent
            offender("RSO-000006"),  # new
        ],
    )
    before = dump(str(db_url))
    check = invoke(cli_config, str(later), "--check", "--full", "--force")
    after = dump(str(db_url))
    assert after == before
    assert check.exit_code == 3
    out = check.stdout
    assert "offenders.csv <- offenders.csv (encoding utf-8)" in out
    assert "'risk_level'" in out and "-> risk_level" in out
    assert "line 2: ref=RSO-000001, risk_level=high" in out
    assert "would insert 1, update 1, leave unchanged 1, reject 1" in out
    assert "2 people not in this full extract, would be marked absent since" in out and "RSO-000004, RSO-000005" in out
    assert "check: the import would write 2 rows and reject 1 (exit 3); nothing was written" in out
    assert "rejected: offenders.csv:4: risk_level: expected one of" in check.stderr

    real = invoke(cli_config, str(later), "--full", "--force")
    assert real.exit_code == 3
    assert "offenders.csv  inserted 1, updated 1, unchanged 1, rejected 1" in real.stdout
    assert "2 people not in this full extract, marked absent since" in real.stdout


def test_check_of_an_extract_that_would_fail_records_nothing(db_url: str, cli_config: Path, tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(d, "offenders.csv", ["ref,risk_level", "RSO-1,high"])
    before = dump(str(db_url))
    result = invoke(cli_config, str(d), "--check")
    assert result.exit_code == 1
    assert "the import would fail (nothing was written: dry run): offenders.csv: missing required columns" in (
        result.stderr
    )
    assert dump(str(db_url)) == before  # not even a failed run in import_runs


def test_check_hides_personal_data_unless_names_are_allowed(db_url: str, cli_config: Path, tmp_path: Path) -> None:
    d = tmp_path / "x"
    write(d, "offenders.csv", [OFFENDERS_HEADER + ",surname", offender("RSO-1") + ",Tëstperson"])
    result = invoke(cli_config, str(d), "--check")
    assert "surname=(personal data)" in result.stdout and "Tëstperson" not in result.stdout
    assert "characters beyond ASCII: surname: ë" in result.stdout
    cli_config.write_text(cli_config.read_text() + "[policy]\ninclude_names = true\n")
    assert "surname=Tëstperson" in invoke(cli_config, str(d), "--check").stdout


def test_check_a_dry_run_in_process_equals_the_import(engine: Any, make_config: Any, tmp_path: Path) -> None:
    config = make_config(engine.url.render_as_string(hide_password=False))
    d = tmp_path / "x"
    generate(30, seed=4, as_of=__import__("datetime").date(2026, 3, 5), out_dir=d, messy=True)
    dry = import_directory(engine, config, d, check=True)
    real = import_directory(engine, config, d)
    assert (dry.counts, dry.rejects, dry.warnings) == (real.counts, real.rejects, real.warnings)
    again = import_directory(engine, config, d, check=True)
    assert all(c["inserted"] == c["updated"] == 0 for c in again.counts.values())


def test_suggest_mapping_drafts_what_the_example_says(tmp_path: Path) -> None:
    contract, records = tmp_path / "contract", tmp_path / "records"
    generate(60, seed=8, as_of=__import__("datetime").date(2026, 3, 5), out_dir=contract)
    add_accents(contract)
    to_records_csv(contract, records)
    result = CliRunner().invoke(cli, ["import", str(records), "--suggest-mapping"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    draft = result.stdout
    for line in (
        '# ? encoding = "cp1252"',
        '# ? date_formats = ["%d-%b-%Y"]',
        '# ? offenders = "NOMINALS_*.csv"',
        '# ? visits = "CONTACTS_*.csv"',
        '# ? ref = "NOMINAL_ID"',
        '# ? visit_date = "CONTACT_DATE"',
        '# ? COMP = "completed"',
    ):
        assert line in draft
    # Nothing is asserted silently: every line with a value is a guess marked "# ?".
    assert not [line for line in draft.splitlines() if "=" in line and not line.startswith("#")]
    # Taken as it stands (guesses with a value kept, empty ones left out), the draft is a
    # configuration the contract accepts.
    kept = [
        line.removeprefix("# ? ").split("  #")[0]
        for line in draft.splitlines()
        if line.startswith("[") or (line.startswith("# ? ") and '= ""' not in line)
    ]
    raw = tomllib.loads("\n".join(kept))
    config = config_module.load(overrides=raw)
    assert set(file_mappings(config)) == {"officers.csv", "offenders.csv", "visits.csv", "absences.csv"}
