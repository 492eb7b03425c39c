"""Visit facts kept by the import (monitor.register.derived): when the scan trusts them, and
that every way they can be out of date falls back to computing from the visits.

Why: the scan reads stored facts instead of the visit history, so a stale fact would be a
wrong due date. These tests change the register in each way an import can (new visits,
a person's status, a visit moved to another person, officers only, an import by a version
that did not refresh) and check the scan against the independent oracle and against its
own live path, counting the statements it issues. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from oracle import differences, oracle
from sqlalchemy import Engine, event, func, select

from monitor.core.config import Config
from monitor.register import derived
from monitor.register.db import reading, transaction
from monitor.register.importer import import_directory
from monitor.register.models import ImportRun, VisitFacts, VisitFactsState
from monitor.rules import rows as scan_rows_module
from monitor.rules.scan import scan
from monitor.synthetic.generator import generate

AS_OF = date(2026, 11, 23)


def _scan(engine: Engine, config: Config, as_of: date) -> tuple[dict[str, Any], int]:
    """The JSON report and how many SELECT statements the scan issued (besides its read of
    the register's one-row state, which says whether the practice measures are on)."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "practice_columns" not in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with reading(engine) as session:
            report = scan(session, config.policy, as_of).to_json()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return report, len(statements)


def _agrees(engine: Engine, config: Config, src: Path, as_of: date) -> int:
    actual, statements = _scan(engine, config, as_of)
    expected = oracle(src, as_of)
    assert not differences(actual, expected), differences(actual, expected)
    assert actual == expected
    return statements


def _import(engine: Engine, config: Config, src: Path) -> int:
    result = import_directory(engine, config, src)
    assert result.exit_code == 0, [str(r) for r in result.rejects[:5]]
    return result.import_id


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ("offenders.csv", "visits.csv", "officers.csv"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def _state(engine: Engine) -> int | None:
    with reading(engine) as s:
        return s.scalar(select(VisitFactsState.import_id))


@pytest.fixture
def refreshes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What each import's facts refresh did ("all", "touched" or "none"), in order."""
    done: list[str] = []
    original = derived.refresh

    def spy(*args: Any, **kwargs: Any) -> str:
        done.append(original(*args, **kwargs))
        return done[-1]

    monkeypatch.setattr(derived, "refresh", spy)
    return done


@pytest.fixture
def register(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path, refreshes: list[str]
) -> tuple[Config, Path]:
    src = tmp_path / "v1"
    generate(400, seed=51, as_of=AS_OF, out_dir=src)
    config = make_config(db_url)
    import_id = _import(engine, config, src)
    assert _state(engine) == import_id and refreshes == ["all"]
    refreshes.clear()
    return config, src


def test_after_an_import_the_scan_is_one_statement_and_agrees(engine: Engine, register: tuple[Config, Path]) -> None:
    config, src = register
    assert _agrees(engine, config, src, AS_OF) == 1
    assert _agrees(engine, config, src, AS_OF + timedelta(days=40)) == 1
    # Before the latest visits: the people visited since are computed live, in one more statement.
    assert _agrees(engine, config, src, AS_OF - timedelta(days=3)) == 2
    assert _agrees(engine, config, src, AS_OF - timedelta(days=200)) == 2


def test_a_few_people_with_later_visits_are_computed_by_reference_in_chunks(
    engine: Engine, register: tuple[Config, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A minority with visits after the as-of date costs statements for them, not the register."""
    config, src = register
    with reading(engine) as s:
        later = s.scalar(
            select(func.count()).select_from(VisitFacts).where(VisitFacts.horizon > AS_OF - timedelta(days=3))
        )
    assert later is not None and 3 <= later <= 100  # a minority of the 400
    monkeypatch.setattr(scan_rows_module, "LIVE_BY_REF", 2)
    assert _agrees(engine, config, src, AS_OF - timedelta(days=3)) == 1 + -(-later // 2)
    # Nearly everyone (long before the latest visits): one statement for the whole scope.
    assert _agrees(engine, config, src, AS_OF - timedelta(days=2000)) == 2


def test_new_visits_and_a_changed_status_refresh_only_those_people(
    engine: Engine, register: tuple[Config, Path], tmp_path: Path, refreshes: list[str]
) -> None:
    config, src = register
    v2 = _copy(src, tmp_path / "v2")
    fields, visits = _rows(v2 / "visits.csv")
    refs = sorted({v["ref"] for v in visits})[:12]
    for n, ref in enumerate(refs):  # a completed visit for some, a failed attempt for others
        outcome = "completed" if n % 2 else "no_access"
        visits.append(
            {**dict.fromkeys(fields, ""), "visit_id": f"VIS-NEW-{n:03d}", "ref": ref, "visit_date": "2026-11-20"}
            | {"outcome": outcome, "visit_type": "home"}
        )
    _write(v2 / "visits.csv", fields, visits)
    ofields, offenders = _rows(v2 / "offenders.csv")
    for o in offenders[20:25]:  # returned from custody last week: S moves, earlier visits stop counting
        o.update(status="community", status_since="2026-11-16")
    _write(v2 / "offenders.csv", ofields, offenders)

    with transaction(engine) as s:
        before = {f.ref: (f.last_visit, f.failed_attempts) for f in s.scalars(select(VisitFacts))}
    import_id = _import(engine, config, v2)
    assert refreshes == ["touched"] and _state(engine) == import_id
    assert _agrees(engine, config, v2, AS_OF) == 1
    with transaction(engine) as s:
        after = {f.ref: (f.last_visit, f.failed_attempts) for f in s.scalars(select(VisitFacts))}
    untouched = set(before) - set(refs) - {o["ref"] for o in offenders[20:25]}
    assert all(before[r] == after[r] for r in untouched)


def test_a_visit_moved_to_another_person_recomputes_everyone(
    engine: Engine, register: tuple[Config, Path], tmp_path: Path, refreshes: list[str]
) -> None:
    config, src = register
    v2 = _copy(src, tmp_path / "v2")
    fields, visits = _rows(v2 / "visits.csv")
    latest = max(
        (v for v in visits if v["outcome"] == "completed" and v["visit_type"] == "home"), key=lambda v: v["visit_date"]
    )
    other = next(v["ref"] for v in visits if v["ref"] != latest["ref"])
    latest["ref"] = other  # a correction: the visit was to someone else
    _write(v2 / "visits.csv", fields, visits)
    _import(engine, config, v2)
    assert refreshes == ["all"]
    assert _agrees(engine, config, v2, AS_OF) == 1


def test_an_officers_only_import_keeps_the_facts(
    engine: Engine, register: tuple[Config, Path], tmp_path: Path, refreshes: list[str]
) -> None:
    config, src = register
    only = tmp_path / "officers"
    only.mkdir()
    (only / "officers.csv").write_bytes((src / "officers.csv").read_bytes())
    import_id = _import(engine, config, only)
    assert refreshes == ["none"] and _state(engine) == import_id
    assert _agrees(engine, config, src, AS_OF) == 1


def test_an_import_that_did_not_refresh_makes_the_scan_compute_live(
    engine: Engine, register: tuple[Config, Path]
) -> None:
    """An older version imports without refreshing: the facts are not trusted."""
    config, src = register
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    with transaction(engine) as s:
        s.add(ImportRun(source="older version", started_at=now, finished_at=now, outcome="ok", counts={}))
        s.execute(VisitFacts.__table__.update().values(failed_attempts=99))  # would show if trusted
    assert _agrees(engine, config, src, AS_OF) == 2
    # A failed import changed nothing, so it does not make the facts stale.
    with transaction(engine) as s:
        s.add(ImportRun(source="failed", started_at=now, finished_at=now, outcome="failed", counts={}))
    assert _agrees(engine, config, src, AS_OF) == 2  # still stale from the one above
