"""New rows written through the driver (``register.bulk``): what the ORM would store, or nothing.

The importer sends new rows to the driver (COPY on PostgreSQL, executemany on SQLite)
instead of through the ORM, for speed. These tests hold the stored bytes against the
ORM's own INSERT of the same rows, and check that a database error in the middle of a
streamed COPY fails the import as one clear line and leaves the register as it was.
Every test runs on SQLite and PostgreSQL. All data is synthetic.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import new_database_url
from freezegun import freeze_time
from sqlalchemy import Engine, insert, text
from test_import import OFFENDERS_HEADER, OFFICERS_HEADER, VISITS_HEADER, offender, write

from monitor.core.config import Config
from monitor.register import bulk
from monitor.register.db import make_engine, reading, transaction
from monitor.register.importer import ImportFailure, import_directory

FULL_OFFENDERS = OFFENDERS_HEADER + ",risk_assessed_on,surname,date_of_birth"


def extract(directory: Path) -> Path:
    write(
        directory, "officers.csv", [OFFICERS_HEADER, "OM-0001,Testy Officer,om1@police.example,NORTH,offender_manager,"]
    )
    write(
        directory,
        "offenders.csv",
        [
            FULL_OFFENDERS,
            offender("RSO-000001", management="reactive") + ",2025-03-01,Fakename,02/01/1970",
            offender("RSO-000002", status_since="2025-06-01", no_fixed_abode="yes") + ",,,",
        ],
    )
    write(
        directory,
        "visits.csv",
        [
            VISITS_HEADER,
            *(f"V{n},RSO-00000{1 + n % 2},2026-0{1 + n % 9}-1{n % 10},completed,home,OM-0001" for n in range(20)),
            "V20,RSO-000001,2026-03-29T23:30:00Z,no_access,,",
            "V21,RSO-000002,29/03/2026 00:15,cancelled,other,OM-0001",
        ],
    )
    return directory


def stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Each register table as the database holds it (no ORM type conversion on the way out)."""
    out = {}
    with reading(engine) as s:
        for table, key in (("officers", "officer_id"), ("offenders", "ref"), ("visits", "visit_id")):
            out[table] = [tuple(r) for r in s.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))]
    return out


def test_the_driver_stores_what_the_orm_would(
    engine: Engine,
    db_url: str,
    make_config: Callable[..., Config],
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = extract(tmp_path / "extract")
    with freeze_time("2026-11-23 10:00:00"):
        import_directory(engine, make_config(db_url), source)
    through_driver = stored(engine)

    other_url = new_database_url(engine.url.get_backend_name(), tmp_path / "orm", request)
    other = make_engine(other_url)
    try:

        def orm_write(self: bulk.NewRows, rows: list[dict[str, Any]]) -> None:
            if rows:
                self.session.execute(insert(self.table), rows)

        monkeypatch.setattr(bulk.NewRows, "write", orm_write)
        with freeze_time("2026-11-23 10:00:00"):
            import_directory(other, make_config(other_url), source)
        through_orm = stored(other)
    finally:
        other.dispose()
    assert [len(v) for v in through_driver.values()] == [1, 2, 22]
    assert through_driver == through_orm


REFUSE_V13 = {
    "sqlite": [
        "CREATE TRIGGER refuse_v13 BEFORE INSERT ON visits WHEN NEW.visit_id = 'V13' "
        "BEGIN SELECT RAISE(ABORT, 'test trigger refuses this row'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_v13() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.visit_id = 'V13' THEN RAISE EXCEPTION 'test trigger refuses this row'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER refuse_v13 BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION refuse_v13()",
    ],
}


def test_a_database_error_mid_stream_changes_nothing(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    with transaction(engine) as s:
        for statement in REFUSE_V13[engine.dialect.name]:
            s.execute(text(statement))
    before = stored(engine)
    with pytest.raises(ImportFailure) as failure:
        import_directory(engine, make_config(db_url), extract(tmp_path / "extract"))
    message = str(failure.value)
    assert message.startswith("database error: ") and "test trigger refuses this row" in message
    assert "\n" not in message and "Fakename" not in message and "RSO-" not in message
    assert stored(engine) == before  # the offenders and officers written first are gone too
