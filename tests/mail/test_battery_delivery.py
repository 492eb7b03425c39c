"""The battery, delivery and daemon side (issue 8): faults on real processes and databases.

Every try runs the real ``python -m monitor`` in a child process against a real database
(SQLite file or PostgreSQL) and the real aiosmtpd relay (tests/smtp_server.py), injects a
fault, lets the service recover, and checks the same promises each time:

* every digest arrives at least once and at most twice;
* a digest arrives twice only when it was the message in flight when its sender died,
  and then with the same Message-ID and the same bytes (its take-over is in the
  disclosure log as an ``unknown`` outcome);
* nothing is left ``pending`` or ``sending`` once the recovery run is over (within 60 s);
* the disclosure log has a ``sent`` row for every Message-ID the relay received.

Each try is written to the battery log; the table is printed at the end of the run
(``python -m tests.battery`` runs only these and prints it). Faults: ``kill -9`` of
``deliver`` and of ``run`` at random points (several seeds), a relay that is down, hung,
slow and back, a PostgreSQL backend terminated mid-delivery, three daemons on PostgreSQL
with the active one killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import battery
import psycopg
import pytest
import test_daemon as tdm
import test_delivery as td
from builders import add_offender, add_officer
from conftest import new_database_url
from smtp_server import PASSWORD, Received, SmtpRelay
from sqlalchemy import Engine, select

from monitor.mail.delivery import deliver_pending
from monitor.register.db import make_engine, reading, transaction
from monitor.register.models import Disclosure, JobRun, OutboxMessage

pytestmark = [pytest.mark.battery, pytest.mark.slow]

RECOVERY_LIMIT = 60.0  # seconds: a dead worker's claims are taken over within a minute


# --------------------------------------------------------------------------- helpers


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))


def write_config(
    path: Path, db_url: str, relay: SmtpRelay | None, *, smtp: dict[str, Any] | None = None, **sections: dict[str, Any]
) -> Path:
    merged: dict[str, dict[str, Any]] = {
        "database": {"url": db_url},
        "mail": {"transport": "smtp", "retry_base_seconds": 1, "retry_max_seconds": 5, "max_attempts": 3},
        "smtp": {**(relay.smtp_settings() if relay else {}), **(smtp or {})},
        "daemon": {"tick_seconds": 1, "heartbeat_seconds": 1, "stale_after_seconds": 5, "shutdown_timeout_seconds": 10},
        "schedule": dict(tdm.ALL_OFF),
    }
    for name, values in sections.items():
        merged[name] = {**merged.get(name, {}), **values}
    lines = []
    for name, values in merged.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml(v)}" for key, v in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def env() -> dict[str, str]:
    return tdm.child_env(MONITOR_SMTP_PASSWORD=PASSWORD)


def run_cli(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env(),
        cwd=config.parent,
        timeout=timeout,
    )


def running_pid(engine: Engine, pid: int) -> bool:
    """Whether the daemon with this pid has beaten (its signal handlers are in place)."""
    return any(hb.pid == pid and hb.stopped_at is None for hb in tdm.heartbeats(engine))


def start(config: Path, *args: str, name: str) -> tdm.Proc:
    return tdm.Proc(config, *args, env=env(), name=name)


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[SmtpRelay]:
    server = SmtpRelay(tmp_path / "relay").start()
    try:
        yield server
    finally:
        server.stop()


def outbox(engine: Engine) -> list[OutboxMessage]:
    with reading(engine) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def disclosures(engine: Engine) -> list[Disclosure]:
    with reading(engine) as s:
        return list(s.scalars(select(Disclosure).order_by(Disclosure.id)))


def settled(engine: Engine, expected: int) -> bool:
    rows = outbox(engine)
    return len(rows) == expected and all(r.status == "sent" for r in rows)


def check(
    engine: Engine, relay: SmtpRelay, *, fault: str, backend: str, kills: int, note: str = "", hit: bool = True
) -> battery.Try:
    """The promises every try keeps; returns the try's row for the table."""
    rows = outbox(engine)
    logged = disclosures(engine)
    received = list(relay.received)
    counts = Counter(r.message_id for r in received)
    expected = {r.message_id for r in rows}
    lost = sorted(expected - set(counts))
    stuck = [r.id for r in rows if r.status in ("pending", "sending")]
    resent = {m for m, n in counts.items() if n == 2}
    attempt = battery.Try(
        fault=fault,
        backend=backend,
        digests=len(expected),
        arrived=len(expected & set(counts)),
        resent=len(resent),
        stuck=len(stuck),
        lost=len(lost),
        note=note,
        hit=hit,
    )
    battery.record(attempt)
    assert not lost, f"{fault}: never arrived: {lost}"
    assert set(counts) <= expected, "the relay received a message the outbox does not hold"
    assert max(counts.values(), default=0) <= 2, f"{fault}: a digest arrived more than twice: {counts}"
    assert not stuck, f"{fault}: left pending/sending: {stuck}"
    assert len(resent) <= kills, f"{fault}: {len(resent)} resends for {kills} crash(es)"
    taken_over = {d.message_id for d in logged if d.outcome == "unknown"}
    assert resent <= taken_over, "a digest was sent twice without being the message in flight"
    for message_id in resent:
        first, second = (r.data for r in received if r.message_id == message_id)
        assert first == second  # the very same bytes, the same Message-ID
    disclosed = {d.message_id for d in logged if d.outcome == "sent"}
    assert set(counts) <= disclosed, "a message the relay received has no disclosure row"
    return attempt


