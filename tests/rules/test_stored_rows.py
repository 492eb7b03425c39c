"""The force-wide report read straight from a SQLite file (monitor.rules.stored_rows,
monitor.register.sqlite_file, cli/report.py: stored_scan) is the engine's scan.

Why: that path sends SQLAlchemy's statements as kept text over a plain sqlite3 connection,
so a statement edited in rows.py but not here, a list parameter written out differently, a
person whose stored facts do not hold, or a schema that is not current would each give a
wrong report without an error. The texts are held to what SQLAlchemy compiles now; the
results to the engine's scan and to the independent oracle, at as-of dates where everyone's
stored facts hold, where a few people's do not (computed a few at a time), and where most do
not (the engine's path takes over).
"""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from oracle import oracle
from sqlalchemy import Engine
from sqlalchemy.dialects import sqlite

from monitor.cli import report as report_command
from monitor.core.config import Config
from monitor.register import sqlite_file
from monitor.register.db import make_engine, reading
from monitor.register.importer import import_directory
from monitor.register.models import Offender
from monitor.rules import stored_rows
from monitor.rules.lookback import state_query, visits_query
from monitor.rules.rows import live_facts_query, stored_facts_query
from monitor.rules.scan import COUNTABLE, scan
from monitor.synthetic.generator import generate

AS_OF = date(2026, 11, 23)
DIALECT = sqlite.dialect(paramstyle="named")


def _words(sql: str) -> str:
    return " ".join(sql.split())


def _compiled(
    kind: str, names: bool, refs: list[str] | None = None, postcompile: bool = False, practice: bool = False
) -> Any:
    n = 3 if practice else None
    if kind == "stored":
        query = stored_facts_query(AS_OF, None, None, names, n).order_by(Offender.ref)
    else:
        query = live_facts_query(AS_OF, None, None, names, refs or ["R1"], n)
    return query.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": postcompile})


#: Parameters that change from one call to the next (the rest are the kept constants).
VARYING = ("as_of", "refs", "recent_n", "lookback_start")


@pytest.mark.parametrize("kind", ["stored", "live"])
@pytest.mark.parametrize("names", [False, True])
@pytest.mark.parametrize("practice", [False, True])
def test_kept_statements_are_what_sqlalchemy_compiles(kind: str, names: bool, practice: bool) -> None:
    compiled = _compiled(kind, names, practice=practice)
    wrapped = textwrap.fill(_words(str(compiled)), 96, break_long_words=False, break_on_hyphens=False)
    assert _words(stored_rows.STATEMENTS[kind, names, practice]) == _words(str(compiled)), (
        f"rows.py changed: the statement is now (in monitor/rules/stored_rows.py, _WITHOUT_NAMES[{kind!r},"
        f" {practice}] holds it without names and _with_names adds them; names={names}):\n{wrapped}"
    )
    constants = {k: v for k, v in compiled.params.items() if k not in VARYING}
    assert stored_rows.CONSTANTS[kind, practice] == constants


def test_kept_practice_statements_are_what_sqlalchemy_compiles() -> None:
    """What the register records, and the look-back's completed home visits (rules.lookback)."""
    start = AS_OF - timedelta(days=90)
    for kept, kind, query in (
        (stored_rows.STATE, "state", state_query()),
        (stored_rows.VISITS, "visits", visits_query(AS_OF, start, None, None)),
    ):
        compiled = query.compile(dialect=DIALECT)
        wrapped = textwrap.fill(_words(str(compiled)), 96, break_long_words=False, break_on_hyphens=False)
        assert _words(kept) == _words(str(compiled)), f"rules/lookback.py changed ({kind}):\n{wrapped}"
        assert stored_rows.CONSTANTS[kind, False] == {k: v for k, v in compiled.params.items() if k not in VARYING}


def test_list_parameters_are_written_out_as_sqlalchemy_does() -> None:
    refs = ["R1", "R2", "R3"]
    for practice in (False, True):
        compiled = _compiled("live", False, refs, postcompile=True, practice=practice)
        n = {"recent_n": 3} if practice else {}
        params = {**stored_rows.CONSTANTS["live", practice], "as_of": AS_OF.isoformat(), "refs": refs, **n}
        sql, bound = stored_rows.bind(stored_rows.STATEMENTS["live", False, practice], params)
        assert _words(sql) == _words(str(compiled))
        assert bound == {**compiled.params, "as_of": AS_OF.isoformat()}
        with pytest.raises(ValueError, match="empty list"):
            stored_rows.bind(stored_rows.STATEMENTS["live", False, practice], {**params, "refs": []})


@pytest.fixture
def register(sqlite_url: str, make_config: Callable[..., Config], tmp_path: Path) -> tuple[str, Path]:
    src = tmp_path / "extract"
    generate(400, seed=51, as_of=AS_OF, out_dir=src)
    engine = make_engine(sqlite_url)
    try:
        result = import_directory(engine, make_config(sqlite_url), src)
    finally:
        engine.dispose()
    assert result.exit_code == 0
    return sqlite_url, src


