"""Issue 21's test of done: a register delivered as forces deliver it imports with only the example mapping.

The same synthetic register (``visit-monitor seed``'s generator, with accented names added)
is delivered three ways: the contract's CSV, a spreadsheet-style workbook (as .xlsx, and
saved again as .xls and .ods by ``tests/sheet_writers.py``) and a records-system-style
cp1252 CSV (converted by ``tests/force_shapes.py``, which shares no code with the
product's mapping). Imported with nothing but the shipped example
configuration (config/examples/), each must store exactly the contract import's register
and give a JSON report equal byte for byte, on SQLite and on PostgreSQL; ``--check`` first
must write nothing at all; a second import of the same delivery must change nothing.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import new_database_url
from force_shapes import add_accents, to_records_csv, to_workbook
from sheet_writers import convert
from sqlalchemy import select, text

from monitor.cli.app import cli
from monitor.register import models
from monitor.register.db import make_engine, reading
from monitor.synthetic.generator import generate

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"
AS_OF = date(2026, 3, 5)
#: Columns that differ between two imports of the same register by design.
STAMPS = {"import_id", "updated_at"}


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("shapes")
    contract = root / "contract"
    generate(150, seed=21, as_of=AS_OF, out_dir=contract)
    add_accents(contract)
    to_workbook(contract, root / "workbook")
    to_records_csv(contract, root / "records")
    for suffix in (".xls", ".ods"):  # the same workbook saved by older Excel, and by LibreOffice
        convert(to_workbook(contract, root / f"workbook{suffix}"), suffix)
    shapes = {"contract": contract, "workbook": root / "workbook", "records": root / "records"}
    return shapes | {f"workbook{s}": root / f"workbook{s}" for s in (".xls", ".ods")}


def _config(tmp: Path, url: str, example: str | None, suffix: str = "") -> Path:
    text = (EXAMPLES / example).read_text(encoding="utf-8") if example else ""
    if suffix:
        text = text.replace('workbook = "RSO Register*.xlsx"', f'workbook = "RSO Register*{suffix}"')
    path = tmp / "monitor.toml"
    path.write_text(f'[database]\nurl = "{url}"\n[mail]\nmaildir = "{tmp / "outbox"}"\n\n{text}', encoding="utf-8")
    return path


def _cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def _stored(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with reading(engine) as session:
            for model in (models.Officer, models.Offender, models.Visit):
                table = model.__table__
                columns = [c for c in table.columns if c.name not in STAMPS]
                rows = session.execute(select(*columns).order_by(*table.primary_key.columns)).all()
                out[table.name] = [tuple(r) for r in rows]
    finally:
        engine.dispose()
    return out


def _dump(url: str) -> dict[str, Any]:
    """Every table and column, PostgreSQL's sequences, SQLite's file bytes: what a dry run must leave alone."""
    engine = make_engine(url)
    out: dict[str, Any] = {}
    try:
        with reading(engine) as session:
            for table in models.Base.metadata.sorted_tables:
                out[table.name] = [tuple(r) for r in session.execute(select(table)).all()]
            if engine.dialect.name == "postgresql":
                seqs = session.execute(text("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1"))
                out["sequences"] = [tuple(r) for r in seqs]
    finally:
        engine.dispose()
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal"):
            f = path.with_name(path.name + suffix)
            out[f"file{suffix}"] = hashlib.sha256(f.read_bytes()).hexdigest() if f.exists() else None
    return out


def _report(config: Path, out: Path) -> bytes:
    result = _cli(config, "report", "--as-of", AS_OF.isoformat(), "--format", "json", "--output", str(out))
    assert result.exit_code == 0, result.output
    return out.read_bytes()


@pytest.mark.parametrize(
    ("shape", "example"),
    [
        ("workbook", "spreadsheet-workbook.toml"),
        ("workbook.xls", "spreadsheet-workbook.toml"),
        ("workbook.ods", "spreadsheet-workbook.toml"),
        ("records", "records-system-csv.toml"),
    ],
)
def test_a_force_shaped_register_imports_as_the_contract_one(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, register: dict[str, Path], shape: str, example: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    contract_url = new_database_url(backend, tmp_path / "a", request)
    shaped_url = new_database_url(backend, tmp_path / "b", request)
    contract_cfg = _config(tmp_path / "a", contract_url, None)
    shaped_cfg = _config(tmp_path / "b", shaped_url, example, shape.removeprefix("workbook"))

    done = _cli(contract_cfg, "import", str(register["contract"]))
    assert done.exit_code == 0, done.output

    before = _dump(shaped_url)
    check = _cli(shaped_cfg, "import", str(register[shape]), "--check")
    assert check.exit_code == 0, check.output
    assert "nothing was written" in check.stdout
    assert "would insert 150, update 0" in check.stdout
    assert _dump(shaped_url) == before, "--check wrote to the database"

    first = _cli(shaped_cfg, "import", str(register[shape]))
    assert first.exit_code == 0, first.output
    assert first.stderr.count("warning") == (1 if shape.startswith("workbook") else 0), first.stderr  # Days Registered
    again = _cli(shaped_cfg, "import", str(register[shape]))
    assert again.exit_code == 0 and "inserted 0, updated 0" in again.stdout, again.output

    assert _stored(shaped_url) == _stored(contract_url)
    with reading(make_engine(shaped_url)) as session:
        names = set(session.scalars(select(models.Offender.forenames)))
    assert {"Siân", "Zoë", "Renée"} <= names
    assert _report(shaped_cfg, tmp_path / "b" / "report.json") == _report(contract_cfg, tmp_path / "a" / "report.json")


DOCS = Path(__file__).resolve().parents[2] / "docs" / "operate" / "import.md"


@pytest.mark.parametrize(
    ("heading", "example"),
    [("Worked example 1", "spreadsheet-workbook.toml"), ("Worked example 2", "records-system-csv.toml")],
)
def test_the_docs_show_the_shipped_examples(heading: str, example: str) -> None:
    """The operator copies from the docs: what they show is what ships (and what is tested above)."""
    import tomllib

    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index(f"## {heading}") :]
    block = section[section.index("```toml") + len("```toml") : section.index("```", section.index("```toml") + 7)]
    assert tomllib.loads(block) == tomllib.loads((EXAMPLES / example).read_text(encoding="utf-8"))