def queue_messages(engine: Engine, n: int) -> None:
    for i in range(n):
        td.queue(engine, f"OM{i:02d}")


def kill_when(relay: SmtpRelay, k: int, pid: Callable[[], int | None], delay: float = 0.0) -> None:
    """SIGKILL the sender when the relay has the k-th message (before it answers, or ``delay`` later)."""

    def on_data(got: Received) -> None:
        if len(relay.received) != k:
            return
        target = pid()
        if target is None:
            return
        if delay:
            threading.Timer(delay, _kill, args=(target,)).start()
        else:
            _kill(target)

    relay.handler.on_data = on_data


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- kill -9 of deliver

DELIVER_TRIES = [("message in flight", 1), ("message in flight", 2), ("between messages", 3), ("random time", 4)]


@pytest.mark.parametrize(("mode", "seed"), DELIVER_TRIES, ids=[f"{m}-{s}" for m, s in DELIVER_TRIES])
def test_kill_9_of_deliver(
    engine: Engine, db_url: str, backend: str, relay: SmtpRelay, tmp_path: Path, mode: str, seed: int
) -> None:
    rng = random.Random(seed)
    n = 12
    queue_messages(engine, n)
    relay.handler.data_delay_seconds = 0.02
    config = write_config(tmp_path / "monitor.toml", db_url, relay)
    proc: list[tdm.Proc] = []
    pid = lambda: proc[0].popen.pid if proc else None  # noqa: E731
    if mode == "message in flight":
        kill_when(relay, rng.randint(1, n - 1), pid)
    elif mode == "between messages":
        kill_when(relay, rng.randint(1, n - 1), pid, delay=rng.uniform(0.021, 0.04))
    proc.append(start(config, "deliver", name="deliver-killed"))
    if mode == "random time":
        time.sleep(rng.uniform(0.3, 2.5))
        _kill(proc[0].popen.pid)
    code = proc[0].popen.wait(timeout=60)
    killed = code == -signal.SIGKILL
    relay.handler.on_data = None
    began = time.monotonic()
    again = run_cli(config, "deliver")
    assert again.returncode == 0, again.stdout + again.stderr
    assert time.monotonic() - began < RECOVERY_LIMIT
    note = "killed" if killed else "finished before the kill"
    check(engine, relay, fault=f"kill -9 deliver ({mode})", backend=backend, kills=int(killed), note=note, hit=killed)


# --------------------------------------------------------------------------- relay down, hung, slow, back