def _engine_scan(url: str, config: Config, as_of: date, count_only: frozenset[str]) -> dict[str, Any]:
    engine: Engine = make_engine(url)
    try:
        with reading(engine) as session:
            return scan(session, config.policy, as_of, count_only=count_only).to_json()
    finally:
        engine.dispose()


@pytest.mark.parametrize("names", [False, True])
@pytest.mark.parametrize("count_only", [frozenset(), COUNTABLE])
def test_stored_scan_is_the_engines_scan(
    register: tuple[str, Path],
    make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
    names: bool,
    count_only: frozenset[str],
) -> None:
    url, src = register
    config = make_config(url, policy={"include_names": names})
    monkeypatch.setattr(stored_rows, "LIVE_BY_REF", 2)  # a few people per statement: chunks and their edges
    for as_of in (AS_OF, AS_OF + timedelta(days=40), AS_OF - timedelta(days=3)):
        got = report_command.stored_scan(url, config.policy, as_of, count_only)
        assert got is not None, as_of
        assert got.to_json() == _engine_scan(url, config, as_of, count_only), as_of
        if not names and not count_only:
            assert got.to_json() == oracle(src, as_of)


def test_stored_scan_with_the_practice_measures_is_the_engines_scan(
    sqlite_url: str, make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A register with the practice columns: the same state, people, look-back and result."""
    src = tmp_path / "practice"
    generate(300, seed=52, as_of=AS_OF, out_dir=src, practice=True)
    config = make_config(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        assert import_directory(engine, config, src).exit_code == 0
    finally:
        engine.dispose()
    monkeypatch.setattr(stored_rows, "LIVE_BY_REF", 2)
    for as_of in (AS_OF, AS_OF + timedelta(days=40), AS_OF - timedelta(days=3)):
        for count_only in (frozenset(), COUNTABLE):
            got = report_command.stored_scan(sqlite_url, config.policy, as_of, count_only)
            assert got is not None and got.practice is not None, as_of
            assert got.to_json() == _engine_scan(sqlite_url, config, as_of, count_only), as_of
        assert got.to_json() == {k: v for k, v in oracle(src, as_of).items() if k not in COUNTABLE}


def test_a_few_people_with_later_visits_are_read_live_and_most_send_it_to_the_engine(
    register: tuple[str, Path], make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _src = register
    config = make_config(url)
    statements: list[str] = []
    real = stored_rows.bind

    def counted(statement: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        statements.append("live" if "WITH latest" in statement else "stored")
        return real(statement, params)

    monkeypatch.setattr(stored_rows, "bind", counted)
    monkeypatch.setattr(stored_rows, "LIVE_BY_REF", 2)
    assert report_command.stored_scan(url, config.policy, AS_OF, ()) is not None
    assert statements == ["stored"]  # everyone's stored facts hold after the import
    statements.clear()
    assert report_command.stored_scan(url, config.policy, AS_OF - timedelta(days=3), ()) is not None
    assert statements[0] == "stored" and len(statements) > 1 and set(statements[1:]) == {"live"}
    # Long before the latest visits nearly nobody's stored facts hold: the engine's path.
    assert report_command.stored_scan(url, config.policy, AS_OF - timedelta(days=2000), ()) is None


def test_report_output_is_the_same_either_way(
    register: tuple[str, Path], make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from monitor.cli.app import cli

    url, _src = register
    monkeypatch.setenv("MONITOR_DATABASE_URL", url)
    outputs = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(report_command, "stored_scan", lambda *args: None)
        out = tmp_path / f"report-{fast}.json"
        args = ["report", "--as-of", (AS_OF - timedelta(days=3)).isoformat(), "--format", "json", "--output", str(out)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_file_path_takes_only_a_plain_file() -> None:
    assert sqlite_file.file_path("sqlite:////var/lib/monitor/m.db") == "/var/lib/monitor/m.db"
    assert sqlite_file.file_path("sqlite+pysqlite:///m.db") == "m.db"
    for url in (
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file:m.db?mode=ro&uri=true",
        "sqlite:///m.db?timeout=5",
        "sqlite:///m%20b.db",
        "postgresql://monitor@db.example/register",
    ):
        assert sqlite_file.file_path(url) is None, url


def test_open_current_never_creates_and_refuses_an_old_schema(tmp_path: Path, sqlite_url: str) -> None:
    missing = tmp_path / "nowhere.db"
    assert sqlite_file.open_current(f"sqlite:///{missing}") is None
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert sqlite_file.open_current(f"sqlite:///{empty}") is None
    conn = sqlite_file.open_current(sqlite_url)
    assert conn is not None
    try:
        # The engine's settings: busy timeout, foreign keys, WAL, transactions left to us.
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (sqlite_file.SQLITE_BUSY_TIMEOUT_MS,)
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.isolation_level is None
        conn.execute("UPDATE alembic_version SET version_num = 'older'")
    finally:
        conn.close()
    assert sqlite_file.open_current(sqlite_url) is None
