"""Rows that must be rejected one by one, never stored half-read and never fatal to the file.

Issue 8, findings 1-4: short rows that wiped stored values, NUL and other control
characters, over-long values and undecodable bytes, and cell values read as rich markup at a
terminal. Every database test runs on SQLite and PostgreSQL. All data is synthetic.
"""

from __future__ import annotations

import os
import pty
import select as select_module
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from test_import import OFFENDERS_HEADER, OFFICERS_HEADER, offender, snapshot, write

from monitor.cli.app import cli
from monitor.core.config import Config
from monitor.register import models
from monitor.register.db import reading
from monitor.register.importer import ImportResult, Reject, import_directory

FULL_HEADER = OFFENDERS_HEADER + ",risk_assessed_on,registration_ends"


@pytest.fixture
def config(engine: Engine, make_config: Callable[..., Config]) -> Config:
    return make_config(engine.url.render_as_string(hide_password=False))


def run(engine: Engine, config: Config, directory: Path) -> ImportResult:
    return import_directory(engine, config, directory)


# --------------------------------------------------------------------------- 1. short rows


def test_short_offender_row_is_rejected_and_keeps_stored_values(engine: Engine, config: Config, tmp_path: Path) -> None:
    first = tmp_path / "first"
    write(first, "offenders.csv", [FULL_HEADER, offender("RSO-000001") + ",2026-01-15,2025-06-30"])
    assert run(engine, config, first).exit_code == 0
    before = snapshot(engine)

    later = tmp_path / "later"
    # The last two cells are missing: before the fix they counted as blank and cleared
    # registration_ends, so a person whose registration had ended came back as overdue.
    write(later, "offenders.csv", [FULL_HEADER, offender("RSO-000001")])
    result = run(engine, config, later)

    assert result.rejects == [Reject("offenders.csv", 2, None, "has 9 values but the header has 11 columns")]
    assert result.exit_code == 3
    assert {k: v for k, v in snapshot(engine).items() if k != "import_rejects"} == {
        k: v for k, v in before.items() if k != "import_rejects"
    }
    with reading(engine) as s:
        row = s.get(models.Offender, "RSO-000001")
    assert row is not None
    assert (row.risk_assessed_on, row.registration_ends) == (date(2026, 1, 15), date(2025, 6, 30))


def test_short_officer_row_does_not_reactivate_an_inactive_officer(
    engine: Engine, config: Config, tmp_path: Path
) -> None:
    first = tmp_path / "first"
    write(first, "officers.csv", [OFFICERS_HEADER, "OM-0001,Test Officer,om1@police.example,NORTH,offender_manager,no"])
    assert run(engine, config, first).exit_code == 0
    later = tmp_path / "later"
    write(later, "officers.csv", [OFFICERS_HEADER, "OM-0001,Test Officer,om1@police.example,NORTH,offender_manager"])
    result = run(engine, config, later)
    assert result.rejects == [Reject("officers.csv", 2, None, "has 5 values but the header has 6 columns")]
    with reading(engine) as s:
        officer = s.get(models.Officer, "OM-0001")
    assert officer is not None and officer.active is False


