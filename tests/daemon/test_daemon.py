"""The daemon for real: signals, systemd notifications, reload, ``run --once``, the import
job, and the issue's acceptance check (two replicas after a missed digest time).

Subprocess tests run ``python -m monitor`` with a temp config and ``tick_seconds = 1``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from builders import add_offender, add_officer
from smtp_server import smtp_relay
from sqlalchemy import Engine, func, select

from monitor.core import config as config_module
from monitor.daemon.failures import JobFailed
from monitor.daemon.jobs import import_job
from monitor.daemon.loop import Daemon
from monitor.daemon.runs import Runner
from monitor.daemon.systemd import sd_notify
from monitor.register.db import reading, transaction
from monitor.register.models import Disclosure, Heartbeat, JobRun, OutboxMessage

__all__ = ["smtp_relay"]  # the fixture, imported for pytest

ALL_OFF = dict.fromkeys(config_module.JOB_NAMES, "off")


# --------------------------------------------------------------------------- helpers


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(path: Path, db_url: str, **sections: dict[str, Any]) -> Path:
    """A TOML config for a subprocess: fast ticks, given sections on top."""
    merged: dict[str, dict[str, Any]] = {
        "database": {"url": db_url},
        "mail": {"transport": "maildir", "maildir": str(path.parent / "outbox")},
        "daemon": {"tick_seconds": 1, "heartbeat_seconds": 1, "stale_after_seconds": 5, "shutdown_timeout_seconds": 10},
        "schedule": dict(ALL_OFF),
    }
    for name, values in sections.items():
        merged[name] = {**merged.get(name, {}), **values}
    lines = []
    for name, values in merged.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml_value(v)}" for key, v in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "NOTIFY_SOCKET", "WATCHDOG_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env.update(extra)
    return env


class Proc:
    """A ``python -m monitor`` child with its output in files (no pipe can fill up)."""

    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None, name: str = "run") -> None:
        self.out = config.parent / f"{name}.out"
        self.err = config.parent / f"{name}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(config), *args],
                stdout=out,
                stderr=err,
                env=env or child_env(),
                cwd=config.parent,
            )

    def signal(self, sig: int) -> None:
        self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    @property
    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in started:
        p.kill()


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def heartbeats(engine: Engine) -> list[Heartbeat]:
    with reading(engine) as s:
        return list(s.scalars(select(Heartbeat)))


def cli(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=config.parent,
        timeout=timeout,
    )


class Datagrams:
    """A fake systemd notify socket collecting what the daemon sends."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="vm-notify-")  # short path: AF_UNIX limit
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)

    def has(self, line: str) -> bool:
        return any(line in m.splitlines() for m in list(self.messages))


# --------------------------------------------------------------------------- sd_notify