def test_relay_down_hung_slow_then_back(
    engine: Engine,
    db_url: str,
    backend: str,
    relay: SmtpRelay,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor.core import config as config_module

    n = 3
    queue_messages(engine, n)
    config_path = write_config(tmp_path / "monitor.toml", db_url, relay)
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", PASSWORD)

    # Down: connection refused. Ten runs (far more than max_attempts = 3) spend nothing.
    relay.stop()
    down = run_cli(config_path, "deliver")
    assert down.returncode == 1, down.stdout + down.stderr
    assert "3 message(s) not delivered: relay unreachable" in down.stderr
    assert "Traceback" not in down.stderr
    config = config_module.load(str(config_path))
    for _ in range(9):
        assert deliver_pending(engine, config, respect_backoff=False).unsent == n
    assert all((r.status, r.attempts) == ("pending", 0) for r in outbox(engine))

    # Hung: accepts TCP, never greets (times out on connect): still no attempt spent.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    hung = write_config(tmp_path / "hung.toml", db_url, relay, smtp={"port": silent.getsockname()[1], "timeout": 0.5})
    try:
        for _ in range(3):
            assert deliver_pending(engine, config_module.load(str(hung)), respect_backoff=False).unsent == n
    finally:
        silent.close()
    assert all((r.status, r.attempts) == ("pending", 0) for r in outbox(engine))

    # Slow past the timeout: the relay takes each message but answers too late. The
    # outcome is unknown: each goes again, with its Message-ID, at the next run.
    relay.start()
    relay.handler.data_delay_seconds = 1.3
    slow = config_module.load(str(write_config(tmp_path / "slow.toml", db_url, relay, smtp={"timeout": 1})))
    report = deliver_pending(engine, slow, respect_backoff=False)
    assert report.sent == 0 and report.unsent == n
    assert len(relay.received) == n

    # Back: everything goes; each digest twice at most, same Message-ID.
    relay.handler.data_delay_seconds = 0.0
    back = run_cli(config_path, "deliver")
    assert back.returncode == 0, back.stdout + back.stderr
    assert all(r.attempts == 2 for r in outbox(engine))  # one unknown outcome, one delivery: no dead letter
    assert set(Counter(relay.handler.message_ids()).values()) == {2}
    check(engine, relay, fault="relay down, hung, slow past the timeout, back", backend=backend, kills=n)
    for phase in ("relay down (refused): 10 deliver runs", "relay hung (no greeting): 3 deliver runs"):
        battery.record(battery.Try(phase, backend, n, n, 0, 0, 0, "no attempt spent, nothing dead-lettered"))

    # Slow within the timeout: delivered once each.
    relay.handler.received.clear()
    for i in range(n):
        td.queue(engine, f"SL{i:02d}")
    relay.handler.data_delay_seconds = 0.3
    slow_ok = run_cli(config_path, "deliver")
    assert slow_ok.returncode == 0, slow_ok.stdout + slow_ok.stderr
    fresh = [r for r in outbox(engine) if r.recipient.startswith("SL")]
    assert Counter(relay.handler.message_ids()) == Counter({r.message_id: 1 for r in fresh})
    battery.record(battery.Try("relay slow within the timeout", backend, n, n, 0, 0, 0))


# --------------------------------------------------------------------------- PostgreSQL backend terminated


def _backends_of(conn: psycopg.Connection[Any], *, waiting: bool) -> list[int]:
    query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    if waiting:
        query += " AND wait_event_type = 'Lock'"
    return [row[0] for row in conn.execute(query).fetchall()]


@pytest.mark.parametrize("point", ["a blocked write", "random point 1", "random point 2"])
def test_postgresql_backend_terminated_mid_delivery(
    request: pytest.FixtureRequest, tmp_path: Path, relay: SmtpRelay, point: str
) -> None:
    url = new_database_url("postgresql", tmp_path, request)
    engine = make_engine(url)
    try:
        n = 6
        queue_messages(engine, n)
        relay.handler.data_delay_seconds = 0.15
        config = write_config(tmp_path / "monitor.toml", url, relay)
        rng = random.Random(point)
        after = 2 if point == "a blocked write" else rng.randint(1, n - 1)
        killer = psycopg.connect(url, autocommit=True)
        locker = psycopg.connect(url)
        spared = {locker.info.backend_pid}
        proc = start(config, "deliver", name="deliver-pg")
        tdm.wait_for(lambda: len(relay.received) >= after, 30, "the relay to receive some mail")
        if point == "a blocked write":
            locker.execute("LOCK TABLE disclosures IN EXCLUSIVE MODE")  # the next outcome's write waits here
            victims = tdm.wait_for(lambda: _backends_of(killer, waiting=True), 20, "a delivery write to block")
        else:
            victims = _backends_of(killer, waiting=False)
        victims = sorted(set(victims) - spared)
        for pid in victims:
            killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        locker.rollback()
        code = proc.wait(timeout=60)
        output = proc.stdout + proc.stderr
        assert "Traceback" not in output
        if point == "a blocked write":
            assert code == 1, output
        if code == 1:
            (line,) = [x for x in proc.stderr.splitlines() if x.startswith("visit-monitor:")]
            assert "database error during delivery" in line and "the next run carries on" in line
        again = run_cli(config, "deliver")
        assert again.returncode == 0, again.stdout + again.stderr
        killer.close()
        locker.close()
        check(
            engine,
            relay,
            fault=f"PostgreSQL backend terminated ({'a blocked write' if 'blocked' in point else 'random point'})",
            backend="postgresql",
            kills=1,
            note=f"exit {code}; {len(victims)} backend(s) terminated",
            hit=bool(victims),
        )
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- kill -9 of run, and three daemons


def seed_digests(engine: Engine, oms: int = 8) -> int:
    """Offender managers with an overdue case each, their supervisor and a lead: oms + 1 digests."""
    with transaction(engine) as s:
        add_officer(s, "SUP1", role="supervisor")
        add_officer(s, "LEAD1", role="lead", team="HQ")
        for i in range(oms):
            add_officer(s, f"OM{i:02d}")
            add_offender(s, f"FAKE-{i:04d}", offender_manager=f"OM{i:02d}", risk_level="high")
    return oms + 1


def missed_schedule() -> dict[str, str]:
    """Officer and team digests due three minutes ago (London time): the daemon catches up."""
    missed = (datetime.now(UTC) - timedelta(minutes=3)).astimezone(ZoneInfo("Europe/London"))
    cron = f"{missed.minute} {missed.hour} * * *"
    return {"officer_digest": cron, "team_digest": cron}


def job_rows(engine: Engine) -> list[JobRun]:
    with reading(engine) as s:
        return list(s.scalars(select(JobRun).order_by(JobRun.id)))


def all_done(engine: Engine, digests: int) -> bool:
    runs = job_rows(engine)
    return len(runs) == 2 and all(r.outcome == "ok" for r in runs) and settled(engine, digests)


RUN_TRIES = [("message in flight", 11), ("random time", 12), ("random time", 13)]


@pytest.mark.parametrize(("mode", "seed"), RUN_TRIES, ids=[f"{m}-{s}" for m, s in RUN_TRIES])
def test_kill_9_of_run(
    engine: Engine, db_url: str, backend: str, relay: SmtpRelay, tmp_path: Path, mode: str, seed: int
) -> None:
    rng = random.Random(seed)
    digests = seed_digests(engine)
    relay.handler.data_delay_seconds = 0.05
    config = write_config(tmp_path / "monitor.toml", db_url, relay, schedule=missed_schedule())
    daemons: list[tdm.Proc] = []
    try:
        pid = lambda: daemons[0].popen.pid if daemons else None  # noqa: E731
        if mode == "message in flight":
            kill_when(relay, rng.randint(1, digests - 1), pid)
        daemons.append(start(config, "run", name="run-killed"))
        if mode == "random time":
            time.sleep(rng.uniform(0.5, 4.0))
            _kill(daemons[0].popen.pid)
        code = daemons[0].popen.wait(timeout=60)
        relay.handler.on_data = None
        killed_at = time.monotonic()
        daemons.append(start(config, "run", name="run-after"))
        tdm.wait_for(lambda: all_done(engine, digests), RECOVERY_LIMIT, "the second daemon to finish the jobs")
        assert time.monotonic() - killed_at < RECOVERY_LIMIT
        # The first daemon may have finished everything before it died; then "all done" holds
        # before the second has even started, and a SIGTERM then would meet Python's default
        # handler. Its heartbeat is written once its own handlers are in place.
        tdm.wait_for(lambda: running_pid(engine, daemons[1].popen.pid), 60, "the second daemon to be running")
        daemons[1].signal(signal.SIGTERM)
        assert daemons[1].wait(timeout=20) == 0, daemons[1].stderr
    finally:
        for d in daemons:
            d.kill()
    runs = job_rows(engine)
    assert sorted(r.job for r in runs) == ["officer_digest", "team_digest"]  # each scheduled time once
    killed = code == -signal.SIGKILL
    check(engine, relay, fault=f"kill -9 run ({mode})", backend=backend, kills=int(killed), hit=killed)


def test_three_daemons_on_postgresql_active_one_killed(
    request: pytest.FixtureRequest, tmp_path: Path, relay: SmtpRelay
) -> None:
    url = new_database_url("postgresql", tmp_path, request)
    engine = make_engine(url)
    daemons: list[tdm.Proc] = []
    try:
        digests = seed_digests(engine, oms=10)
        relay.handler.data_delay_seconds = 0.25  # a job takes a few seconds: long enough to die in
        config = write_config(tmp_path / "monitor.toml", url, relay, schedule=missed_schedule())
        daemons.extend(start(config, "run", name=f"run-{i}") for i in range(3))

        def running() -> JobRun | None:
            return next((r for r in job_rows(engine) if r.outcome == "running"), None)

        first = tdm.wait_for(running, 60, "a daemon to start a digest job")
        assert first is not None
        victim_pid = int(first.worker.rsplit(":", 2)[1])
        (victim,) = [d for d in daemons if d.popen.pid == victim_pid]
        tdm.wait_for(lambda: len(relay.received) >= 1, 30, "the active daemon to send something")
        _kill(victim_pid)
        victim.popen.wait(timeout=10)
        killed_at = time.monotonic()

        def taken_over() -> bool:
            with reading(engine) as s:
                row = s.get(JobRun, first.id)
            return row is not None and row.worker != first.worker

        tdm.wait_for(taken_over, RECOVERY_LIMIT, "another daemon to take the run over")
        takeover = time.monotonic() - killed_at
        tdm.wait_for(lambda: all_done(engine, digests), RECOVERY_LIMIT, "the jobs to finish")
        for d in daemons:
            if d is not victim:
                d.signal(signal.SIGTERM)
        for d in daemons:
            if d is not victim:
                assert d.wait(timeout=20) == 0, d.stderr
    finally:
        for d in daemons:
            d.kill()
        engine.dispose()
    engine = make_engine(url)
    try:
        runs = job_rows(engine)
        assert sorted(r.job for r in runs) == ["officer_digest", "team_digest"]  # each job exactly once
        taken = next(r for r in runs if r.id == first.id)
        assert taken.outcome == "ok" and int(taken.counts.get("abandoned_attempts", 0)) == 1
        assert takeover < RECOVERY_LIMIT
        check(
            engine,
            relay,
            fault="3 run daemons on PostgreSQL, active one killed",
            backend="postgresql",
            kills=1,
            note=f"taken over in {takeover:.1f}s",
        )
    finally:
        engine.dispose()


def test_battery_table_shape() -> None:
    rows = [
        battery.Try("kill -9 deliver", "sqlite", 12, 12, 1, 0, 0),
        battery.Try("kill -9 deliver", "sqlite", 12, 12, 0, 0, 0),
        battery.Try("relay down", "postgresql", 4, 0, 0, 4, 0),
    ]
    text = battery.table(rows)
    assert re.search(r"kill -9 deliver\s+sqlite\s+2\s+2\s+24\s+24\s+1\s+0\s+0", text)
    assert re.search(r"all faults\s+3\s+3\s+28\s+24\s+1\s+4\s+0", text)
