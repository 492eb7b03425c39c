"""Everything the service writes is private, whatever the umask; the drop folder takes no symlinks.

Issue 8, finding 13: ``report --output``, digest previews and the SQLite register (with its
-wal and -shm files) were created world-readable under the usual umask 022; only the maildir
was private. And the import drop folder followed symlinks, so anyone able to write there
could have the daemon read (and file away) any file it can read. Every test here runs under
umask 022, real files, real symlinks.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, text

from monitor.cli.app import cli
from monitor.core.files import write_private
from monitor.daemon.jobs import JobFailed, import_job
from monitor.register.db import make_engine, reading, upgrade
from monitor.register.models import Officer

OFFICERS = "officer_id,name,email,team,role\nOMX,Officer X,omx@police.example,T1,offender_manager\n"
OFFENDERS = (
    "ref,risk_level,status,team,offender_manager,registered_on\n"
    "FAKE-A,high,community,T1,OMX,2025-01-01\n"
    "FAKE-B,sky high,community,T1,OMX,2025-01-01\n"
)
WHEN = datetime(2026, 11, 26, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def assert_private_tree(root: Path) -> None:
    """root and everything under it: folders 0700, files 0600."""
    for path in [root, *root.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, f"{path} is {oct(mode(path))}, expected {oct(expected)}"


def invoke(db_url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"MONITOR_DATABASE_URL": db_url})


# --------------------------------------------------------------------------- files written


def test_demo_writes_only_private_files(tmp_path: Path) -> None:
    """The first run a user makes: register, -wal/-shm, report, maildir, previews."""
    result = CliRunner().invoke(cli, ["demo", "--var", str(tmp_path / "var")])
    assert result.exit_code == 0, result.output
    var = tmp_path / "var"
    assert (var / "report.html").is_file() and any((var / "outbox").iterdir()) and any((var / "preview").iterdir())
    assert_private_tree(var)


def test_sqlite_register_and_its_wal_and_shm_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "db"
    engine = make_engine(f"sqlite:///{folder / 'monitor.db'}")
    try:
        upgrade(engine)
        with engine.connect() as conn:  # an open connection keeps -wal and -shm in place
            conn.execute(text("select 1"))
            names = {p.name for p in folder.iterdir()}
            assert {"monitor.db", "monitor.db-wal", "monitor.db-shm"} <= names
            assert_private_tree(tmp_path / "state")
    finally:
        engine.dispose()


def test_report_output_is_private_even_over_an_existing_file(sqlite_url: str, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "nov" / "report.html"
    result = invoke(sqlite_url, "report", "--as-of", "2026-11-23", "--format", "html", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert_private_tree(tmp_path / "reports")
    out.chmod(0o644)
    result = invoke(sqlite_url, "report", "--as-of", "2026-11-23", "--format", "csv", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600 and "<html" not in out.read_text()


def test_report_output_to_a_device_is_written_in_place(sqlite_url: str) -> None:
    result = invoke(sqlite_url, "report", "--as-of", "2026-11-23", "--format", "json", "--output", "/dev/null")
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_digest_previews_are_private(engine: Engine, db_url: str, tmp_path: Path) -> None:
    from builders import add_offender, add_officer

    from monitor.register.db import transaction

    with transaction(engine) as s:
        add_officer(s, "OM1")
        add_offender(s, "RSO-000001", registered_on=datetime(2026, 1, 1).date())
    out = tmp_path / "preview" / "today"
    result = invoke(db_url, "digest", "--as-of", "2026-11-23", "--kind", "officer", "--preview", str(out))
    assert result.exit_code == 0, result.output
    assert any(out.iterdir())
    assert_private_tree(tmp_path / "preview")


def test_import_rejects_file_is_private(sqlite_url: str, tmp_path: Path) -> None:
    extract = tmp_path / "extract"
    extract.mkdir()
    (extract / "officers.csv").write_text(OFFICERS)
    (extract / "offenders.csv").write_text(OFFENDERS)
    rejects = tmp_path / "rejects.csv"
    result = invoke(sqlite_url, "import", str(extract), "--rejects", str(rejects))
    assert result.exit_code == 3, result.output
    assert mode(rejects) == 0o600 and "offenders.csv" in rejects.read_text()


def test_maildir_and_its_parents_are_private(tmp_path: Path) -> None:
    from monitor.mail.transports.base import Outgoing
    from monitor.mail.transports.maildir import MaildirTransport

    transport = MaildirTransport(tmp_path / "mail" / "deep" / "outbox")
    transport.send(Outgoing(1, "om@police.example", "<a@police.example>", b"Subject: x\r\n\r\nbody\r\n"))
    assert_private_tree(tmp_path / "mail")


def test_seed_writes_private_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["seed", "--people", "5", "--as-of", "2026-11-23", "--out", str(tmp_path / "seed" / "x")]
    )
    assert result.exit_code == 0, result.output
    assert_private_tree(tmp_path / "seed")


def test_drop_folder_outputs_are_private(engine: Engine, db_url: str, make_config: Any, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    good = drop / "a-good"
    good.mkdir()
    (good / "officers.csv").write_text(OFFICERS)
    bad = drop / "b-bad"
    bad.mkdir()
    (bad / "visits.csv").write_text("visit_id,ref\nV2,FAKE-A\n")  # no visit_date column: fails
    cfg = make_config(db_url, **{"import": {"drop_dir": str(drop)}})
    with pytest.raises(JobFailed):
        import_job(engine, cfg, WHEN)
    for bucket in ("processed", "failed"):
        assert mode(drop / bucket) == 0o700
        for path in (drop / bucket).rglob("*"):
            if path.name in ("rejects.csv", "error.txt"):
                assert mode(path) == 0o600, path
            elif path.is_dir() and path.parent.parent == drop / bucket:
                pass  # the moved extract keeps the mode its sender gave it
            elif path.is_dir():
                assert mode(path) == 0o700, path


# --------------------------------------------------------------------------- drop folder symlinks


def officers_count(engine: Engine) -> int:
    with reading(engine) as s:
        return int(s.scalar(select(func.count()).select_from(Officer)) or 0)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the drop folder holding a valid extract and a 'secret' file."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "officers.csv").write_text(OFFICERS)
    (folder / "secret.txt").write_text("not for the importer\n")
    return folder


def _linked_folder(drop: Path, outside: Path) -> str:
    (drop / "linked").symlink_to(outside, target_is_directory=True)
    return "linked"


def _linked_file(drop: Path, outside: Path) -> str:
    (drop / "ext").mkdir()
    (drop / "ext" / "officers.csv").symlink_to(outside / "officers.csv")
    return "ext"


def _link_inside(drop: Path, outside: Path) -> str:
    (drop / ".store").mkdir()
    (drop / ".store" / "officers.csv").write_text(OFFICERS)
    (drop / "ext").mkdir()
    (drop / "ext" / "officers.csv").symlink_to(drop / ".store" / "officers.csv")
    return "ext"


def _nested_link(drop: Path, outside: Path) -> str:
    (drop / "ext" / "sub").mkdir(parents=True)
    (drop / "ext" / "officers.csv").write_text(OFFICERS)
    (drop / "ext" / "sub" / "x").symlink_to(outside / "secret.txt")
    return "ext"


def _fifo(drop: Path, outside: Path) -> str:
    (drop / "ext").mkdir()
    (drop / "ext" / "officers.csv").write_text(OFFICERS)
    os.mkfifo(drop / "ext" / "visits.csv")
    return "ext"


@pytest.mark.parametrize(
    "plant",
    [_linked_folder, _linked_file, _link_inside, _nested_link, _fifo],
    ids=["folder-symlink", "file-symlink-outside", "file-symlink-inside", "nested-symlink", "fifo"],
)
def test_drop_folder_refuses_symlinks_and_special_files(
    engine: Engine, db_url: str, make_config: Any, tmp_path: Path, outside: Path, plant: Any
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    name = plant(drop, outside)
    cfg = make_config(db_url, **{"import": {"drop_dir": str(drop)}})
    with pytest.raises(JobFailed) as failed:
        import_job(engine, cfg, WHEN)
    assert failed.value.counts["failed"] == 1 and failed.value.counts["extracts"] == 1
    assert name in str(failed.value) and "refused" in str(failed.value)
    assert officers_count(engine) == 0  # nothing was imported
    assert not (drop / name).exists()  # filed away under failed/ with the reason, not retried for ever
    errors = list((drop / "failed").rglob("error.txt"))
    assert len(errors) == 1 and "refused" in errors[0].read_text()
    # The targets outside were neither moved nor changed.
    assert (outside / "officers.csv").read_text() == OFFICERS
    assert (outside / "secret.txt").is_file()
    assert not (drop / "processed").exists()


def test_drop_folder_refuses_a_symlinked_processed_folder(
    engine: Engine, db_url: str, make_config: Any, tmp_path: Path, outside: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "processed").symlink_to(outside, target_is_directory=True)
    (drop / "ext").mkdir()
    (drop / "ext" / "officers.csv").write_text(OFFICERS)
    cfg = make_config(db_url, **{"import": {"drop_dir": str(drop)}})
    with pytest.raises(JobFailed) as failed:
        import_job(engine, cfg, WHEN)
    assert "processed" in str(failed.value) and "symlink" in str(failed.value)
    assert officers_count(engine) == 0
    assert sorted(p.name for p in outside.iterdir()) == ["officers.csv", "secret.txt"]


def test_write_private_takes_text_or_bytes_in_pieces(tmp_path: Path) -> None:
    """A message is written in the pieces it is made of (``message_pieces``), a report in
    pieces of text: the file holds them in order, private, and nothing else."""
    target = tmp_path / "out.eml"
    write_private(target, [b"From: a\r\n", "\r\n", b"body\r\n"], durable=False)
    assert target.read_bytes() == b"From: a\r\n\r\nbody\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    write_private(target, iter(["Zo\u00eb ", "\u2013"]))
    assert target.read_bytes() == "Zo\u00eb \u2013".encode()