def test_sd_notify_sends_a_datagram(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify("READY=1") is False  # not under systemd: a no-op
    sink = Datagrams()
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", sink.path)
        assert sd_notify("READY=1\nSTATUS=ok") is True
        wait_for(lambda: sink.has("READY=1"), 5, "READY=1")
    finally:
        sink.close()


# --------------------------------------------------------------------------- signals, for real


def test_sigterm_exits_0_marks_heartbeat_stopped_and_notifies_systemd(
    sqlite_url: str, sqlite_engine: Engine, tmp_path: Path, procs: list[Proc]
) -> None:
    config = write_config(
        tmp_path / "monitor.toml", sqlite_url, schedule={"snapshot": "* * * * *"}, logging={"format": "json"}
    )
    sink = Datagrams()
    try:
        proc = Proc(config, "run", env=child_env(NOTIFY_SOCKET=sink.path, WATCHDOG_USEC="400000"))
        procs.append(proc)
        wait_for(lambda: sink.has("READY=1"), 20, "READY=1")
        wait_for(lambda: sink.has("WATCHDOG=1"), 10, "WATCHDOG=1")
        wait_for(lambda: heartbeats(sqlite_engine), 10, "a heartbeat")
        wait_for(lambda: _outcomes(sqlite_engine, "snapshot") == ["ok"], 15, "the snapshot run")
        started = time.monotonic()
        proc.signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr
        assert time.monotonic() - started < 10
        wait_for(lambda: sink.has("STOPPING=1"), 5, "STOPPING=1")
    finally:
        sink.close()
    (hb,) = heartbeats(sqlite_engine)
    assert hb.stopped_at is not None
    logged = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert logged, proc.stderr
    assert all({"ts", "level", "logger", "message"} <= set(entry) for entry in logged)
    finished = [e for e in logged if e.get("job") == "snapshot" and e.get("outcome") == "ok"]
    assert finished and finished[0]["counts"] == {"rows": 0} and "scheduled_for" in finished[0]


def _outcomes(engine: Engine, job: str) -> list[str]:
    with reading(engine) as s:
        return list(s.scalars(select(JobRun.outcome).where(JobRun.job == job)))


def test_sighup_reloads_and_keeps_the_old_config_when_the_new_one_is_bad(
    sqlite_url: str, sqlite_engine: Engine, tmp_path: Path, procs: list[Proc]
) -> None:
    config = write_config(tmp_path / "monitor.toml", sqlite_url)
    proc = Proc(config, "run")
    procs.append(proc)
    wait_for(lambda: heartbeats(sqlite_engine), 20, "a heartbeat")
    time.sleep(1.5)
    assert _outcomes(sqlite_engine, "snapshot") == []  # everything is off

    text = config.read_text()
    config.write_text(text.replace("[schedule]", '[schedule]\nbogus_job = "0 7 * * mon"', 1))
    proc.signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in proc.stderr, 10, "the refusal in the log")
    assert "bogus_job" in proc.stderr
    assert proc.popen.poll() is None  # still running on the old config

    config.write_text(text.replace('snapshot = "off"', 'snapshot = "* * * * *"'))
    proc.signal(signal.SIGHUP)
    wait_for(lambda: _outcomes(sqlite_engine, "snapshot") == ["ok"], 15, "the newly scheduled job")
    assert "configuration reloaded" in proc.stderr
    proc.signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


# --------------------------------------------------------------------------- in-process daemon


class SlowJobs:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = threading.Event()
        self.finished = threading.Event()

    def registry(self) -> dict[str, Any]:
        def slow(engine: Engine, config: Any, scheduled_for: datetime) -> dict[str, Any]:
            self.started.set()
            time.sleep(self.seconds)
            self.finished.set()
            return {"slept": 1}

        return dict.fromkeys(config_module.JOB_NAMES, slow)


def _daemon_config(make_config: Any, url: str, **daemon: int) -> Any:
    schedule = dict(ALL_OFF, snapshot="* * * * *")
    return make_config(
        url,
        schedule=schedule,
        daemon={"tick_seconds": 1, "heartbeat_seconds": 1, "stale_after_seconds": 5, **daemon},
    )


def test_sigterm_lets_the_running_job_finish(sqlite_url: str, sqlite_engine: Engine, make_config: Any) -> None:
    cfg = _daemon_config(make_config, sqlite_url, shutdown_timeout_seconds=20)
    jobs = SlowJobs(1.5)
    daemon = Daemon(sqlite_engine, cfg, registry=jobs.registry())

    def kill_when_started() -> None:
        jobs.started.wait(20)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=kill_when_started, daemon=True).start()
    previous = signal.getsignal(signal.SIGTERM)
    assert daemon.run() == 0  # real SIGTERM, handled in this (main) thread
    assert signal.getsignal(signal.SIGTERM) is previous
    assert jobs.finished.is_set()
    assert _outcomes(sqlite_engine, "snapshot") == ["ok"]
    (hb,) = heartbeats(sqlite_engine)
    assert hb.stopped_at is not None


