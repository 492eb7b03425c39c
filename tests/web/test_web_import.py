"""Pages during an import: twenty signed-in browsers keep being served while an import holds its transaction.

Every page writes its access-log row before it is shown and a session's last-seen time now
and then. On SQLite both used to wait for the import's write lock, for as long as the
import ran (25-28 s p95 at national size) and past the 30 s busy timeout a page would
have failed; this test holds an import open inside its transaction, after it has written
rows, and browses meanwhile (every request rewriting its session row, two more browsers
signing in): every page must answer 200 within seconds, be logged, and show the register
as it was before the import, and once the import commits, as it is after. On PostgreSQL
the same test shows that the import takes no lock the web app's writes wait for.

The import is held by wrapping the last step of its transaction (``refresh_after_import``)
so the test does not depend on the machine's speed; ``benchmarks/web_during_import.py``
measures the real thing at national size.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from web_support import (
    LEAD,
    OM_A1,
    OM_A2,
    OM_B1,
    SUP_A,
    SUP_B,
    TEAM_A,
    TEAM_B,
    build_register,
    demo_sign_in,
    email,
    make_app,
    store,
    web_config,
)

import monitor.register.loading as loading_module
import monitor.web.sessions as sessions_module
from monitor.core.config import Config
from monitor.register.db import reading
from monitor.register.importer import import_directory
from monitor.register.models import AccessLogEntry

CLIENTS = 20
NEW_CASE = "RSO-A-NEW-001"
#: Each browser's pages: its home, a filtered view, an export.
HOMES = {
    LEAD: ["/force", f"/teams/{TEAM_A}", f"/teams/{TEAM_A}/export.csv"],
    SUP_A: [f"/teams/{TEAM_A}", f"/teams/{TEAM_A}?risk=very_high", f"/teams/{TEAM_A}/export.csv"],
    SUP_B: [f"/teams/{TEAM_B}", f"/teams/{TEAM_B}?status=unknown", f"/teams/{TEAM_B}/export.csv"],
    OM_A1: [f"/officers/{OM_A1}", f"/officers/{OM_A1}/export.csv", f"/officers/{OM_A1}"],
    OM_A2: [f"/officers/{OM_A2}", f"/officers/{OM_A2}/export.html", f"/officers/{OM_A2}"],
    OM_B1: [f"/officers/{OM_B1}", f"/officers/{OM_B1}/export.csv", f"/officers/{OM_B1}"],
}
#: Pages that show the new case once the import has committed.
SHOWS_NEW = {
    f"/teams/{TEAM_A}",
    f"/teams/{TEAM_A}?risk=very_high",
    f"/teams/{TEAM_A}/export.csv",
    f"/officers/{OM_A1}",
    f"/officers/{OM_A1}/export.csv",
}
#: The longest any page may take while the import is held (it answers in milliseconds).
PATIENCE_SECONDS = 5.0


def extract(folder: Path) -> Path:
    """A new very high risk case in team A, never visited since registration: overdue; and a
    renamed officer (on PostgreSQL, a row lock on the officers table every page reads)."""
    folder.mkdir()
    (folder / "officers.csv").write_text(
        f"officer_id,name,email,team,role\n{OM_A2},Officer Renamed,{email(OM_A2)},{TEAM_A},offender_manager\n"
    )
    (folder / "offenders.csv").write_text(
        "ref,risk_level,status,team,offender_manager,registered_on\n"
        f"{NEW_CASE},very_high,community,{TEAM_A},{OM_A1},2025-01-06\n"
    )
    return folder


@pytest.fixture
def held_import(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, threading.Event]]:
    """(entered, release): the import stops inside its transaction, rows written, until released."""
    entered, release = threading.Event(), threading.Event()
    original = loading_module.refresh_after_import

    def hold(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        entered.set()
        release.wait(60)
        return result

    monkeypatch.setattr(loading_module, "refresh_after_import", hold)
    yield entered, release
    release.set()


def browse(client: FlaskClient, pages: list[str], out: list[tuple[str, int, float, bool]]) -> None:
    for page in pages:
        started = time.perf_counter()
        response = client.get(page)
        elapsed = time.perf_counter() - started
        out.append((page, response.status_code, elapsed, NEW_CASE in response.get_data(as_text=True)))


def browse_all(clients: list[tuple[str, FlaskClient]]) -> tuple[list[tuple[str, int, float, bool]], bool]:
    """Every client browses its pages at once; returns what each page did and whether all finished in time."""
    results: list[tuple[str, int, float, bool]] = []
    threads = [threading.Thread(target=browse, args=(c, HOMES[who], results), daemon=True) for who, c in clients]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + PATIENCE_SECONDS * 3
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.01))
    return results, not any(t.is_alive() for t in threads)


def log_rows(app: Flask) -> int:
    with reading(store(app)) as db:
        return int(db.scalar(select(func.count()).select_from(AccessLogEntry)) or 0)


def test_pages_answer_while_an_import_holds_its_transaction(
    engine: Engine,
    make_config: Callable[..., Config],
    db_url: str,
    tmp_path: Path,
    held_import: tuple[threading.Event, threading.Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entered, release = held_import
    build_register(engine)
    config = web_config(make_config, db_url)
    app = make_app(config, engine, demo=True, cache_seconds=3600)
    officers = list(HOMES)
    clients = []
    for n in range(CLIENTS):
        who = officers[n % len(officers)]
        client = app.test_client()
        assert demo_sign_in(client, email(who)).status_code == 303
        clients.append((who, client))
    before, finished = browse_all(clients)
    assert finished and {status for _p, status, _t, _n in before} == {200}
    failure: list[BaseException] = []

    def run_import() -> None:
        try:
            import_directory(engine, config, extract(tmp_path / "extract"))
        except BaseException as exc:  # reported by the test below
            failure.append(exc)

    importing = threading.Thread(target=run_import, daemon=True)
    importing.start()
    try:
        assert entered.wait(30), failure
        rows_before = log_rows(app)
        # Every request now rewrites its session's last-seen time, and two more browsers sign in.
        monkeypatch.setattr(sessions_module, "TOUCH_EVERY", timedelta(0))
        newcomers = [app.test_client() for _ in range(2)]
        started = time.perf_counter()
        assert all(demo_sign_in(c, email(SUP_A)).status_code == 303 for c in newcomers)
        assert time.perf_counter() - started < PATIENCE_SECONDS
        during, finished = browse_all(clients + [(SUP_A, c) for c in newcomers])
        assert finished, "pages waited for the import"
    finally:
        release.set()
        importing.join(60)
    assert not failure and not importing.is_alive()
    assert [(p, s) for p, s, _t, _n in during if s != 200] == []
    assert max(t for _p, _s, t, _n in during) < PATIENCE_SECONDS
    assert not any(new for _p, _s, _t, new in during)  # the register as it was: the import had not committed
    assert log_rows(app) == rows_before + 2 + len(during)  # every sign-in and page served was logged
    after, finished = browse_all(clients)
    assert finished and {status for _p, status, _t, _n in after} == {200}
    assert {p for p, _s, _t, new in after if new} == SHOWS_NEW  # and as it is once it has
