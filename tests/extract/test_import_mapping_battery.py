"""Issue 21's battery: random mappings, codes, encodings and sheets; the import keeps every promise.

Hypothesis draws a force: a header of its own for every contract field (any printable text,
unique once normalised), codes of its own for every field with fixed values, an order of
columns, and a way of delivering the files (UTF-8 or cp1252 CSV, a workbook per file, or
one workbook with sheets of random names), and sometimes a code its mapping does not hold.
The same small register goes out in that shape and is imported with the mapping drawn,
into SQLite and PostgreSQL: the register stored must equal the contract CSV's (the row
with the unknown code rejected, naming its field, and nothing else), a second import must
change nothing, and the import never raises anything but its own one-line failures.
"""

from __future__ import annotations

import csv
import random
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from monitor.core.config import Config
from monitor.core.import_settings import code_key
from monitor.extract.mapping import normalise_token
from monitor.register import models
from monitor.register.db import reading, transaction
from monitor.register.importer import import_directory
from monitor.register.specs import CHOICES, FILE_ORDER, SPECS
from monitor.synthetic.generator import generate

# openpyxl's write-only writer (the test's, making workbooks) now and then finalises a sheet's
# generator after the file is saved and closed; the product reads, it never writes a workbook.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

AS_OF = date(2026, 3, 5)
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0xFF, blacklist_categories=("Cs", "Cc")), min_size=1
).filter(lambda t: 0 < len(normalise_token(t)) <= 40 and t.strip() == t and t.isprintable() and not t.startswith("="))
CODE_TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -/", min_size=1, max_size=8).filter(
    lambda t: t.strip() == t and t.strip()
)
SHAPES = ("utf-8", "cp1252", "xlsx per file", "one workbook")


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("battery") / "contract"
    generate(12, seed=11, as_of=AS_OF, out_dir=d)
    # The generator writes no absences (a force's own file): a few, so every file is mapped.
    officers = [row["officer_id"] for row in _rows(d / "officers.csv")][:3]
    with open(d / "absences.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["officer_id", "starts_on", "ends_on", "fraction"])
        writer.writerow([officers[0], "2026-03-09", "2026-03-13", ""])
        writer.writerow([officers[1], "05/03/2026", "2026-03-05", "0.5"])
        writer.writerow([officers[2], "2026-04-01", "2026-04-30", "50%"])
    return d


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@st.composite
def forces(draw: st.DrawFn) -> dict[str, Any]:
    headers: dict[str, dict[str, str]] = {}
    for name in FILE_ORDER:
        spec = SPECS[name]
        texts = draw(
            st.lists(HEADER_TEXT, min_size=len(spec.known), max_size=len(spec.known), unique_by=normalise_token)
        )
        headers[spec.role] = dict(zip(spec.known, texts, strict=True))
    codes: dict[str, dict[str, str]] = {}
    for field, values in CHOICES.items():
        drawn = draw(st.lists(CODE_TEXT, min_size=len(values), max_size=len(values), unique_by=code_key))
        codes[field] = dict(zip(values, drawn, strict=True))
    return {
        "headers": headers,
        "codes": codes,
        "shape": draw(st.sampled_from(SHAPES)),
        "order": draw(st.randoms(use_true_random=False)),
        "sheets": draw(
            st.lists(
                HEADER_TEXT.filter(lambda t: len(t) <= 31 and not set(t) & set("[]:*?/\\'")),
                min_size=len(FILE_ORDER),
                max_size=len(FILE_ORDER),
                unique_by=str.casefold,
            )
        ),
        "unknown_code": draw(st.booleans()),
    }


def _deliver(contract: Path, out: Path, force: dict[str, Any]) -> dict[str, Any]:
    """Write the contract register in the force's shape; return its [import] settings."""
    rng: random.Random = force["order"]
    shape = force["shape"]
    out.mkdir(parents=True)
    book: Any = None
    if shape == "one workbook":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
    sheets = dict(zip((SPECS[name].role for name in FILE_ORDER), force["sheets"], strict=True))
    for name in FILE_ORDER:
        spec = SPECS[name]
        role = spec.role
        rows = _rows(contract / name)
        columns = list(rows[0])
        rng.shuffle(columns)
        header = [force["headers"][role][c] for c in columns]
        body = [[force["codes"].get(c, {}).get(r[c], r[c]) if r[c] else "" for c in columns] for r in rows]
        if force["unknown_code"] and name == "visits.csv":
            body[3][columns.index("outcome")] = "NOT-A-CODE"
        if shape in ("utf-8", "cp1252"):
            with open(out / name, "w", encoding=shape, newline="") as fh:
                csv.writer(fh).writerows([header, *body])
        else:
            from openpyxl import Workbook

            target = book or Workbook(write_only=True)
            sheet = target.create_sheet(sheets[role] if book is not None else role)
            for row in [header, *body]:
                sheet.append([cell or None for cell in row])
            if book is None:
                target.save(out / f"{role}.xlsx")
    if book is not None:
        book.save(out / "Register.xlsx")
    codes = {f: {code: value for value, code in m.items()} for f, m in force["codes"].items()}
    settings: dict[str, Any] = {
        "columns": {role: {f: [h] for f, h in hs.items()} for role, hs in force["headers"].items()},
        "values": codes,
        "encoding": "cp1252" if shape == "cp1252" else "utf-8",
    }
    if shape == "one workbook":
        settings |= {"workbook": "Register.xlsx", "sheets": sheets}
    return settings


REGISTER = (models.Officer, models.Offender, models.Visit)


def _stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with reading(engine) as s:
        for model in REGISTER:
            table = model.__table__
            cols = [c for c in table.columns if c.name not in ("import_id", "updated_at")]
            out[table.name] = [tuple(r) for r in s.execute(select(*cols).order_by(*table.primary_key))]
    return out


def _empty(engine: Engine) -> None:
    with transaction(engine) as s:
        for table in reversed(models.Base.metadata.sorted_tables):
            s.execute(delete(table))


HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much]


@settings(max_examples=4, deadline=None, suppress_health_check=HEALTH)
@given(force=forces())
def test_random_mappings_store_what_the_contract_stores(
    engine: Engine, make_config: Callable[..., Config], contract: Path, force: dict[str, Any]
) -> None:
    check_force(engine, make_config, contract, force)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=HEALTH)
@given(force=forces())
def test_random_mappings_many(
    engine: Engine, make_config: Callable[..., Config], contract: Path, force: dict[str, Any]
) -> None:
    check_force(engine, make_config, contract, force)


def check_force(engine: Engine, make_config: Callable[..., Config], contract: Path, force: dict[str, Any]) -> None:
    url = engine.url.render_as_string(hide_password=False)
    _empty(engine)
    import_directory(engine, make_config(url), contract)
    want = _stored(engine)
    _empty(engine)
    root = Path(tempfile.mkdtemp(prefix="vm-battery-"))
    try:
        settings_ = _deliver(contract, root / "x", force)
        config = make_config(url, **{"import": settings_})
        result = import_directory(engine, config, root / "x")
        if force["unknown_code"]:
            [reject] = result.rejects
            assert (reject.line, reject.field) == (5, "outcome")
            assert "[import.values.outcome] maps" in reject.reason
            lost = _rows(contract / "visits.csv")[3]["visit_id"]
            want["visits"] = [v for v in want["visits"] if v[0] != lost]
        else:
            assert result.rejects == []
        assert _stored(engine) == want
        again = import_directory(engine, config, root / "x")
        assert all(c["inserted"] == c["updated"] == 0 for c in again.counts.values())
    finally:
        shutil.rmtree(root, ignore_errors=True)
