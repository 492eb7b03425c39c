"""The web store: sessions and the access log in a file of their own beside a SQLite register.

It is created private (0600, like the register), with its own schema version; the first
time, it takes over the access-log rows an earlier release wrote into the register (the
s.62 log stays whole, and is never copied twice); a store written by a newer release is
refused with one line rather than guessed at; two servers starting at once create it
once. On PostgreSQL the register's own database is the store.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from monitor.core.config import Config
from monitor.register.db import make_engine, reading
from monitor.register.models import AccessLogEntry
from monitor.web.audit import Audit, record
from monitor.web.store import STORE_VERSION, StoreError, open_store, store_path


def _count(engine: Engine) -> int:
    with reading(engine) as db:
        return int(db.scalar(select(func.count()).select_from(AccessLogEntry)) or 0)


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)


def test_the_store_sits_beside_the_register_private_and_versioned(sqlite_engine: Engine, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = open_store(sqlite_engine)
        record(store, Audit(officer_id="OM-1", action="view"), page="/officers/OM-1", status=200)
    finally:
        os.umask(old)
    path = tmp_path / "monitor-web.db"
    assert store_path(sqlite_engine) == path and Path(str(store.url.database)) == path
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        assert file.exists() and stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert _version(store) == STORE_VERSION and _count(store) == 1
    assert _count(sqlite_engine) == 0  # nothing of the web app's is written to the register any more
    store.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_keeps_them_in_the_register(engine: Engine) -> None:
    assert store_path(engine) is None and open_store(engine) is engine


def test_the_access_log_of_an_earlier_release_is_taken_over_once(sqlite_engine: Engine) -> None:
    at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    for n in range(3):  # as an earlier release wrote them: into the register
        record(sqlite_engine, Audit(officer_id=f"OM-{n}", action="view"), page=f"/officers/OM-{n}", status=200, at=at)
    store = open_store(sqlite_engine)
    again = open_store(sqlite_engine)
    with reading(again) as db:
        copied = [(r.officer_id, r.page, r.at) for r in db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id))]
    assert copied == [(f"OM-{n}", f"/officers/OM-{n}", at) for n in range(3)]
    with store.begin() as conn:  # a store that lost its version is not filled twice either
        conn.exec_driver_sql("PRAGMA user_version = 0")
    assert _count(open_store(sqlite_engine)) == 3
    store.dispose()
    again.dispose()


def test_a_store_from_a_newer_release_is_refused(sqlite_engine: Engine, tmp_path: Path) -> None:
    store = open_store(sqlite_engine)
    with store.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA user_version = {STORE_VERSION + 1}")
    store.dispose()
    with pytest.raises(StoreError) as info:
        open_store(sqlite_engine)
    assert str(tmp_path / "monitor-web.db") in str(info.value) and "newer" in str(info.value)


def test_two_servers_starting_at_once_create_it_once(sqlite_url: str) -> None:
    register = make_engine(sqlite_url)
    record(register, Audit(action="view"), page="/force", status=200)
    engines = [make_engine(sqlite_url) for _ in range(4)]
    opened: list[Engine] = []
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            opened.append(open_store(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(opened) == 4
    assert _count(opened[0]) == 1
    for engine in (*opened, *engines, register):
        engine.dispose()


def test_the_cli_says_which_file_when_the_store_is_refused(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from monitor.cli.app import cli

    store = open_store(sqlite_engine)
    with store.begin() as conn:
        conn.execute(text(f"PRAGMA user_version = {STORE_VERSION + 5}"))
    store.dispose()
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[database]\nurl = "{sqlite_url}"\n[web]\nissuer = "http://127.0.0.1:9"\nclient_id = "visit-monitor-test"\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "web", "--port", "1"])
    assert result.exit_code == 1 and "monitor-web.db" in result.output and "newer" in result.output
