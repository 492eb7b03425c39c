"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

Tests that take ``engine`` run once per backend. PostgreSQL is not optional: if it is not
reachable the tests fail (CI starts it; see .ci/run). Each PostgreSQL test gets its own
database cloned from a migrated template, so tests are isolated and xdist-safe.

The tests sit in folders that mirror monitor's packages (tests/web/ for monitor/web, ...);
the shared helpers (oracle.py, builders.py, the stand-in servers) stay here at the top. Some
test modules import another's helpers by module name (test_import's row builders,
test_delivery's relay fixtures), so every test folder is put on the import path here, before
any test module is collected: a test then runs alone (`pytest tests/extract/...`) as well as
in the whole suite. Test file names stay unique across folders for the same reason.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import battery
import psycopg
import pytest
from sqlalchemy import Engine

from monitor.core import config as config_module
from monitor.register.db import make_engine, upgrade

for _folder in sorted(Path(__file__).resolve().parent.iterdir()):
    if _folder.is_dir() and any(_folder.glob("test_*.py")) and str(_folder) not in sys.path:
        sys.path.append(str(_folder))

PG_ADMIN_URL = os.environ.get("MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{dbname}"


#: How long one admin statement (CREATE/DROP DATABASE) may wait, in seconds.
PG_ADMIN_TIMEOUT = float(os.environ.get("MONITOR_TEST_PG_TIMEOUT", "60"))


def _pg_admin(sql: str, *, timeout: float = PG_ADMIN_TIMEOUT) -> None:
    """Run one admin statement with a bounded wait.

    ``DROP DATABASE ... WITH (FORCE)`` ends the sessions connected to the database, but
    waits without limit for a lock held from elsewhere (a session on another database in
    the middle of ``ALTER DATABASE``, a stuck ``CREATE DATABASE ... TEMPLATE``). With no
    bound a CI run would hang until its job timeout with nothing to say why, so connecting,
    the lock wait and the statement are each limited, and running out fails the
    set-up or teardown with one line naming the statement.
    """
    ms = max(int(timeout * 1000), 1)
    try:
        with psycopg.connect(
            PG_ADMIN_URL,
            autocommit=True,
            connect_timeout=max(int(timeout), 1),
            options=f"-c lock_timeout={ms} -c statement_timeout={ms}",
        ) as conn:
            conn.execute(sql)
    except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as exc:
        why = exc.diag.message_primary or type(exc).__name__
        pytest.fail(
            f"PostgreSQL gave up after {timeout:g} s on {sql!r}: {why} (another session still holds the database)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def pg_template(worker_id: str) -> Iterator[str]:
    """A migrated PostgreSQL database to clone per test (one per xdist worker)."""
    name = f"vm_tpl_{worker_id}_{uuid.uuid4().hex[:6]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    eng = make_engine(_pg_url(name))
    upgrade(eng)
    eng.dispose()
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """xdist's worker id, or "main" without xdist."""
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


def new_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database of ``backend``; dropped at teardown."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'monitor.db'}"
        eng = make_engine(url)
        upgrade(eng)
        eng.dispose()
        return url
    template = request.getfixturevalue("pg_template")
    name = f"vm_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    request.addfinalizer(lambda: _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return _pg_url(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """URL of a fresh migrated database; tests using it run on SQLite and PostgreSQL."""
    return new_database_url(backend, tmp_path, request)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh migrated SQLite database, for tests whose subject is not the backend."""
    return new_database_url("sqlite", tmp_path, request)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., config_module.Config]:
    """Build a Config from defaults plus nested overrides, with var/ paths under tmp_path.

    Example: ``make_config(db_url, policy={"include_names": True})``.
    """

    def _make(database_url: str | None = None, **overrides: Any) -> config_module.Config:
        merged: dict[str, Any] = {
            "database": {"url": database_url or f"sqlite:///{tmp_path / 'monitor.db'}"},
            "mail": {"maildir": str(tmp_path / "outbox")},
        }
        for section, values in overrides.items():
            if isinstance(values, dict) and isinstance(merged.get(section), dict):
                merged[section] = {**merged[section], **values}
            else:
                merged[section] = values
        old = os.environ.pop("MONITOR_DATABASE_URL", None)
        try:
            return config_module.load(path=None, overrides=merged)
        finally:
            if old is not None:
                os.environ["MONITOR_DATABASE_URL"] = old

    return _make


@pytest.fixture(autouse=True)
def _isolate_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's config or database by accident."""
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("MONITOR_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("MONITOR_SMTP_CLIENT_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _no_oidc_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_OIDC_CLIENT_SECRET", raising=False)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[str]:
    """A real OpenID Connect provider (oidc-provider-mock) on a loopback port, for the web tests."""
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


_BATTERY_LOG = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """The battery log (tests/battery.py): one per run, shared with the xdist workers."""
    if hasattr(config, "workerinput") or os.environ.get(battery.ENV):
        return
    path = Path(tempfile.gettempdir()) / f"visit-monitor-battery-{os.getpid()}.jsonl"
    path.unlink(missing_ok=True)
    os.environ[battery.ENV] = str(path)
    config.stash[_BATTERY_LOG] = path


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the battery table when this run tried any fault (see tests/battery.py)."""
    path = config.stash.get(_BATTERY_LOG, None)
    if path is None:
        return
    text = battery.table(battery.load(path))
    path.unlink(missing_ok=True)
    if text:
        terminalreporter.write_sep("=", "battery")
        terminalreporter.write_line(text)