@pytest.mark.parametrize("extra", [",surplus", ","], ids=["value", "empty"])
def test_row_with_more_values_than_the_header_is_rejected(
    engine: Engine, config: Config, tmp_path: Path, extra: str
) -> None:
    d = tmp_path / "x"
    write(d, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001") + extra, offender("RSO-000002")])
    result = run(engine, config, d)
    assert result.rejects == [Reject("offenders.csv", 2, None, "has 10 values but the header has 9 columns")]
    assert result.counts["offenders.csv"]["inserted"] == 1


# --------------------------------------------------------------------------- 2. control characters


CONTROL_CASES = [
    ("nul in team", "team", "NOR\x00TH", "team", "contains a control character (U+0000)"),
    ("escape in team", "team", "\x1b[31mNORTH", "team", "contains a control character (U+001B)"),
    ("C1 in manager", "offender_manager", "OM-\x850001", "offender_manager", "contains a control character (U+0085)"),
    ("bell in ref", "ref", "RSO-\x07000001", "ref", "contains a control character (U+0007)"),
    ("tab in ref", "ref", "RSO-\t000001", "ref", "contains a control character (U+0009)"),
    ("delete in status", "status", "commun\x7fity", "status", "contains a control character (U+007F)"),
    ("bidi override in ref", "ref", "RSO-\u202e100000", "ref", "contains an invisible or control character (U+202E)"),
    ("zero width in team", "team", "NO\u200bRTH", "team", "contains an invisible or control character (U+200B)"),
    ("nul in a date", "registered_on", "2025-01-10\x00", "registered_on", "contains a control character (U+0000)"),
]


@pytest.mark.parametrize(
    ("column", "value", "field", "reason"), [c[1:] for c in CONTROL_CASES], ids=[c[0] for c in CONTROL_CASES]
)
def test_control_characters_reject_the_row(
    engine: Engine, config: Config, tmp_path: Path, column: str, value: str, field: str, reason: str
) -> None:
    d = tmp_path / "x"
    bad = offender("RSO-000001", **{column: value}) if column != "ref" else offender(value)
    write(d, "offenders.csv", [OFFENDERS_HEADER, bad, offender("RSO-000002")])
    result = run(engine, config, d)
    assert result.rejects == [Reject("offenders.csv", 2, field, reason)]
    assert result.counts["offenders.csv"] == {"inserted": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    with reading(engine) as s:
        assert s.scalars(select(models.Offender.ref)).all() == ["RSO-000002"]


def test_names_may_hold_tabs_and_bidi_marks_but_not_nul(engine: Engine, config: Config, tmp_path: Path) -> None:
    d = tmp_path / "x"
    header = OFFENDERS_HEADER + ",surname,forenames"
    write(
        d,
        "offenders.csv",
        [
            header,
            offender("RSO-000001") + ",Test\tperson,\u200fAlef",
            offender("RSO-000002") + ",Test\x00person,Bet",
            offender("RSO-000003") + ",Testperson,Gim\x1b]8;;https://evil.example\x07",
        ],
    )
    result = run(engine, config, d)
    assert result.rejects == [
        Reject("offenders.csv", 3, "surname", "contains a control character (U+0000)"),
        Reject("offenders.csv", 4, "forenames", "contains a control character (U+001B)"),
    ]
    with reading(engine) as s:
        row = s.get(models.Offender, "RSO-000001")
    assert row is not None and (row.surname, row.forenames) == ("Test\tperson", "\u200fAlef")


# --------------------------------------------------------------------------- 3. long values, bad bytes


def test_a_field_over_128_kib_rejects_that_row_only(engine: Engine, config: Config, tmp_path: Path) -> None:
    d = tmp_path / "x"
    huge = "N" * (200 * 1024)
    write(
        d,
        "offenders.csv",
        [
            OFFENDERS_HEADER + ",notes",
            offender("RSO-000001", team=huge) + ",",
            offender("RSO-000002") + "," + huge,  # an ignored column may be long: not stored
            offender("RSO-000003") + ',"' + huge + "\n" + huge + '"',
            offender("RSO-000004") + ",",
        ],
    )
    result = run(engine, config, d)
    assert result.rejects == [Reject("offenders.csv", 2, "team", "longer than 64 characters")]
    with reading(engine) as s:
        assert s.scalars(select(models.Offender.ref).order_by(models.Offender.ref)).all() == [
            "RSO-000002",
            "RSO-000003",
            "RSO-000004",
        ]


def test_a_line_over_the_line_limit_rejects_its_record(engine: Engine, config: Config, tmp_path: Path) -> None:
    d = tmp_path / "x"
    huge = "N" * (3 * 1024 * 1024)
    write(d, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001", team=huge), offender("RSO-000002")])
    result = run(engine, config, d)
    assert [(r.line, r.field) for r in result.rejects] == [(2, None)]
    assert "longer than" in result.rejects[0].reason
    assert result.counts["offenders.csv"]["inserted"] == 1


def test_a_line_not_in_the_declared_encoding_refuses_the_file(
    engine: Engine, config: Config, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """Issue 21: a cp1252 file read as UTF-8 is the wrong encoding, not a few bad rows.

    Rejecting its rows one by one (as before) imported everyone without an accent in their
    name and dropped "Siân" and "Zoë": the file is refused in one line instead, naming the
    line, the byte and the setting, and nothing is changed.
    """
    from monitor.register.importer import ImportFailure

    d = tmp_path / "x"
    d.mkdir()
    lines = [
        OFFENDERS_HEADER.encode(),
        offender("RSO-000001").encode(),
        offender("RSO-000002", team="K\xf6LN").encode("latin-1"),  # latin-1 o-umlaut
        offender("RSO-000003").encode(),
    ]
    (d / "offenders.csv").write_bytes(b"\n".join(lines) + b"\n")
    before = snapshot(engine)
    with pytest.raises(ImportFailure) as info:
        run(engine, config, d)
    assert str(info.value) == (
        "offenders.csv: line 3 is not valid UTF-8 text (byte 0xF6): set [import] encoding to the file's "
        '(a CSV saved by Excel on Windows is usually "cp1252") or save it as CSV UTF-8'
    )
    assert snapshot(engine) == before
    # Declared as what it is, the same file imports whole.
    cp1252 = make_config(config.database_url, **{"import": {"encoding": "cp1252"}})
    result = run(engine, cp1252, d)
    assert result.rejects == [] and result.counts["offenders.csv"]["inserted"] == 3
    with reading(engine) as s:
        assert s.get(models.Offender, "RSO-000002").team == "KöLN"


def test_utf16_extract_fails_clearly_and_changes_nothing(engine: Engine, config: Config, tmp_path: Path) -> None:
    from monitor.register.importer import ImportFailure

    d = tmp_path / "x"
    d.mkdir()
    (d / "offenders.csv").write_bytes(("\ufeff" + OFFENDERS_HEADER + "\n" + offender("RSO-1") + "\n").encode("utf-16"))
    before = snapshot(engine)
    with pytest.raises(ImportFailure, match=r"offenders\.csv: UTF-16 text"):
        run(engine, config, d)
    assert snapshot(engine) == before


@pytest.mark.parametrize("cell", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_datetime_out_of_range_in_utc_rejects_the_row(
    engine: Engine, config: Config, tmp_path: Path, cell: str
) -> None:
    """Found by the battery: an OverflowError used to fail the whole import as a bug."""
    d = tmp_path / "x"
    write(d, "offenders.csv", [OFFENDERS_HEADER, offender("RSO-000001", registered_on=cell), offender("RSO-000002")])
    result = run(engine, config, d)
    assert result.rejects == [
        Reject(
            "offenders.csv",
            2,
            "registered_on",
            f"expected a date as YYYY-MM-DD or DD/MM/YYYY (a datetime is also accepted), got '{cell}' (out of range)",
        )
    ]


# --------------------------------------------------------------------------- 4. cells are data, never markup


MARKUP_ROWS = [
    OFFENDERS_HEADER,
    offender("RSO-000001", risk_level="[/]"),
    offender("RSO-000002", status="[link=https://evil.example]x[/link]"),
    offender("[bold]RSO-000003", registered_on="[red]soon"),
    offender("RSO-000004"),
]


def _cli_config(db_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n\n[mail]\nmaildir = "{tmp_path / "outbox"}"\n')
    return path


def test_markup_in_cells_is_printed_as_text_with_color(db_url: str, tmp_path: Path) -> None:
    config_path = _cli_config(db_url, tmp_path)
    extract = tmp_path / "x"
    write(extract, "offenders.csv", MARKUP_ROWS)
    rejects = tmp_path / "rejects.csv"
    result = CliRunner().invoke(
        cli, ["--config", str(config_path), "import", str(extract), "--rejects", str(rejects)], color=True
    )
    assert result.exit_code == 3, result.output
    assert "got '[/]'" in result.stderr
    assert "[link=https://evil.example]x[/link]" in result.stderr
    assert "\x1b]8" not in result.output
    assert rejects.read_text().count("\n") == 4


def _run_in_terminal(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    """Run ``args`` with stdout and stderr on a pseudo-terminal; return (exit code, output)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select_module.select([leader], [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError("no output from the terminal run")
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout), b"".join(chunks).decode("utf-8", "replace")


def test_markup_and_escapes_in_cells_at_a_real_terminal(db_url: str, tmp_path: Path) -> None:
    """The rejects table on a real TTY: no traceback, exit 3, --rejects written, no live link."""
    config_path = _cli_config(db_url, tmp_path)
    extract = tmp_path / "x"
    rows = [*MARKUP_ROWS, offender("RSO-000005", team="\x1b]8;;https://evil.example\x07click\x1b]8;;\x07")]
    write(extract, "offenders.csv", rows)
    rejects = tmp_path / "rejects.csv"
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"}
    env.pop("NO_COLOR", None)
    code, output = _run_in_terminal(
        [
            sys.executable,
            "-m",
            "monitor",
            "--config",
            str(config_path),
            "import",
            str(extract),
            "--rejects",
            str(rejects),
        ],
        env,
    )
    assert code == 3, output
    assert "Traceback" not in output
    assert "\x1b]8" not in output  # no OSC 8 hyperlink reached the terminal
    assert "evil.example" in output  # shown as text
    assert "import #1: 4 rows rejected" in output
    assert rejects.read_text().count("\n") == 5
