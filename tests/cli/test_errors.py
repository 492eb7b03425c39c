"""Failures are one or two plain lines with the contract's exit code, and never echo a secret.

Issue 8, findings 6 and 7: a password put in the config file by mistake was printed back, a
database URL with its password was printed (and blamed on the config file), a bad
``$MONITOR_DATABASE_URL`` scheme was a traceback with exit 1, and an unreachable database
printed 133 lines of traceback. The contract: 2 for configuration or usage errors, 1 for
failures; no traceback and no secret reaches a user, a log, a SIGHUP reload message or
``health``. Tested through real processes of the console script and through CliRunner.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from monitor.cli.app import cli
from monitor.core import config as config_module
from monitor.core.logs import EchoOfErrorFilter, JsonFormatter, TextFormatter
from monitor.daemon.failures import safe_error
from monitor.daemon.loop import Daemon

SECRET = "Hunter2-Sekrit"
CONSOLE = Path(sys.executable).with_name("visit-monitor")
UNREACHABLE_PG = f"postgresql://monitor:{SECRET}@127.0.0.1:1/register"
COMMANDS: list[list[str]] = [
    ["db", "current"],
    ["db", "upgrade"],
    ["report"],
    ["digest"],
    ["deliver"],
    ["health"],
    ["import", "."],
    ["run", "--once"],
]


def console(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as a user would, with only ``env`` of ours set."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    base.update(env or {})
    return subprocess.run(
        [str(CONSOLE), *args], capture_output=True, text=True, env=base, cwd=cwd, timeout=120, check=False
    )


def assert_plain(output: str, exit_code: int, expected_code: int, *, secret: str = SECRET) -> None:
    """One or two lines, no traceback, no secret, the right exit code."""
    assert exit_code == expected_code, output
    assert "Traceback" not in output and 'File "' not in output, output
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    assert 1 <= len(lines) <= 2, output
    assert secret not in output, output


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env)


# --------------------------------------------------------------------------- finding 6: secrets


def test_password_in_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(f'[smtp]\nhost = "relay.police.example"\npassword = "{SECRET}"\n')
    proc = console(tmp_path, "--config", str(path), "db", "current")
    assert_plain(proc.stderr + proc.stdout, proc.returncode, 2)
    assert "smtp.password" in proc.stderr
    assert "MONITOR_SMTP_PASSWORD" in proc.stderr
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load(path)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.value)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        (f'[smtp]\npasword = "{SECRET}"', "smtp.pasword"),
        (f'[mail]\n[mail.auth]\ntoken = "{SECRET}"', "mail.auth"),
        (f'api_key = "{SECRET}"', "api_key"),
        (f'[web]\nclient_secret = "{SECRET}"', "web"),
        (f'[database]\npassword = "{SECRET}"', "database.password"),
    ],
)
def test_unknown_keys_are_named_but_their_values_never_echoed(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(toml + "\n")
    result = invoke("--config", str(path), "db", "current")
    assert_plain(result.output, result.exit_code, 2)
    assert key in result.stderr


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (f"foo://monitor:{SECRET}@db.police.example/register", 2),
        (f"monitor:{SECRET}@db.police.example/register", 2),
        (f"mysql://monitor:{SECRET}@db.police.example/register", 2),
        (f"postgresql+nosuchdriver://monitor:{SECRET}@db.police.example/register", 2),
        (UNREACHABLE_PG, 1),
    ],
)
def test_database_url_from_the_environment_is_masked_and_not_blamed_on_the_file(
    tmp_path: Path, url: str, code: int
) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text('timezone = "Europe/London"\n')
    result = invoke("--config", str(path), "db", "current", env={"MONITOR_DATABASE_URL": url})
    assert_plain(result.output, result.exit_code, code)
    assert "MONITOR_DATABASE_URL" in result.stderr
    assert str(path) not in result.stderr
    assert "monitor:***@" in result.stderr or "***" in result.stderr


def test_database_url_in_the_file_is_masked(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(f'[database]\nurl = "foo://monitor:{SECRET}@db.police.example/register"\n')
    result = invoke("--config", str(path), "report")
    assert_plain(result.output, result.exit_code, 2)
    assert "database.url" in result.stderr and str(path) in result.stderr
    assert "foo://monitor:***@db.police.example/register" in result.stderr


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_logs_mask_secrets(monkeypatch: pytest.MonkeyPatch, formatter: logging.Formatter) -> None:
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", SECRET)
    monkeypatch.setenv("MONITOR_DATABASE_URL", f"postgresql://monitor:Db-{SECRET}@db.police.example/register")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    log = logging.getLogger("monitor.test.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("relay replied %s", f"535 bad login for {SECRET}")
        log.error("connect to %s failed", f"postgresql://monitor:Db-{SECRET}@db.police.example/register")
        log.error("retry postgresql://other:OtherPass99@host/db?password=QueryPass99")
        log.error("plain", extra={"error": f"OSError: {SECRET}"})
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    for leaked in (SECRET, "OtherPass99", "QueryPass99"):
        assert leaked not in out, out
    assert "postgresql://monitor:***@db.police.example/register" in out
    assert out.count("***") >= 4


def test_safe_error_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", SECRET)
    assert SECRET not in safe_error(OSError(f"login as monitor with {SECRET} refused"))
    assert SECRET not in safe_error(OSError(f"cannot reach {UNREACHABLE_PG}"))


def test_sighup_reload_messages_never_echo_secrets(
    tmp_path: Path, sqlite_engine: Engine, make_config: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(str(sqlite_engine.url))
    path = tmp_path / "reload.toml"
    path.write_text(f'[smtp]\npassword = "{SECRET}"\n')
    daemon = Daemon(sqlite_engine, config, loader=lambda: config_module.load(path))
    with caplog.at_level(logging.INFO):
        assert daemon.reload() is False
        path.write_text(f'[database]\nurl = "postgresql://monitor:{SECRET}@db.police.example/register"\n')
        assert daemon.reload() is True
    rendered = "\n".join(TextFormatter().format(r) for r in caplog.records)
    assert "reload refused" in rendered and "smtp.password" in rendered
    assert SECRET not in rendered and SECRET not in caplog.text


def test_health_masks_secrets_in_job_errors(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_health import all_on_time, set_run

    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", SECRET)
    all_on_time(engine)
    set_run(engine, "deliver", outcome="failed", error=f"OSError: relay refused {SECRET} via {UNREACHABLE_PG}")
    with freeze_time("2026-11-26 09:00:00"):
        text_result = invoke("health", env={"MONITOR_DATABASE_URL": db_url})
        json_result = invoke("health", "--json", env={"MONITOR_DATABASE_URL": db_url})
    assert text_result.exit_code == 1 and json_result.exit_code == 1
    assert "relay refused" in text_result.output
    assert SECRET not in text_result.output and SECRET not in json_result.output
    assert json.loads(json_result.stdout)["ok"] is False


# --------------------------------------------------------------------------- finding 7: plain failures


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_bad_database_url_scheme_is_exit_2_in_a_real_process(tmp_path: Path, command: list[str]) -> None:
    proc = console(tmp_path, *command, env={"MONITOR_DATABASE_URL": f"foo://monitor:{SECRET}@db/register"})
    assert_plain(proc.stderr + proc.stdout, proc.returncode, 2)
    assert "configuration error" in proc.stderr and "MONITOR_DATABASE_URL" in proc.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_unreachable_database_is_one_plain_line_in_a_real_process(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "offenders.csv").write_text("ref\n")
    proc = console(tmp_path, *command, env={"MONITOR_DATABASE_URL": UNREACHABLE_PG})
    assert_plain(proc.stderr + proc.stdout, proc.returncode, 1)
    assert "database" in proc.stderr and "refused" in proc.stderr.lower()


def _file_in_the_way(tmp_path: Path) -> str:
    (tmp_path / "blocker").write_text("a file, not a folder\n")
    return f"sqlite:///{tmp_path / 'blocker' / 'monitor.db'}"


@pytest.mark.parametrize(
    ("make_url", "code", "words"),
    [
        (_file_in_the_way, 1, "blocker"),
        (lambda tmp: "sqlite:////sys/visit-monitor/monitor.db", 1, "sys"),
        (lambda tmp: "postgresql://postgres@127.0.0.1:5432/vm_no_such_database_here", 1, "does not exist"),
        (lambda tmp: f"postgresql://nobody_here:{SECRET}@127.0.0.1:5432/postgres", 1, "database"),
        (lambda tmp: f"sqlite:///{tmp}/fresh.db", 1, "db upgrade"),
    ],
    ids=["sqlite-dir-blocked", "sqlite-dir-denied", "pg-no-database", "pg-no-role", "no-schema"],
)
@pytest.mark.parametrize("command", [["report"], ["health"], ["deliver"]], ids=lambda c: c[0])
def test_database_failures_are_plain(
    tmp_path: Path, make_url: Callable[[Path], str], code: int, words: str, command: list[str]
) -> None:
    result = invoke(*command, env={"MONITOR_DATABASE_URL": make_url(tmp_path)})
    assert_plain(result.output, result.exit_code, code)
    assert words in result.stderr


def test_a_locked_sqlite_database_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("create table t (x)")
    holder.execute("begin exclusive")
    try:
        eng = create_engine(f"sqlite:///{db}", connect_args={"timeout": 0})
        with pytest.raises(OperationalError) as info, eng.connect() as conn:
            conn.execute(text("select * from t"))
        eng.dispose()
    finally:
        holder.execute("rollback")
        holder.close()
    from monitor.cli.errors import explain

    message, code = explain(info.value)
    assert code == 1
    assert "database is locked" in message and "\n" not in message.strip()


def test_unexpected_errors_withhold_their_message() -> None:
    from monitor.cli.errors import explain

    message, code = explain(ValueError("RSO-000123 Smith 1970-01-01"))
    assert code == 1
    assert "ValueError" in message and "RSO-000123" not in message and "Smith" not in message


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["report", "--output", "/dev/full"], "No space left on device"),
        (["report", "--output", "/sys/visit-monitor-report.csv"], "Permission denied"),
        (["report", "--output", "/sys/no-such-folder/report.csv"], "/sys/no-such-folder"),
        (["digest", "--preview", "/sys/visit-monitor-preview"], "/sys/visit-monitor-preview"),
    ],
    ids=["disk-full", "denied", "missing-dir-denied", "preview-denied"],
)
def test_io_failures_are_plain(sqlite_url: str, tmp_path: Path, args: list[str], words: str) -> None:
    result = invoke(*args, "--as-of", "2026-11-23", env={"MONITOR_DATABASE_URL": sqlite_url})
    assert_plain(result.output, result.exit_code, 1)
    assert words in result.stderr


@pytest.mark.parametrize(
    ("rejects", "words"),
    [("/dev/full", "No space left on device"), ("/nonexistent-folder/rejects.csv", "No such file or directory")],
    ids=["disk-full", "missing-dir"],
)
def test_import_rejects_file_failures_are_plain_in_a_real_process(
    sqlite_url: str, tmp_path: Path, rejects: str, words: str
) -> None:
    extract = tmp_path / "extract"
    extract.mkdir()
    (extract / "officers.csv").write_text(
        "officer_id,name,email,team,role,active\nOM-0001,Officer One,om1@police.example,T1,offender_manager,true\n"
    )
    proc = console(tmp_path, "import", str(extract), "--rejects", rejects, env={"MONITOR_DATABASE_URL": sqlite_url})
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and len(lines) <= 2, proc.stderr
    assert words in proc.stderr


# --------------------------------------------------------------------------- what a newcomer tripped over


@pytest.mark.parametrize(
    "url", ["sqlite://var/monitor.db", "sqlite+pysqlite://var/monitor.db", "sqlite://user@host/monitor.db"]
)
def test_a_sqlite_url_with_two_slashes_is_a_configuration_error_showing_the_form(tmp_path: Path, url: str) -> None:
    """``sqlite://var/monitor.db`` reads "var" as a host: it was "database error: ArgumentError", exit 1."""
    proc = console(tmp_path, "report", env={"MONITOR_DATABASE_URL": url})
    assert_plain(proc.stderr + proc.stdout, proc.returncode, 2)
    assert "sqlite:///var/monitor.db" in proc.stderr and "three slashes" in proc.stderr
    path = tmp_path / "monitor.toml"
    path.write_text(f'[database]\nurl = "{url}"\n')
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load(path)
    assert info.value.key == "database.url" and "four before an absolute one" in str(info.value)


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    demo = console(folder, "demo")
    assert demo.returncode == 0, demo.stderr
    return folder


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["report", "--format", "json"], (141,)),  # hundreds of KB: the reader leaves first
        (["report", "--format", "csv"], (0, 141)),
        (["outbox", "list", "--status", "all"], (0, 141)),
    ],
    ids=["json", "csv", "outbox"],
)
def test_output_into_a_closed_pipe_stops_quietly(demo_folder: Path, args: list[str], codes: tuple[int, ...]) -> None:
    """``visit-monitor report | head`` printed "visit-monitor: Broken pipe" and exited 1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["MONITOR_DATABASE_URL"] = f"sqlite:///{demo_folder / 'var' / 'monitor.db'}"
    proc = subprocess.Popen(
        [
            str(CONSOLE),
            *args,
        ],
        cwd=demo_folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()  # read one line, like `| head -1`, and go away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    assert err == ""  # no "Broken pipe", no "Exception ignored"
    assert code in codes  # stopped like cat (128 + SIGPIPE), or done before the reader left


def test_the_cli_drops_psycopg_s_echo_of_a_lost_connection_and_keeps_its_other_warnings() -> None:
    """A backend terminated mid-import: psycopg logs "error ignored terminating <Pipeline>"
    while the exception goes up to the command, which reports it in its one line; the echo
    would be a second line about the same loss (seen in the battery's terminated import)."""

    def record(name: str, msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)

    keep = EchoOfErrorFilter().filter
    assert not keep(record("psycopg", "error ignored terminating %r: %s", "<Pipeline [BAD]>", "the connection is lost"))
    assert keep(record("psycopg", "some other warning %s", "x"))
    assert keep(record("monitor.register", "error ignored terminating is our own words here"))
