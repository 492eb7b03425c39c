"""A plan read with ``due_by`` (only the cases a plan needs) is the plan read without it.

Why: ``visit-monitor plan`` reads its facts with ``due_by`` (the week's Sunday), leaving out
the cases of everyone not due by then (building them was a tenth of a national plan); the
officers, their teams and their pace must still count everyone in scope, so the plan is the
same. Checked on the synthetic register and the hostile ones, for the force, a team and an
officer, on both databases, and on SQLite through the sqlite3 source too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from test_planning_history import AS_OF, _hostile, _synthetic

from monitor.core.config import Config
from monitor.planning.inputs import read_facts
from monitor.planning.plan import make_plan
from monitor.planning.source_engine import EngineSource
from monitor.planning.weeks import week_end
from monitor.register.db import reading


@pytest.fixture
def config(engine: Engine, make_config: Callable[..., Config]) -> Config:
    return make_config(engine.url.render_as_string(hide_password=False))


@pytest.mark.parametrize("register", ["synthetic", "hostile-1"])
def test_a_plan_read_with_due_by_is_the_same_plan(
    engine: Engine, config: Config, tmp_path: Path, register: str
) -> None:
    if register == "synthetic":
        _synthetic(engine, config, tmp_path)
    else:
        _hostile(engine, int(register[-1]))
    with reading(engine) as s:
        source = EngineSource(s)
        for as_of in (AS_OF, AS_OF + timedelta(days=3)):
            scopes: list[dict[str, str | None]] = [{}]
            everyone = read_facts(source, config.policy, as_of, for_forecast=False)
            scopes.append({"team": everyone.cases[0].team})
            scopes.append({"officer": everyone.cases[0].officer})
            for scope in scopes:
                full = read_facts(source, config.policy, as_of, for_forecast=False, **scope)  # type: ignore[arg-type]
                due = read_facts(
                    source,
                    config.policy,
                    as_of,
                    for_forecast=False,
                    due_by=week_end(as_of),
                    **scope,  # type: ignore[arg-type]
                )
                assert len(due.cases) < len(full.cases)
                assert due.homes == full.homes and due.officers == full.officers
                assert make_plan(due, 3).to_json() == make_plan(full, 3).to_json()
    with pytest.raises(ValueError, match="due_by"):
        read_facts(EngineSource(s), config.policy, AS_OF, due_by=AS_OF)


def test_the_sqlite_source_reads_the_same_plan(
    sqlite_engine: Engine, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    import sqlite3

    from monitor.planning.source_sqlite import SqliteSource
    from monitor.register.sqlite_file import open_current

    config = make_config(sqlite_engine.url.render_as_string(hide_password=False))
    _synthetic(sqlite_engine, config, tmp_path)
    conn = open_current(config.database_url)
    assert isinstance(conn, sqlite3.Connection)
    try:
        fast = SqliteSource(conn)
        due = read_facts(fast, config.policy, AS_OF, for_forecast=False, due_by=week_end(AS_OF))
        with reading(sqlite_engine) as s:
            full = read_facts(EngineSource(s), config.policy, AS_OF, for_forecast=False)
        assert make_plan(due, 3).to_json() == make_plan(full, 3).to_json()
    finally:
        conn.close()