def test_claims_not_started_before_a_stop_are_handed_back(
    sqlite_url: str, sqlite_engine: Engine, make_config: Any
) -> None:
    cfg = make_config(
        sqlite_url,
        schedule=dict(ALL_OFF, snapshot="* * * * *", deliver="* * * * *"),
        daemon={"tick_seconds": 1, "heartbeat_seconds": 1, "stale_after_seconds": 5},
    )
    jobs = SlowJobs(1.0)  # snapshot runs first (JOB_ORDER), deliver waits behind it
    daemon = Daemon(sqlite_engine, cfg, registry=jobs.registry())
    threading.Thread(target=lambda: (jobs.started.wait(20), daemon.request_stop()), daemon=True).start()
    assert daemon.run(install_signals=False) == 0
    assert _outcomes(sqlite_engine, "snapshot") == ["ok"]
    assert _outcomes(sqlite_engine, "deliver") == ["abandoned"]
    with reading(sqlite_engine) as s:
        fire = s.scalar(select(JobRun.scheduled_for).where(JobRun.job == "deliver"))
    fast = {"deliver": lambda engine, config, scheduled_for: {"sent": 0}}
    rerun = Runner(sqlite_engine, cfg, registry=fast).run_due(fire + timedelta(seconds=20))
    assert [(r.job, r.outcome) for r in rerun] == [("deliver", "ok")]


def test_shutdown_timeout_leaves_the_run_to_a_replica(sqlite_url: str, sqlite_engine: Engine, make_config: Any) -> None:
    cfg = _daemon_config(make_config, sqlite_url, shutdown_timeout_seconds=1)
    jobs = SlowJobs(4)
    daemon = Daemon(sqlite_engine, cfg, registry=jobs.registry())
    threading.Thread(target=lambda: (jobs.started.wait(20), daemon.request_stop()), daemon=True).start()
    assert daemon.run(install_signals=False) == 1
    assert _outcomes(sqlite_engine, "snapshot") == ["running"]
    # A replica sees the stopped heartbeat, marks the run abandoned and runs it again.
    fast = {"snapshot": lambda engine, config, scheduled_for: {"rerun": 1}}
    other = Runner(sqlite_engine, cfg, registry=fast)
    with reading(sqlite_engine) as s:
        fire = s.scalar(select(JobRun.scheduled_for))
    results = other.run_due(fire + timedelta(seconds=30))
    assert [(r.job, r.outcome) for r in results] == [("snapshot", "ok")]
    jobs.finished.wait(10)


def test_reload_keeps_old_config_on_error_and_applies_a_good_one(
    sqlite_url: str, sqlite_engine: Engine, make_config: Any
) -> None:
    cfg = _daemon_config(make_config, sqlite_url)
    answers: list[Any] = [config_module.ConfigError("schedule.deliver", "nope", "a cron expression")]

    def loader() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    daemon = Daemon(sqlite_engine, cfg, loader=loader, registry={})
    assert daemon.reload() is False and daemon.config is cfg
    new = make_config(sqlite_url, schedule=dict(ALL_OFF, deliver="*/10 * * * *"))
    answers.append(new)
    assert daemon.reload() is True
    assert daemon.config.schedule["deliver"] == "*/10 * * * *"


# --------------------------------------------------------------------------- run --once


def seed_register(engine: Engine) -> None:
    """Two offender managers with overdue cases, a supervisor and a lead (all fake)."""
    with transaction(engine) as s:
        add_officer(s, "OM1")
        add_officer(s, "OM2")
        add_officer(s, "SUP1", role="supervisor")
        add_officer(s, "LEAD1", role="lead", team="HQ")
        for i in range(4):
            add_offender(s, f"FAKE-{i}", offender_manager="OM1" if i % 2 else "OM2", risk_level="high")


def test_run_once_runs_what_is_due_then_nothing(sqlite_url: str, sqlite_engine: Engine, tmp_path: Path) -> None:
    seed_register(sqlite_engine)
    config = write_config(
        tmp_path / "monitor.toml",
        sqlite_url,
        schedule={"officer_digest": "0 7 * * mon", "snapshot": "0 6 * * *", "deliver": "*/5 * * * *"},
    )
    first = cli(config, "run", "--once")
    assert first.returncode == 0, first.stderr
    assert "officer_digest" in first.stdout and "snapshot" in first.stdout and "deliver" in first.stdout
    with reading(sqlite_engine) as s:
        sent = s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
        rows = s.execute(select(JobRun.job, JobRun.outcome)).all()
        hb = s.scalars(select(Heartbeat)).one()
    assert sent == 2  # one digest per offender manager
    assert sorted(rows) == [("deliver", "ok"), ("officer_digest", "ok"), ("snapshot", "ok")]
    assert hb.stopped_at is not None
    assert len(list((tmp_path / "outbox").iterdir())) == 2

    second = cli(config, "run", "--once")
    assert second.returncode == 0, second.stderr
    assert "Nothing due." in second.stdout or "deliver" in second.stdout  # a new 5-minute slot may start


def test_run_once_exits_1_when_a_job_fails(sqlite_url: str, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "monitor.toml",
        sqlite_url,
        schedule={"import": "* * * * *"},
        **{"import": {"drop_dir": str(tmp_path / "no-such-folder")}},
    )
    result = cli(config, "run", "--once")
    assert result.returncode == 1
    assert "import" in result.stdout and "failed" in result.stdout and "is not a folder" in result.stdout


# --------------------------------------------------------------------------- import job


OFFICERS = "officer_id,name,email,team,role\nOMX,Officer X,omx@police.example,T1,offender_manager\n"
OFFENDERS = (
    "ref,risk_level,status,team,offender_manager,registered_on\n"
    "FAKE-A,high,community,T1,OMX,2025-01-01\n"
    "FAKE-B,sky high,community,T1,OMX,2025-01-01\n"
)
VISITS = "visit_id,ref,visit_date,outcome\nV1,FAKE-A,2026-10-01,completed\n"


def make_extract(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_import_job_files_extracts_and_never_loses_input(
    engine: Engine, db_url: str, make_config: Any, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    make_extract(drop / "2026-11-26-a", officers=OFFICERS, offenders=OFFENDERS, visits=VISITS)
    make_extract(drop / "2026-11-26-b", visits="visit_id,ref\nV2,FAKE-A\n")  # no visit_date column: fails
    make_extract(drop / "incoming.partial", officers=OFFICERS)  # still being written
    (drop / "stray.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    cfg = make_config(db_url, **{"import": {"drop_dir": str(drop)}})
    with pytest.raises(JobFailed) as failed:
        import_job(engine, cfg, datetime(2026, 11, 26, 5, tzinfo=UTC))
    counts = failed.value.counts
    assert counts["extracts"] == 2 and counts["failed"] == 1 and counts["rejected"] == 1
    assert counts["inserted"] >= 3
    assert "2026-11-26-b" in str(failed.value)

    files = tree(drop)
    assert "stray.csv" in files and "incoming.partial/officers.csv" in files
    processed = sorted(f for f in files if f.startswith("processed/"))
    failed_files = sorted(f for f in files if f.startswith("failed/"))
    day = datetime.now(UTC).astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d")
    assert {Path(f).name for f in processed} == {"officers.csv", "offenders.csv", "visits.csv", "rejects.csv"}
    assert all(f.startswith(f"processed/{day}/") and f.split("/")[2].endswith("-2026-11-26-a") for f in processed)
    assert {Path(f).name for f in failed_files} == {"visits.csv", "error.txt"}
    assert (drop / "processed" / day).is_dir()
    rejects_path = drop / next(f for f in processed if f.endswith("rejects.csv"))
    rejects = list(csv.DictReader(io.StringIO(rejects_path.read_text())))
    assert [(r["file"], r["line"]) for r in rejects] == [("offenders.csv", "3")]
    assert "sky high" not in rejects_path.read_text() or rejects[0]["field"] == "risk_level"
    error_text = (drop / next(f for f in failed_files if f.endswith("error.txt"))).read_text()
    assert "2026-11-26-b" in error_text and "FAKE-A" not in error_text
    # Input moved, not copied or deleted: the original bytes are in processed/.
    assert (drop / next(f for f in processed if f.endswith("offenders.csv"))).read_text() == OFFENDERS

    # Nothing left to do: a second run imports nothing and succeeds.
    again = import_job(engine, cfg, datetime(2026, 11, 27, 5, tzinfo=UTC))
    assert again["extracts"] == 0


# --------------------------------------------------------------------------- acceptance


@pytest.mark.slow
def test_two_replicas_after_a_missed_digest_time(
    db_url: str, engine: Engine, tmp_path: Path, procs: list[Proc]
) -> None:
    """The issue's acceptance check, on SQLite and PostgreSQL.

    Today's digest time (a few minutes ago, London time) was missed; two ``run``
    processes start on one database: the missed run happens once, every digest arrives
    once, ``health`` exits 0, SIGTERM stops both with 0 within 20 s, and starting again
    sends nothing more.
    """
    seed_register(engine)
    london = ZoneInfo("Europe/London")
    missed = (datetime.now(UTC) - timedelta(minutes=3)).astimezone(london)
    cron = f"{missed.minute} {missed.hour} * * *"
    config = write_config(
        tmp_path / "monitor.toml",
        db_url,
        schedule={"officer_digest": cron, "team_digest": cron},
        daemon={"late_after_seconds": 900},
    )
    maildir = tmp_path / "outbox"

    def start_two(tag: str) -> list[Proc]:
        pair = [Proc(config, "run", name=f"{tag}{i}") for i in range(2)]
        procs.extend(pair)
        return pair

    def stop(pair: list[Proc]) -> None:
        started = time.monotonic()
        for p in pair:
            p.signal(signal.SIGTERM)
        for p in pair:
            assert p.wait(timeout=20) == 0, p.stderr
        assert time.monotonic() - started < 20

    def finished_runs() -> list[tuple[str, str]]:
        with reading(engine) as s:
            return sorted((job, outcome) for job, outcome in s.execute(select(JobRun.job, JobRun.outcome)))

    pair = start_two("a")
    wait_for(lambda: finished_runs() == [("officer_digest", "ok"), ("team_digest", "ok")], 30, "both digest runs")
    wait_for(lambda: len(heartbeats(engine)) == 2, 10, "both heartbeats")
    with reading(engine) as s:
        scheduled = set(s.scalars(select(JobRun.scheduled_for)))
        outbox = s.execute(select(OutboxMessage.kind, OutboxMessage.recipient, OutboxMessage.status)).all()
        sent_disclosures = s.scalar(select(func.count()).select_from(Disclosure).where(Disclosure.outcome == "sent"))
    assert len(scheduled) == 1 and next(iter(scheduled)).astimezone(london).strftime("%H:%M") == f"{missed:%H:%M}"
    assert sorted(outbox) == [
        ("officer", "OM1", "sent"),
        ("officer", "OM2", "sent"),
        ("team", "SUP1", "sent"),
    ]
    assert sent_disclosures == 3
    delivered = sorted(maildir.iterdir())
    assert len(delivered) == 3
    ids = [_message_id(p) for p in delivered]
    assert len(set(ids)) == 3

    health = cli(config, "health")
    assert health.returncode == 0, health.stdout + health.stderr
    stop(pair)
    assert all(hb.stopped_at is not None for hb in heartbeats(engine))
    unhealthy = cli(config, "health")
    assert unhealthy.returncode == 1 and "no daemon running" in unhealthy.stdout

    pair = start_two("b")
    wait_for(lambda: len([hb for hb in heartbeats(engine) if hb.stopped_at is None]) == 2, 20, "restart")
    time.sleep(2.5)  # a couple of ticks
    stop(pair)
    assert finished_runs() == [("officer_digest", "ok"), ("team_digest", "ok")]
    assert sorted(maildir.iterdir()) == delivered
    with reading(engine) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 3


def _message_id(path: Path) -> str:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.lower().startswith("message-id:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no Message-ID in {path.name}")


# --------------------------------------------------------------------------- real jobs


def test_snapshot_job_uses_the_london_date(sqlite_engine: Engine, sqlite_url: str, make_config: Any) -> None:
    from freezegun import freeze_time

    from monitor.daemon.jobs import snapshot_job
    from monitor.register.models import BacklogSnapshot

    seed_register(sqlite_engine)
    with freeze_time("2026-06-30 23:30:00"):  # already 1 July in London
        counts = snapshot_job(sqlite_engine, make_config(sqlite_url), datetime(2026, 6, 30, 5, tzinfo=UTC))
    assert counts["rows"] >= 1
    with reading(sqlite_engine) as s:
        assert set(s.scalars(select(BacklogSnapshot.taken_on))) == {datetime(2026, 7, 1).date()}


def test_digest_job_sends_through_the_relay_and_fails_on_a_dead_letter(
    sqlite_engine: Engine, sqlite_url: str, make_config: Any, smtp_relay: Any
) -> None:
    from monitor.daemon.jobs import deliver_job, digest_job

    seed_register(sqlite_engine)
    smtp_relay.handler.reject_rcpt["om1@police.example"] = "550 5.1.1 No such user"
    cfg = make_config(sqlite_url, mail={"transport": "smtp"}, smtp=smtp_relay.smtp_settings())
    with pytest.raises(JobFailed) as failed:
        digest_job("officer")(sqlite_engine, cfg, datetime(2026, 11, 23, 7, tzinfo=UTC))
    counts = failed.value.counts
    assert (counts["queued"], counts["sent"], counts["failed"]) == (2, 1, 1)
    assert "1 message(s) failed permanently" in str(failed.value)
    assert "police.example" not in str(failed.value)
    assert [r.rcpt_tos for r in smtp_relay.received] == [["om2@police.example"]]
    # The next deliver run has nothing left to send and succeeds.
    assert deliver_job(sqlite_engine, cfg, datetime(2026, 11, 23, 7, 5, tzinfo=UTC))["sent"] == 0


# --------------------------------------------------------------------------- logs and units


def test_json_logs_keep_structured_fields_and_drop_everything_else() -> None:
    import logging

    from monitor.core.logs import JsonFormatter, TextFormatter

    record = logging.LogRecord("monitor.daemon.schedule", logging.ERROR, __file__, 1, "%s failed", ("deliver",), None)
    record.__dict__.update(job="deliver", outcome="failed", counts={"sent": 1}, surname="Smith")
    try:
        surname = "Smi" + "th"  # so the traceback's source line does not hold it either
        raise ValueError(f"offender {surname}, 1 High Street")
    except ValueError:
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert (
        entry["message"] == "deliver failed"
        and entry["level"] == "ERROR"
        and entry["logger"] == "monitor.daemon.schedule"
    )
    assert entry["job"] == "deliver" and entry["outcome"] == "failed" and entry["counts"] == {"sent": 1}
    assert entry["ts"].endswith("+00:00")
    assert "Smith" not in json.dumps(entry)  # neither the stray field nor the exception message
    assert entry["exception"].endswith("ValueError")
    text = TextFormatter().format(record)
    assert "job=deliver" in text and "Smith" not in text


def test_systemd_unit_has_the_promised_settings() -> None:
    unit = (Path(__file__).resolve().parents[2] / "config" / "visit-monitor.service").read_text()
    settings = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in unit.splitlines() if "=" in line[:40]}
    for key, value in {
        "Type": "notify",
        "Restart": "on-failure",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/visit-monitor",
        "StateDirectory": "visit-monitor",
        "User": "visit-monitor",
    }.items():
        assert settings.get(key) == value, key
    assert "WatchdogSec" in settings and "MONITOR_CONFIG=" in unit
    assert int(settings["TimeoutStopSec"]) > config_module.DEFAULTS["daemon"]["shutdown_timeout_seconds"]
